package account

import (
	"context"
	"errors"

	"github.com/lapisdev/lapis/internal/arm"
)

// DevKey is the well-known key of DevAccount, the same as Azurite's.
const DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// ErrNoAccount is returned for an account name that does not exist.
var ErrNoAccount = errors.New("storage: no such account")

// ErrSharedKeyDisabled is returned by Keys for an account whose
// allowSharedKeyAccess is false: neither SharedKey nor a key-signed SAS may
// be used with it.
var ErrSharedKeyDisabled = errors.New("storage: key based authentication is not permitted on this account")

// Directory answers the data plane's questions about accounts: does an
// account exist, and what are its keys. DevAccount always exists; the
// others are the storage accounts in the resource store.
type Directory struct {
	Store *arm.Store
}

// Keys returns an account's keys (base64, as listKeys shows them), key1
// first, or ErrNoAccount.
func (d *Directory) Keys(ctx context.Context, name string) ([]string, error) {
	if name == DevAccount {
		return []string{DevKey}, nil
	}
	rec, err := d.Record(ctx, name)
	if err != nil {
		return nil, err
	}
	if allowed, ok := rec.Properties["allowSharedKeyAccess"].(bool); ok && !allowed {
		return nil, ErrSharedKeyDisabled
	}
	var keys []string
	for _, k := range Keys(rec) {
		keys = append(keys, k.Value)
	}
	return keys, nil
}

// Record returns the resource record of a created account (nil for
// DevAccount), for services that need its properties, such as
// allowBlobPublicAccess.
func (d *Directory) Record(ctx context.Context, name string) (*arm.Record, error) {
	if name == DevAccount {
		return nil, nil
	}
	if d.Store == nil || ValidateName(name) != nil {
		return nil, ErrNoAccount
	}
	holder, err := d.Store.NameHolder(ctx, TypeName, name)
	if err != nil {
		return nil, err
	}
	if holder == "" {
		return nil, ErrNoAccount
	}
	id, err := arm.ParseID(holder)
	if err != nil {
		return nil, err
	}
	rec, err := d.Store.Get(ctx, id)
	if err == nil && rec == nil {
		err = ErrNoAccount
	}
	return rec, err
}
