package storageclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Provider resolves connections to accounts.
type Provider interface {
	// Account returns the account a connection string names. It is an error naming what is wrong when the string
	// cannot be parsed or names no account this provider can reach.
	Account(ctx context.Context, connection string) (Account, error)
}

// Account is one storage account as bindings use it.
type Account interface {
	// Name is the account name.
	Name() string

	// CreateQueue creates a queue if it does not exist.
	CreateQueue(ctx context.Context, queue string) error
	// PutMessage adds a message (text as given: the caller encodes).
	PutMessage(ctx context.Context, queue, text string, visibility, ttl time.Duration) (Message, error)
	// ReceiveMessages dequeues up to n messages, making them invisible for visibility. It waits until at least
	// one is available or ctx ends (push where the account is in process; polling with back-off up to
	// maxWait otherwise).
	ReceiveMessages(ctx context.Context, queue string, n int, visibility, maxWait time.Duration) ([]Message, error)
	// DeleteMessage removes a received message.
	DeleteMessage(ctx context.Context, queue, id, popReceipt string) error
	// UpdateVisibility makes a received message visible again after visibility; it returns the new pop receipt.
	UpdateVisibility(ctx context.Context, queue, id, popReceipt string, visibility time.Duration) (string, error)

	// CreateContainer creates a blob container if it does not exist.
	CreateContainer(ctx context.Context, container string) error
	// ReadBlob reads a whole blob; ErrNotFound if it does not exist.
	ReadBlob(ctx context.Context, container, name string) ([]byte, BlobProperties, error)
	// WriteBlob writes a block blob.
	WriteBlob(ctx context.Context, container, name string, data []byte, contentType string) error
	// BlobURL is the blob's URL on this account's endpoint.
	BlobURL(container, name string) string
	// ListBlobs lists the blobs of a container whose names start with prefix (the blob trigger's scan at start).
	ListBlobs(ctx context.Context, container, prefix string) ([]BlobItem, error)
	// BlobEvents delivers the blobs created or changed in container from now on, until ctx ends (then the
	// channel is closed). In process they come from the blob service's events; elsewhere from polling the
	// listing. Delivery is at least once: the consumer keeps receipts.
	BlobEvents(ctx context.Context, container string) (<-chan BlobItem, error)
}

// BlobItem is a blob as listed or as an event names it.
type BlobItem struct {
	Container  string
	Name       string
	Properties BlobProperties
}

// Message is a queue message as received.
type Message struct {
	ID              string
	PopReceipt      string
	Text            string
	DequeueCount    int64
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
}

// BlobProperties are what the blob trigger's metadata shows of a blob.
type BlobProperties struct {
	Length       int64
	ContentType  string
	ETag         string
	LastModified time.Time
	Created      time.Time
	Metadata     map[string]string
}

// ErrNotFound is what a missing blob, container, queue or message is (test with errors.Is); the error itself is
// an *Error with the service's code (BlobNotFound, ContainerNotFound, QueueNotFound, MessageNotFound).
var ErrNotFound = errors.New("storage: not found")

// Error is a storage operation the service refused: its HTTP status and Azure error code.
type Error struct {
	Op      string // the Account method, e.g. "ReadBlob"
	Target  string // what it was about: "queue orders", "blob images/cat.png"
	Status  int    // HTTP status, e.g. 404
	Code    string // Azure's error code, e.g. "BlobNotFound"
	Message string // the service's message
}

func (e *Error) Error() string {
	s := "storage: " + e.Op
	if e.Target != "" {
		s += " " + e.Target
	}
	s += fmt.Sprintf(": %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes a 404 match ErrNotFound.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// ConnectionError is a connection string that cannot be used: unparsable, without a key, or naming an account
// that does not exist here. It never quotes the key.
type ConnectionError struct {
	Account string // the account it names, if it could be read
	Msg     string
}

func (e *ConnectionError) Error() string {
	if e.Account != "" {
		return fmt.Sprintf("storage connection (account %s): %s", e.Account, e.Msg)
	}
	return "storage connection: " + e.Msg
}

// Receipt names a received message to delete: its id and its latest pop receipt.
type Receipt struct {
	ID, PopReceipt string
}

// BatchDeleter is implemented by accounts that delete several messages of a queue in one round (the in-process
// account pipelines the writes). DeleteMessages returns one error per receipt, nil where the message was deleted.
// Callers use the function DeleteMessages, which falls back to DeleteMessage.
type BatchDeleter interface {
	DeleteMessages(ctx context.Context, queue string, rs []Receipt) []error
}

// DeleteMessages deletes received messages of a queue: in one round when the account is a BatchDeleter, else one
// by one. It returns one error per receipt.
func DeleteMessages(ctx context.Context, a Account, queue string, rs []Receipt) []error {
	if bd, ok := a.(BatchDeleter); ok {
		return bd.DeleteMessages(ctx, queue, rs)
	}
	errs := make([]error, len(rs))
	for i, r := range rs {
		errs[i] = a.DeleteMessage(ctx, queue, r.ID, r.PopReceipt)
	}
	return errs
}
