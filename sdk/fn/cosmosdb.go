package fn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Documents is the batch of changed documents a Cosmos DB function
// receives: each document's latest version, in the order of the changes,
// as JSON with its system properties (_rid, _self, _etag, _ts, _lsn).
// Deletes are not in the change feed.
type Documents []json.RawMessage

// Decode decodes the documents into v, a pointer to a slice (such as
// *[]Order), with [encoding/json] rules.
func (d Documents) Decode(v any) error {
	b, err := json.Marshal([]json.RawMessage(d))
	if err != nil {
		return fmt.Errorf("fn: documents: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("fn: documents: %w", err)
	}
	return nil
}

// CosmosDBFunc is the signature of a Cosmos DB triggered function. A nil
// error moves the trigger past the batch; so does a non-nil one, once the
// function's retry policy ([Retry]) has run out, as in Azure: without a
// policy a failed batch is logged and not run again.
type CosmosDBFunc func(ctx *Context, docs Documents) error

// CosmosDB registers a function triggered by the change feed of container
// in database (function.json type "cosmosDBTrigger", binding name
// "documents"): each batch of created or updated documents, up to
// [MaxItemsPerInvocation] at a time, runs it once. The host keeps its
// progress in a lease document in the lease container (default "leases",
// which must exist unless [CreateLeaseContainerIfNotExists] is given), so
// that each change runs the function once, across restarts and instances.
//
//	app.CosmosDB("on_processed_order", "myappdb", "processed-orders", func(ctx *fn.Context, docs fn.Documents) error {
//		var orders []Order
//		if err := docs.Decode(&orders); err != nil {
//			return err
//		}
//		for _, o := range orders {
//			ctx.Logf("order %s is %s", o.ID, o.Status)
//		}
//		return nil
//	}, fn.Connection("CosmosDBConnection"), fn.CreateLeaseContainerIfNotExists())
//
// Options are [Connection] (the app setting holding the account's
// connection string; "CosmosDB" when not given), [LeaseContainer],
// [CreateLeaseContainerIfNotExists], [StartFromBeginning],
// [MaxItemsPerInvocation], [TriggerName], [Retry], other trigger
// properties as [Prop] values (leaseContainerPrefix, feedPollDelay, ...)
// and bindings such as [CosmosDBOutput], [CosmosDBInput] or
// [QueueOutput]. It panics on an empty database or container name, a nil
// handler or an invalid option.
func (a *App) CosmosDB(name, database, container string, h CosmosDBFunc, opts ...Option) {
	if h == nil {
		panic(fmt.Sprintf("fn: CosmosDB(%q): nil handler", name))
	}
	if err := checkContainer(database, container); err != nil {
		panic(fmt.Sprintf("fn: CosmosDB(%q): %v", name, err))
	}
	f := &function{name: name}
	f.handler = func(ctx *Context, inv *Invocation) (any, error) {
		docs, err := decodeDocuments(inv, f.trigger())
		if err != nil {
			return nil, &payloadError{err}
		}
		return nil, h(ctx, docs)
	}
	a.mustRegister("CosmosDB", f, Binding{Type: "cosmosDBTrigger", Name: "documents",
		Props: map[string]any{"databaseName": database, "containerName": container}}, opts)
}

// decodeDocuments reads the batch under the trigger's name in Data: a JSON
// array of documents, or a JSON string holding one.
func decodeDocuments(inv *Invocation, trigger *Binding) (Documents, error) {
	raw, _ := lookupFold(inv.Data, trigger.Name)
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("documents %q: %w", trigger.Name, err)
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || string(raw) == "null" {
		return Documents{}, nil
	}
	var docs []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &docs) != nil {
		return nil, fmt.Errorf("documents %q: the value is not a JSON array of documents", trigger.Name)
	}
	return Documents(docs), nil
}

func checkContainer(database, container string) error {
	if strings.TrimSpace(database) == "" || strings.TrimSpace(container) == "" {
		return errors.New("name the database and the container")
	}
	return nil
}

// LeaseContainer names a Cosmos DB function's lease container, its
// function.json "leaseContainerName" (default "leases", in the monitored
// container's database).
func LeaseContainer(name string) Option {
	return cosmosOption("LeaseContainer", "leaseContainerName", name)
}

// CreateLeaseContainerIfNotExists makes the host create a Cosmos DB
// function's lease container (and its database) when it is missing, its
// function.json "createLeaseContainerIfNotExists". Without it a missing
// lease container keeps the function from starting, as in Azure.
func CreateLeaseContainerIfNotExists() Option {
	return cosmosOption("CreateLeaseContainerIfNotExists", "createLeaseContainerIfNotExists", true)
}

// StartFromBeginning makes a Cosmos DB function that has no lease yet
// start with the container's existing documents rather than with the
// changes made from now on, its function.json "startFromBeginning". Once
// the lease exists it has no effect.
func StartFromBeginning() Option {
	return cosmosOption("StartFromBeginning", "startFromBeginning", true)
}

// MaxItemsPerInvocation bounds the documents of one invocation of a Cosmos
// DB function, its function.json "maxItemsPerInvocation" (default 100).
func MaxItemsPerInvocation(n int) Option {
	if n < 1 {
		return optionFunc(func(*function) error { return fmt.Errorf("MaxItemsPerInvocation(%d): want 1 or more", n) })
	}
	return cosmosOption("MaxItemsPerInvocation", "maxItemsPerInvocation", n)
}

func cosmosOption(opt, key string, v any) Option {
	return optionFunc(func(f *function) error {
		if !strings.EqualFold(f.trigger().Type, "cosmosDBTrigger") {
			return fmt.Errorf("%s applies to Cosmos DB functions only", opt)
		}
		return TriggerProp(key, v).apply(f)
	})
}

// CosmosDBOutput declares a Cosmos DB output binding named name that
// upserts documents into container of database (function.json type
// "cosmosDB"); the names may be binding expressions. Add documents with
// [Context.PutDocument], or set the value with [Context.SetOutput]. Props
// are [Connection] (default "CosmosDB"), [CreateIfNotExists] and
// [PartitionKey] (the partition key path of the container it creates):
//
//	fn.CosmosDBOutput("outputDoc", "myappdb", "processed-orders",
//		fn.Connection("CosmosDBConnection"), fn.CreateIfNotExists(), fn.PartitionKey("/id"))
func CosmosDBOutput(name, database, container string, props ...Prop) Option {
	return cosmosBinding("out", name, database, container, props)
}

// CosmosDBInput declares a Cosmos DB input binding named name that reads
// from container of database (function.json type "cosmosDB"): one document
// by [DocumentID] (and [PartitionKey]), the results of [SQLQuery], or with
// neither every document. Ids, partition keys and queries take binding
// expressions ("{queueTrigger}", "{id}"); in a query each one becomes a
// query parameter. Read the value with [Context.Input]: a document (null
// when there is none) or a JSON array of results.
//
//	fn.CosmosDBInput("order", "myappdb", "orders", fn.Connection("CosmosDBConnection"),
//		fn.DocumentID("{queueTrigger}"), fn.PartitionKey("{queueTrigger}"))
func CosmosDBInput(name, database, container string, props ...Prop) Option {
	return cosmosBinding("in", name, database, container, props)
}

func cosmosBinding(direction, name, database, container string, props []Prop) Option {
	return optionFunc(func(f *function) error {
		if err := checkContainer(database, container); err != nil {
			return fmt.Errorf("%s binding %q: %w", direction, name, err)
		}
		return addBindingWith(f, Binding{Type: "cosmosDB", Direction: direction, Name: name,
			Props: map[string]any{"databaseName": database, "containerName": container}}, props)
	})
}

// CreateIfNotExists makes a Cosmos DB output create its database and
// container when they do not exist, its function.json "createIfNotExists";
// the container's partition key path is [PartitionKey] (default "/id").
func CreateIfNotExists() Prop { return Prop{Key: "createIfNotExists", Value: true} }

// PartitionKey sets a Cosmos DB binding's function.json "partitionKey": for
// an output, the partition key path of the container it creates ("/id");
// for an input, the partition key value of the document to read, a binding
// expression such as "{customerId}".
func PartitionKey(v string) Prop { return Prop{Key: "partitionKey", Value: v} }

// DocumentID sets a Cosmos DB input's function.json "id": the id of the
// document to read, a binding expression such as "{queueTrigger}".
func DocumentID(id string) Prop { return Prop{Key: "id", Value: id} }

// SQLQuery sets a Cosmos DB input's function.json "sqlQuery", such as
// "SELECT * FROM c WHERE c.customerId = {customerId}": each binding
// expression becomes a query parameter (@customerId) holding its value, so
// a value never changes the query's text.
func SQLQuery(q string) Prop { return Prop{Key: "sqlQuery", Value: q} }

// PutDocument adds a document to the Cosmos DB output binding named name,
// declared with [CosmosDBOutput]. Call it once per document: the host
// upserts one document, or each of several, after the function returns. A
// document without an "id" gets a new one from the host.
//
// The document is a struct or map (encoded as JSON), a [json.RawMessage],
// or a string or []byte holding a JSON object. Anything that is not a JSON
// object fails the invocation. Setting the binding with [Context.SetOutput]
// replaces the documents put so far.
func (c *Context) PutDocument(name string, doc any) {
	m, err := encodeDocument(doc)
	c.appendEncoded(name, "document", m, err)
}

// encodeDocument encodes one document: text is taken as its JSON.
func encodeDocument(doc any) (json.RawMessage, error) {
	var text []byte
	switch d := doc.(type) {
	case string:
		text = []byte(d)
	case []byte:
		text = d
	}
	if text != nil {
		if !json.Valid(text) {
			return nil, errors.New("the text is not JSON (a document is a JSON object)")
		}
		doc = json.RawMessage(text)
	}
	m, err := encodeItem("document", doc)
	if err != nil {
		return nil, err
	}
	if len(m) == 0 || m[0] != '{' {
		return nil, fmt.Errorf("a document must be a JSON object, not %.40s", m)
	}
	return m, nil
}
