package storageclient

import (
	"context"
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
