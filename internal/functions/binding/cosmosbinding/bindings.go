package cosmosbinding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/blobbinding"
	"github.com/lapisdev/lapis/internal/functions/binding/expr"
	"github.com/lapisdev/lapis/internal/functions/docclient"
)

// Binding is the cosmosDB binding type: an output (direction "out") that upserts documents, and an input
// (direction "in") that reads one document by id or the results of a query.
type Binding struct{}

// Name implements binding.Type.
func (Binding) Name() string { return BindingType }

// Directions implements binding.Type.
func (Binding) Directions() []appconfig.Direction {
	return []appconfig.Direction{appconfig.In, appconfig.Out}
}

// Validate implements binding.Type.
func (Binding) Validate(b *appconfig.Binding) error { _, err := ParseBindingConfig(b); return err }

// target is a binding's account, database and container for one invocation.
type target struct {
	acct          docclient.Account
	db, container string
	ectx          *expr.Context
}

// resolve evaluates a binding's names against the invocation and opens its account.
func resolve(ctx context.Context, fn *binding.Function, cfg *BindingConfig, inv *binding.Invocation) (*target, error) {
	t := &target{ectx: blobbinding.Context(fn, inv)}
	var err error
	if t.db, err = cfg.Database.Evaluate(t.ectx); err != nil {
		return nil, fmt.Errorf("databaseName: %w", err)
	}
	if t.container, err = cfg.Container.Evaluate(t.ectx); err != nil {
		return nil, fmt.Errorf("containerName: %w", err)
	}
	if t.acct, err = openAccount(ctx, fn, cfg.Connection); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *target) String() string { return t.db + "/" + t.container }

// Write implements binding.Output: value is one document (a JSON object, or a JSON string holding one) or an
// array of them (null elements skipped), each upserted in turn; a document without an id gets a new GUID, as the
// extension's DocumentClient gave one. With createIfNotExists, a write that finds the database or container
// missing creates them (the container with partitionKey as its partition key path, /id by default) and is made
// again. A write the store refuses fails the invocation with the store's message.
func (Binding) Write(ctx context.Context, fn *binding.Function, b *appconfig.Binding, inv *binding.Invocation, value json.RawMessage) error {
	cfg, err := ParseBindingConfig(b)
	if err != nil {
		return err
	}
	docs, err := Documents(value)
	if err != nil || len(docs) == 0 {
		return err
	}
	t, err := resolve(ctx, fn, cfg, inv)
	if err != nil {
		return err
	}
	created := false
	for i, d := range docs {
		_, err := t.acct.UpsertItem(ctx, t.db, t.container, d)
		if errors.Is(err, docdb.ErrNotFound) && cfg.CreateIfNotExists && !created {
			if err = createContainer(ctx, t, cfg); err == nil {
				created = true
				_, err = t.acct.UpsertItem(ctx, t.db, t.container, d)
			}
		}
		if err != nil {
			return fmt.Errorf("cosmosDB output %s: document %d of %d: %w", t, i+1, len(docs), err)
		}
	}
	return nil
}

// createContainer creates an output's database and container, unless they exist.
func createContainer(ctx context.Context, t *target, cfg *BindingConfig) error {
	path := DefaultPartitionKeyPath
	if cfg.PartitionKey != nil {
		p, err := cfg.PartitionKey.Evaluate(t.ectx)
		if err != nil {
			return fmt.Errorf("partitionKey: %w", err)
		}
		path = p
	}
	if err := t.acct.CreateDatabaseIfNotExists(ctx, t.db); err != nil {
		return err
	}
	return t.acct.CreateContainerIfNotExists(ctx, t.db, docdb.ContainerSpec{ID: t.container,
		PartitionKey: docdb.PartitionKeyDefinition{Paths: []string{path}}})
}

// Documents returns the documents an output value stands for: none for null; one per element of an array (null
// elements skipped); otherwise one. Each must be a JSON object, or a JSON string holding one (a worker may send a
// document serialized); one without an "id" gets a new GUID.
func Documents(value json.RawMessage) ([]json.RawMessage, error) {
	v := unwrapString(value)
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if v[0] == '[' {
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, fmt.Errorf("cosmosDB output: the value is not valid JSON: %w", err)
		}
	} else {
		items = []json.RawMessage{v}
	}
	out := make([]json.RawMessage, 0, len(items))
	for i, it := range items {
		it = unwrapString(it)
		if len(it) == 0 || string(it) == "null" {
			continue
		}
		var doc map[string]json.RawMessage
		if it[0] != '{' || json.Unmarshal(it, &doc) != nil {
			return nil, fmt.Errorf("cosmosDB output: value %d is not a JSON object (a document): %.100s", i+1, it)
		}
		if _, ok := doc["id"]; !ok {
			it = withID(it, uuid.NewString())
		}
		out = append(out, it)
	}
	return out, nil
}

// unwrapString returns the JSON a JSON string holds, or raw (trimmed) when it is not a string.
func unwrapString(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	var s string
	if bytes.HasPrefix(raw, []byte(`"`)) && json.Unmarshal(raw, &s) == nil {
		return bytes.TrimSpace([]byte(s))
	}
	return raw
}

// withID puts "id" first in a JSON object.
func withID(obj json.RawMessage, id string) json.RawMessage {
	head := strconv.AppendQuote([]byte(`{"id":`), id)
	rest := bytes.TrimSpace(obj[1:])
	if len(rest) > 0 && rest[0] != '}' {
		head = append(head, ',')
	}
	return append(head, rest...)
}

// Read implements binding.Input. With id, the value is the document (null when there is none): read by
// partitionKey when it is set, otherwise found by a query on its id across partitions. With sqlQuery, it is the
// query's results, a JSON array: each {expression} of the query becomes a parameter (@name) with the
// expression's value, as Azure's extension does, so that values never become SQL text. With neither, it is every
// document of the container (of the partition partitionKey, if set).
func (Binding) Read(ctx context.Context, fn *binding.Function, b *appconfig.Binding, inv *binding.Invocation) (json.RawMessage, error) {
	cfg, err := ParseBindingConfig(b)
	if err != nil {
		return nil, err
	}
	t, err := resolve(ctx, fn, cfg, inv)
	if err != nil {
		return nil, err
	}
	var pk docdb.PartitionKey
	if cfg.PartitionKey != nil {
		v, err := cfg.PartitionKey.Evaluate(t.ectx)
		if err != nil {
			return nil, fmt.Errorf("partitionKey: %w", err)
		}
		pk = partitionKey(v)
	}
	if cfg.ID != nil {
		id, err := cfg.ID.Evaluate(t.ectx)
		if err != nil {
			return nil, fmt.Errorf("id: %w", err)
		}
		return readByID(ctx, t, pk, id)
	}
	spec := docdb.QuerySpec{Query: "SELECT * FROM c"}
	if cfg.SQLQuery != nil {
		if spec, err = Parameterize(cfg.SQLQuery, t.ectx); err != nil {
			return nil, fmt.Errorf("sqlQuery: %w", err)
		}
	}
	docs, err := t.acct.Query(ctx, t.db, t.container, spec, pk)
	if err != nil {
		return nil, fmt.Errorf("cosmosDB input %s: %w", t, err)
	}
	if docs == nil {
		docs = []json.RawMessage{}
	}
	return json.Marshal(docs)
}

// partitionKey is the partition key an input's partitionKey stands for: a JSON array ([\"a\",1], a hierarchical
// or non-string key) as the x-ms-documentdb-partitionkey header writes it, else the string itself.
func partitionKey(v string) docdb.PartitionKey {
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		if pk, err := docdb.ParsePartitionKey(v); err == nil {
			return pk
		}
	}
	return docdb.PartitionKey{v}
}

// readByID reads one document; null when there is none (or its container is missing, as the extension answers).
func readByID(ctx context.Context, t *target, pk docdb.PartitionKey, id string) (json.RawMessage, error) {
	if pk != nil {
		it, err := t.acct.ReadItem(ctx, t.db, t.container, pk, id)
		switch {
		case errors.Is(err, docdb.ErrNotFound):
			return json.RawMessage("null"), nil
		case err != nil:
			return nil, fmt.Errorf("cosmosDB input %s: %w", t, err)
		}
		return it.Document, nil
	}
	docs, err := t.acct.Query(ctx, t.db, t.container, docdb.QuerySpec{Query: "SELECT * FROM c WHERE c.id = @id",
		Parameters: []docdb.QueryParameter{{Name: "@id", Value: id}}}, nil)
	switch {
	case errors.Is(err, docdb.ErrNotFound):
		return json.RawMessage("null"), nil
	case err != nil:
		return nil, fmt.Errorf("cosmosDB input %s: %w", t, err)
	case len(docs) == 0:
		return json.RawMessage("null"), nil
	}
	return docs[0], nil
}

// Parameterize turns an input's sqlQuery into a query with parameters, as the extension's
// CosmosDBSqlResolutionPolicy does: each {expression} becomes @name (the expression as written, "." and "-" and
// any other character that cannot be in a name made "_")
// and a parameter with the expression's value, a string; the same expression used twice is one parameter.
func Parameterize(t *expr.Template, c *expr.Context) (docdb.QuerySpec, error) {
	var q strings.Builder
	var spec docdb.QuerySpec
	seen := map[string]bool{}
	for _, part := range t.Parts() {
		if part.Expr == nil {
			q.WriteString(part.Literal)
			continue
		}
		name := sqlName(part.Expr.Raw)
		q.WriteString(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		v, err := expr.Eval("{"+part.Expr.Raw+"}", c)
		if err != nil {
			return docdb.QuerySpec{}, err
		}
		spec.Parameters = append(spec.Parameters, docdb.QueryParameter{Name: name, Value: v})
	}
	spec.Query = q.String()
	return spec, nil
}

// sqlName is the parameter name of an expression: "@" and the expression, each character that cannot be in a
// name made "_" ({customer.id} is @customer_id).
func sqlName(raw string) string {
	b := []byte("@" + raw)
	for i := 1; i < len(b); i++ {
		if c := b[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
