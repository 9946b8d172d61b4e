package cosmosbinding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lapisdev/lapis/internal/functions/appconfig"
	"github.com/lapisdev/lapis/internal/functions/binding"
	"github.com/lapisdev/lapis/internal/functions/binding/expr"
	"github.com/lapisdev/lapis/internal/functions/docclient"
)

// Type names, and Azure's defaults.
const (
	TriggerType = "cosmosDBTrigger"
	BindingType = "cosmosDB"
	// DefaultConnection is the app setting a binding without "connection" uses, as the extension's
	// Constants.DefaultConnectionStringName.
	DefaultConnection = "CosmosDB"
	// DefaultLeaseContainer is the lease container of a trigger without leaseContainerName.
	DefaultLeaseContainer = "leases"
	// DefaultMaxItemsPerInvocation bounds a batch when maxItemsPerInvocation is not set: the change feed's
	// default page size.
	DefaultMaxItemsPerInvocation = 100
	// The change feed processor's defaults, as the extension documents them.
	DefaultFeedPollDelay           = 5 * time.Second
	DefaultLeaseAcquireInterval    = 13 * time.Second
	DefaultLeaseExpirationInterval = 60 * time.Second
	DefaultLeaseRenewInterval      = 17 * time.Second
	// DefaultPartitionKeyPath is the partition key path of a container a binding creates when it names none.
	DefaultPartitionKeyPath = "/id"
)

// TriggerConfig is a cosmosDBTrigger binding's parsed properties, with the defaults filled in.
type TriggerConfig struct {
	Connection, Database, Container                string
	LeaseConnection, LeaseDatabase, LeaseContainer string
	LeasePrefix                                    string
	CreateLeaseContainer                           bool
	StartFromBeginning                             bool
	StartFromTime                                  time.Time // zero: not set
	MaxItems                                       int
	FeedPollDelay, LeaseAcquire, LeaseExpiration   time.Duration
	LeaseRenew                                     time.Duration
	// Notes say which extension 3.x names were read, and which properties Lapis accepts but ignores; Start logs
	// them.
	Notes []string
}

// BindingConfig is a cosmosDB input or output binding's parsed properties.
type BindingConfig struct {
	Connection string
	// Database and Container may hold binding expressions.
	Database, Container *expr.Template
	// Output: CreateIfNotExists creates the database and container on a write that finds them missing, the
	// container with PartitionKey as its partition key path (DefaultPartitionKeyPath when empty).
	CreateIfNotExists bool
	// PartitionKey is the output's partition key path, or the input's partition key value (a binding
	// expression); nil when not set.
	PartitionKey *expr.Template
	// Input: ID reads one document by id (a binding expression); SQLQuery runs a query whose {expressions}
	// become parameters. With neither, the input is every document (of the partition PartitionKey, if set).
	ID       *expr.Template
	SQLQuery *expr.Template
}

// props reads a binding's properties, collecting every problem as a *binding.PropertyError.
type props struct {
	b     *appconfig.Binding
	errs  []error
	notes []string
}

func (p *props) fail(name, format string, args ...any) {
	p.errs = append(p.errs, &binding.PropertyError{Property: name, Msg: fmt.Sprintf(format, args...)})
}

// raw returns the first of names present (and not null): the current name, then the extension 3.x ones, noting
// when a 3.x name is read.
func (p *props) raw(names ...string) (json.RawMessage, string, bool) {
	for i, n := range names {
		if v, ok := p.b.Property(n); ok && string(bytes.TrimSpace(v)) != "null" {
			if i > 0 {
				p.notes = append(p.notes, fmt.Sprintf("%s is the Cosmos DB extension 3.x name of %s; Lapis reads it as %s", n, names[0], names[0]))
			}
			return v, n, true
		}
	}
	return nil, names[0], false
}

// str reads a string property; def when absent or empty. what describes a good value, for the error.
func (p *props) str(def, what string, names ...string) string {
	if s, _ := p.text(what, names...); s != "" {
		return s
	}
	return def
}

// required reads a string property that must be set and not empty.
func (p *props) required(what string, names ...string) string {
	s, st := p.text(what, names...)
	switch {
	case st == absent:
		p.fail(names[0], "is required: %s", what)
	case st == valid && s == "":
		p.fail(names[0], "must not be empty: %s", what)
	}
	return s
}

// A property's state, as text read it.
const (
	absent  = iota // not there, or null
	invalid        // not a string (reported)
	valid
)

// text reads a string property, trimmed.
func (p *props) text(what string, names ...string) (string, int) {
	v, name, ok := p.raw(names...)
	if !ok {
		return "", absent
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		p.fail(name, "%s is not a string: %s", v, what)
		return "", invalid
	}
	return strings.TrimSpace(s), valid
}

// boolean reads a true/false property (a JSON boolean, or a string holding one, as an %AppSetting% gives).
func (p *props) boolean(names ...string) bool {
	v, name, ok := p.raw(names...)
	if !ok {
		return false
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b
		}
	}
	p.fail(name, "%s is not true or false", v)
	return false
}

// integer reads a whole-number property (a JSON number, or a string holding one); def when absent. A value below
// min is an error.
func (p *props) integer(def, min int, unit string, names ...string) int {
	v, name, ok := p.raw(names...)
	if !ok {
		return def
	}
	text := string(v)
	var s string
	if json.Unmarshal(v, &s) == nil {
		text = strings.TrimSpace(s)
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		p.fail(name, "%s is not a whole number of %s", v, unit)
		return def
	}
	if n < min {
		p.fail(name, "%d is less than %d %s", n, min, unit)
		return def
	}
	return n
}

// millis reads a positive number of milliseconds; 0 or absent is def (the extension ignores values of 0).
func (p *props) millis(def time.Duration, names ...string) time.Duration {
	n := p.integer(0, 0, "milliseconds", names...)
	if n == 0 {
		return def
	}
	return time.Duration(n) * time.Millisecond
}

// ignored notes properties Lapis accepts and does not use.
func (p *props) ignored(why string, names ...string) {
	for _, n := range names {
		if _, _, ok := p.raw(n); ok {
			p.notes = append(p.notes, fmt.Sprintf("%s is ignored: %s", n, why))
		}
	}
}

const (
	whatConnection = "the name of the app setting that holds the Cosmos DB connection string (AccountEndpoint=...;AccountKey=...;)"
	whatDatabase   = `the name of the database, e.g. "myappdb"`
	whatContainer  = `the name of the container, e.g. "orders"`
)

// ParseTriggerConfig reads and checks a cosmosDBTrigger binding's properties, as the Cosmos DB extension 4.x names
// them (connection, databaseName, containerName, leaseConnection, leaseDatabaseName, leaseContainerName,
// createLeaseContainerIfNotExists, leaseContainerPrefix, startFromBeginning, startFromTime,
// maxItemsPerInvocation, feedPollDelay, leaseAcquireInterval, leaseExpirationInterval, leaseRenewInterval), or
// as 3.x did (connectionStringSetting, collectionName, leaseConnectionStringSetting, leaseCollectionName,
// createLeaseCollectionIfNotExists, leaseCollectionPrefix). Errors are *binding.PropertyError, joined.
func ParseTriggerConfig(b *appconfig.Binding) (*TriggerConfig, error) {
	p := &props{b: b}
	c := &TriggerConfig{
		Connection: p.str(DefaultConnection, whatConnection, "connection", "connectionStringSetting"),
		Database:   p.required(whatDatabase, "databaseName"),
		Container:  p.required(whatContainer, "containerName", "collectionName"),
	}
	checkLiteral(p, "databaseName", c.Database)
	checkLiteral(p, "containerName", c.Container)
	c.LeaseConnection = p.str(c.Connection, whatConnection, "leaseConnection", "leaseConnectionStringSetting")
	c.LeaseDatabase = p.str(c.Database, whatDatabase, "leaseDatabaseName")
	c.LeaseContainer = p.str(DefaultLeaseContainer, whatContainer, "leaseContainerName", "leaseCollectionName")
	checkLiteral(p, "leaseDatabaseName", c.LeaseDatabase)
	checkLiteral(p, "leaseContainerName", c.LeaseContainer)
	c.LeasePrefix = p.str("", "a prefix for the lease documents' ids", "leaseContainerPrefix", "leaseCollectionPrefix")
	c.CreateLeaseContainer = p.boolean("createLeaseContainerIfNotExists", "createLeaseCollectionIfNotExists")
	c.StartFromBeginning = p.boolean("startFromBeginning")
	if s := p.str("", "an ISO 8601 time such as 2021-02-16T14:19:29Z", "startFromTime"); s != "" {
		t, err := parseTime(s)
		switch {
		case err != nil:
			p.fail("startFromTime", "%q is not in the correct format: use ISO 8601 with the UTC designator, for example '2021-02-16T14:19:29Z'", s)
		case c.StartFromBeginning:
			p.fail("startFromTime", "only one of startFromBeginning or startFromTime can be used")
		default:
			c.StartFromTime = t
		}
	}
	c.MaxItems = p.integer(DefaultMaxItemsPerInvocation, 0, "documents", "maxItemsPerInvocation")
	if c.MaxItems == 0 {
		c.MaxItems = DefaultMaxItemsPerInvocation
	}
	c.FeedPollDelay = p.millis(DefaultFeedPollDelay, "feedPollDelay")
	c.LeaseAcquire = p.millis(DefaultLeaseAcquireInterval, "leaseAcquireInterval")
	c.LeaseExpiration = p.millis(DefaultLeaseExpirationInterval, "leaseExpirationInterval")
	c.LeaseRenew = p.millis(DefaultLeaseRenewInterval, "leaseRenewInterval")
	if c.LeaseRenew >= c.LeaseExpiration {
		p.fail("leaseRenewInterval", "%v is not shorter than leaseExpirationInterval (%v): the lease would expire before it is renewed", c.LeaseRenew, c.LeaseExpiration)
	}
	p.ignored("Lapis provisions no throughput", "leasesContainerThroughput", "leasesCollectionThroughput")
	p.ignored("Lapis has one region", "preferredLocations", "useMultipleWriteLocations")
	p.ignored("Lapis checkpoints after every invocation", "checkpointInterval", "checkpointDocumentCount")
	c.Notes = p.notes
	return c, errors.Join(p.errs...)
}

// checkLiteral refuses binding expressions in a trigger's names: a trigger follows one container.
func checkLiteral(p *props, name, v string) {
	if strings.ContainsAny(v, "{}") {
		p.fail(name, "%q: a trigger's names cannot use binding expressions ({...}); use a literal name or an %%AppSetting%% reference", v)
	}
}

// ParseBindingConfig reads and checks a cosmosDB input (in) or output (out) binding's properties: connection,
// databaseName, containerName (3.x: connectionStringSetting, collectionName), and for an output createIfNotExists
// and partitionKey (the path of a created container), for an input id, partitionKey and sqlQuery (binding
// expressions). Errors are *binding.PropertyError, joined.
func ParseBindingConfig(b *appconfig.Binding) (*BindingConfig, error) {
	p := &props{b: b}
	c := &BindingConfig{Connection: p.str(DefaultConnection, whatConnection, "connection", "connectionStringSetting")}
	c.Database = template(p, "databaseName", p.required(whatDatabase, "databaseName"))
	c.Container = template(p, "containerName", p.required(whatContainer, "containerName", "collectionName"))
	pk := p.str("", "a partition key", "partitionKey")
	if b.Direction == appconfig.Out {
		c.CreateIfNotExists = p.boolean("createIfNotExists")
		if pk != "" && !strings.HasPrefix(pk, "/") {
			p.fail("partitionKey", "%q is not a partition key path: an output's partitionKey is the path of the container it creates, e.g. \"/id\"", pk)
		}
		for _, n := range []string{"id", "sqlQuery"} {
			if _, _, ok := p.raw(n); ok {
				p.fail(n, "applies to an input binding (direction \"in\") only")
			}
		}
	} else {
		c.ID = template(p, "id", p.str("", "a document id, e.g. \"{queueTrigger}\"", "id"))
		c.SQLQuery = template(p, "sqlQuery", p.str("", "a query, e.g. \"SELECT * FROM c WHERE c.city = {city}\"", "sqlQuery"))
		if c.ID != nil && c.SQLQuery != nil {
			p.fail("sqlQuery", "only one of id and sqlQuery can be used")
		}
		if _, _, ok := p.raw("createIfNotExists"); ok {
			p.fail("createIfNotExists", "applies to an output binding (direction \"out\") only")
		}
	}
	c.PartitionKey = template(p, "partitionKey", pk)
	return c, errors.Join(p.errs...)
}

// template parses a property that may hold binding expressions; nil when s is empty.
func template(p *props, name, s string) *expr.Template {
	if s == "" {
		return nil
	}
	t, err := expr.Parse(s)
	if err != nil {
		p.fail(name, "%v", err)
		return nil
	}
	return t
}

// parseTime reads startFromTime: ISO 8601, with or without an offset (without, it is UTC, as the extension's
// DateTime.TryParse of a "Z"-less time on a UTC host).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time", s)
}

// ConnectionString returns the connection string a binding's connection names: the app setting of that name, or
// "AzureWebJobs" + that name. Identity-based connections (NAME__accountEndpoint) are refused with a clear error.
func ConnectionString(settings appconfig.Lookup, connection string) (string, error) {
	for _, n := range []string{connection, "AzureWebJobs" + connection} {
		if v, ok := settings(n); ok && strings.TrimSpace(v) != "" {
			return v, nil
		}
	}
	if _, ok := settings(connection + "__accountEndpoint"); ok {
		return "", fmt.Errorf("connection %q: identity-based connections (%s__accountEndpoint) are not supported by Lapis; set the app setting %s to a connection string",
			connection, connection, connection)
	}
	return "", fmt.Errorf("connection: the app setting %q is not set; it must hold a Cosmos DB connection string, such as Lapis's emulator account: AccountEndpoint=http://localhost:8081/;AccountKey=<the emulator key>;", connection)
}

// errNoDocumentStore is what the bindings fail with when run without the platform.
var errNoDocumentStore = errors.New("the Cosmos DB bindings reach only the document store of the Lapis platform the app runs in: " +
	"deploy the app to Lapis, or run it with lapis func start")

// openAccount resolves connection (an app setting name) to a database account.
func openAccount(ctx context.Context, fn *binding.Function, connection string) (docclient.Account, error) {
	if fn.Env == nil || fn.Env.Documents == nil {
		return nil, errNoDocumentStore
	}
	cs, err := ConnectionString(fn.Settings, connection)
	if err != nil {
		return nil, err
	}
	a, err := fn.Env.Documents.Account(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", connection, err)
	}
	return a, nil
}
