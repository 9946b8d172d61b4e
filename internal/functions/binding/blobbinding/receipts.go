package blobbinding

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/substrate"
)

// ReceiptService and ReceiptBucket name the substrate bucket of blob receipts: "lapis-functions-blobreceipts".
const (
	ReceiptService = "functions"
	ReceiptBucket  = "blobreceipts"
)

// Receipt states.
const (
	StateRunning  = "running"  // an instance holds the version until Lease
	StateFailed   = "failed"   // the last attempt failed; retry from RetryAt
	StateDone     = "done"     // an invocation succeeded
	StatePoisoned = "poisoned" // every attempt failed; the poison message was written
)

// Receipt is what the substrate keeps for one blob of one function: the version (ETag) last seen and how its
// processing went. One key per (app, function, account, container, blob): a new version replaces the receipt of
// the old one.
type Receipt struct {
	App       string    `json:"app"`
	Function  string    `json:"function"`
	Account   string    `json:"account"`
	Container string    `json:"container"`
	Blob      string    `json:"blob"`
	ETag      string    `json:"etag"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"` // invocations started for this version
	Owner     string    `json:"owner,omitempty"`
	Lease     time.Time `json:"lease,omitzero"`   // StateRunning: the owner's hold ends then unless renewed
	RetryAt   time.Time `json:"retryAt,omitzero"` // StateFailed: not retried before
	Error     string    `json:"error,omitempty"`  // the last failure
	Updated   time.Time `json:"updated"`
}

func (r *Receipt) final() bool { return r.State == StateDone || r.State == StatePoisoned }

// receipts is the receipt bucket seen from one function's trigger.
type receipts struct {
	kv     jetstream.KeyValue
	prefix string // "<app>.<function>", tokens
}

func openReceipts(ctx context.Context, sub *substrate.Substrate, app, function string) (*receipts, error) {
	kv, err := sub.KeyValue(ctx, ReceiptService, substrate.KVSpec{Name: ReceiptBucket, History: 1})
	if err != nil {
		return nil, err
	}
	return &receipts{kv: kv, prefix: ReceiptPrefix(app, function)}, nil
}

// ReceiptPrefix is the key prefix of a function's receipts (app and function names compare case-insensitively).
func ReceiptPrefix(app, function string) string {
	return substrate.Token(strings.ToLower(app)) + "." + substrate.Token(strings.ToLower(function))
}

// ReceiptKey is the key of a blob's receipt: the prefix and a hash of account, container and blob name.
func ReceiptKey(app, function, account, container, blob string) string {
	h := sha256.Sum256([]byte(account + "\x00" + container + "\x00" + blob))
	return ReceiptPrefix(app, function) + "." + hex.EncodeToString(h[:20])
}

func (r *receipts) get(ctx context.Context, key string) (*Receipt, uint64, error) {
	e, err := r.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blob receipt %s: %w", key, err)
	}
	var rec Receipt
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, e.Revision(), nil // unreadable: treat as absent, and replace it
	}
	return &rec, e.Revision(), nil
}

// put stores rec: created when rev is 0, else only if the key is still at rev. It reports false on a conflict.
func (r *receipts) put(ctx context.Context, key string, rec *Receipt, rev uint64) (uint64, bool, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, false, err
	}
	var n uint64
	if rev == 0 {
		n, err = r.kv.Create(ctx, key, data)
	} else {
		n, err = r.kv.Update(ctx, key, data, rev)
	}
	if err == nil {
		return n, true, nil
	}
	if conflict(err) {
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("blob receipt %s: %w", key, err)
}

func conflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// sameETag compares ETags ignoring the quotes some listings leave out.
func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }
