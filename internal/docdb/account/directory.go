package account

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/lapisdev/lapis/internal/arm"
)

// DefaultPort is the document store's default port, the Cosmos DB
// emulator's.
const DefaultPort = 8081

// EmulatorAccount is the built-in account served on plain localhost (and
// the loopback addresses), as the Cosmos DB emulator serves its one
// account; no created account can take its name.
const EmulatorAccount = "localhost"

// EmulatorKey is the key of EmulatorAccount: the Cosmos DB emulator's
// well-known key, which tools and samples have built in.
const EmulatorKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="

// ErrNoAccount is returned for an account name that does not exist.
var ErrNoAccount = errors.New("docdb: no such database account")

// ErrLocalAuthDisabled is returned by Keys for an account whose
// disableLocalAuth is true: its keys may not be used.
var ErrLocalAuthDisabled = errors.New("docdb: key based authentication is disabled on this database account")

// Endpoint is an account's documentEndpoint when the document store
// listens on port: http://{account}.localhost:{port}/, or
// http://localhost:{port}/ for EmulatorAccount.
func Endpoint(account string, port int) string {
	host := account + ".localhost"
	if account == EmulatorAccount {
		host = EmulatorAccount
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
}

// AccountFromHost names the account a data-plane request is for, from its
// Host header: {account}.localhost[:port] is that account, and localhost or
// a loopback address is EmulatorAccount. It reports false for any other
// host, or a label that cannot be an account name.
func AccountFromHost(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return EmulatorAccount, true
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		if !ip.IsLoopback() {
			return "", false
		}
		return EmulatorAccount, true
	}
	label, ok := strings.CutSuffix(host, ".localhost")
	if !ok || ValidateName(label) != nil || label == EmulatorAccount {
		return "", false
	}
	return label, true
}

// Directory answers the data plane's questions about accounts: does an
// account exist, and what are its keys. EmulatorAccount always exists; the
// others are the database accounts in the resource store.
type Directory struct {
	Store *arm.Store
}

// Keys returns an account's keys (base64, as listKeys shows them): the
// read-write ones, primary first, and the read-only ones, primary first.
// It returns ErrNoAccount for an account that does not exist and
// ErrLocalAuthDisabled for one whose keys are turned off.
// EmulatorAccount has one read-write key, EmulatorKey.
func (d *Directory) Keys(ctx context.Context, name string) (readWrite, readOnly []string, err error) {
	if name == EmulatorAccount {
		return []string{EmulatorKey}, nil, nil
	}
	rec, err := d.Record(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if off, _ := rec.Properties["disableLocalAuth"].(bool); off {
		return nil, nil, ErrLocalAuthDisabled
	}
	for _, s := range slots {
		if s.readOnly {
			readOnly = append(readOnly, rec.Secrets[s.secret])
		} else {
			readWrite = append(readWrite, rec.Secrets[s.secret])
		}
	}
	return readWrite, readOnly, nil
}

// Record returns the resource record of a created account (nil for
// EmulatorAccount), for what the data plane needs of its properties, such
// as its consistencyPolicy and locations. It returns ErrNoAccount for an
// account that does not exist.
func (d *Directory) Record(ctx context.Context, name string) (*arm.Record, error) {
	if name == EmulatorAccount {
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
