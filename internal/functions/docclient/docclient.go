package docclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lapisdev/lapis/internal/docdb"
)

// Provider resolves connection strings to database accounts.
type Provider interface {
	// Account returns the database account a connection string names. It is an error naming what is wrong when
	// the string cannot be parsed or names no account this provider can reach (a *ConnectionError).
	Account(ctx context.Context, connection string) (Account, error)
}

// Account is one database account as the Cosmos DB bindings use it. Errors from the document store are
// *docdb.Error; test them with errors.Is and docdb.ErrNotFound, docdb.ErrConflict, docdb.ErrPreconditionFailed.
type Account interface {
	// Name is the account's name (docdb/account.EmulatorAccount for the emulator's).
	Name() string
	// Host is the host name of the account's endpoint, as the connection string gives it ("localhost",
	// "myaccount.localhost"): the change feed processor's lease ids start with it.
	Host() string

	// CreateDatabaseIfNotExists creates a database unless it exists.
	CreateDatabaseIfNotExists(ctx context.Context, db string) error
	// CreateContainerIfNotExists creates a container unless it exists (its database must exist).
	CreateContainerIfNotExists(ctx context.Context, db string, spec docdb.ContainerSpec) error
	// Container describes a container; docdb.ErrNotFound if it or its database does not exist.
	Container(ctx context.Context, db, container string) (*ContainerInfo, error)

	// CreateItem creates a document; docdb.ErrConflict if its id is taken in its partition.
	CreateItem(ctx context.Context, db, container string, doc []byte) (*docdb.Item, error)
	// UpsertItem creates or replaces a document (its partition key is the document's own).
	UpsertItem(ctx context.Context, db, container string, doc []byte) (*docdb.Item, error)
	// ReadItem reads a document by partition key and id; docdb.ErrNotFound if there is none.
	ReadItem(ctx context.Context, db, container string, pk docdb.PartitionKey, id string) (*docdb.Item, error)
	// ReplaceItem replaces a document if its etag is still ifMatch; docdb.ErrPreconditionFailed if it changed,
	// docdb.ErrNotFound if it is gone.
	ReplaceItem(ctx context.Context, db, container string, pk docdb.PartitionKey, id string, doc []byte, ifMatch string) (*docdb.Item, error)
	// Query runs a query and returns every result, reading all pages. pk, when not nil, scopes it to one
	// partition.
	Query(ctx context.Context, db, container string, q docdb.QuerySpec, pk docdb.PartitionKey) ([]json.RawMessage, error)

	// ChangeFeed opens a container's change feed (latest version of each document, in write order, no deletes)
	// at sequence from: 1 is the beginning, docdb.FromNow the end.
	ChangeFeed(ctx context.Context, db, container string, from uint64) (ChangeFeed, error)
	// Watch returns a channel that receives (coalesced: at most one pending signal) after a write to the
	// container (deletes excepted), until ctx ends; then it is closed. It reports ErrWatchUnsupported when the
	// account cannot push changes (the caller polls instead).
	Watch(ctx context.Context, db, container string) (<-chan struct{}, error)
}

// ChangeFeed reads a container's change feed; see docdb.ChangeFeed.
type ChangeFeed interface {
	// Next returns up to max changes after the last ones returned (none when there is nothing new) and moves
	// past them. Each document carries _lsn, the sequence of its change.
	Next(ctx context.Context, max int) ([]docdb.ChangeFeedItem, error)
	// Position is the sequence the next read starts at.
	Position() uint64
}

// ContainerInfo is what the bindings need to know of a container.
type ContainerInfo struct {
	ID string
	// RID and DatabaseRID are the container's and its database's resource ids (_rid).
	RID, DatabaseRID string
	// PartitionKeyPaths are the container's partition key paths, e.g. ["/id"].
	PartitionKeyPaths []string
}

// ErrWatchUnsupported is what Watch returns when the account cannot push changes.
var ErrWatchUnsupported = errors.New("docclient: this account cannot push changes")

// ConnectionError is a connection string that cannot be used: unparsable, without a key, naming an account that
// does not exist, or an endpoint this provider does not serve. It never quotes the key.
type ConnectionError struct {
	Account string // the account it names, when known
	Msg     string
}

func (e *ConnectionError) Error() string {
	what := "Cosmos DB connection"
	if e.Account != "" {
		what += " (account " + e.Account + ")"
	}
	return what + ": " + e.Msg
}

// ConnectionString is a Cosmos DB connection string's parts:
// AccountEndpoint=https://{account}.documents.azure.com:443/;AccountKey={base64};
type ConnectionString struct {
	// Endpoint is AccountEndpoint, an absolute http or https URL.
	Endpoint *url.URL
	// Key is AccountKey, base64 as Azure shows it.
	Key string
}

// ParseConnectionString reads a Cosmos DB connection string as Azure's extension does (a
// DbConnectionStringBuilder): key=value pairs separated by ";", keys in any case, values trimmed and optionally
// quoted ('...' or "..."). AccountEndpoint and AccountKey are required; other keys (Database=, ...) are ignored.
// The error never quotes the key.
func ParseConnectionString(s string) (ConnectionString, error) {
	var endpoint, key string
	for part := range strings.SplitSeq(s, ";") {
		name, value, hasValue := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.TrimSpace(name)
		switch {
		case name == "" && !hasValue:
			continue // an empty part, as after the final ";"
		case name == "" || !hasValue:
			return ConnectionString{}, &ConnectionError{Msg: "it is not a list of key=value pairs separated by ; (AccountEndpoint=...;AccountKey=...;)"}
		}
		value = unquote(strings.TrimSpace(value))
		switch strings.ToLower(name) {
		case "accountendpoint":
			endpoint = value
		case "accountkey":
			key = value
		}
	}
	if endpoint == "" {
		return ConnectionString{}, &ConnectionError{Msg: "it has no AccountEndpoint (AccountEndpoint=http://localhost:8081/;AccountKey=...;)"}
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ConnectionString{}, &ConnectionError{Msg: fmt.Sprintf("AccountEndpoint %q is not an http or https URL", endpoint)}
	}
	if key == "" {
		return ConnectionString{}, &ConnectionError{Msg: "it has no AccountKey (identity-based connections are not supported by Lapis)"}
	}
	if _, err := base64.StdEncoding.DecodeString(key); err != nil {
		return ConnectionString{}, &ConnectionError{Msg: "AccountKey is not base64"}
	}
	return ConnectionString{Endpoint: u, Key: key}, nil
}

// unquote strips one pair of matching quotes around a value.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
