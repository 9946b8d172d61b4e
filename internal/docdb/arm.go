package docdb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/docdb/account"
)

// SQLDatabaseType is the ARM type Microsoft.DocumentDB/databaseAccounts/
// sqlDatabases: a database of an account's data plane. A PUT creates the
// database (or takes over one the data plane has), a DELETE deletes it
// with its containers; properties.resource shows the database as the data
// plane does, properties.options the throughput options given.
type SQLDatabaseType struct{ svc *Service }

// SQLContainerType is the ARM type Microsoft.DocumentDB/databaseAccounts/
// sqlDatabases/containers: a container of an account's data plane. A PUT
// creates it or replaces what may change (defaultTtl, indexingPolicy).
type SQLContainerType struct{ svc *Service }

var (
	_ arm.ResourceType = (*SQLDatabaseType)(nil)
	_ arm.Deleter      = (*SQLDatabaseType)(nil)
	_ arm.ResourceType = (*SQLContainerType)(nil)
	_ arm.Deleter      = (*SQLContainerType)(nil)
)

// Info implements arm.ResourceType.
func (*SQLDatabaseType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: account.Namespace, Type: "databaseAccounts/sqlDatabases", APIVersions: account.APIVersions,
		CreatedStatus: http.StatusOK, DeletedStatus: http.StatusNoContent}
}

// Info implements arm.ResourceType.
func (*SQLContainerType) Info() arm.TypeInfo {
	return arm.TypeInfo{Namespace: account.Namespace, Type: "databaseAccounts/sqlDatabases/containers", APIVersions: account.APIVersions,
		CreatedStatus: http.StatusOK, DeletedStatus: http.StatusNoContent}
}

// armError turns a data-plane error into ARM's shape.
func armError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	code := e.Code
	if e.Status == http.StatusBadRequest {
		code = "BadRequest"
	}
	return arm.Errorf(e.Status, code, "%s", e.Message)
}

// resourceProps reads properties.resource and checks that its id is the
// resource's name (filling it in when absent).
func resourceProps(req *arm.WriteRequest, what string) (map[string]any, error) {
	name := req.ID.Name()
	if req.Old != nil {
		name = req.Old.Name
	}
	res, _ := req.New.Properties["resource"].(map[string]any)
	if res == nil {
		if req.Old != nil {
			if old, ok := req.Old.Properties["resource"].(map[string]any); ok {
				res = map[string]any{"id": old["id"]}
			}
		}
		if res == nil {
			return nil, arm.Errorf(http.StatusBadRequest, "BadRequest",
				"properties.resource is required: give the %s as {\"resource\":{\"id\":\"%s\"}}.", what, name)
		}
	}
	switch id := res["id"].(type) {
	case nil:
		res["id"] = name
	case string:
		if id != name {
			return nil, arm.Errorf(http.StatusBadRequest, "BadRequest",
				"properties.resource.id '%s' must be the %s's name '%s'.", id, what, name)
		}
	default:
		return nil, arm.Errorf(http.StatusBadRequest, "BadRequest", "properties.resource.id must be a string.")
	}
	return res, nil
}

// asMap turns a data-plane resource into properties.resource.
func asMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func options(req *arm.WriteRequest) map[string]any {
	if o, ok := req.New.Properties["options"].(map[string]any); ok {
		return o
	}
	if req.Old != nil {
		if o, ok := req.Old.Properties["options"].(map[string]any); ok {
			return o
		}
	}
	return map[string]any{}
}

// accountOf is the account name in a child resource's id.
func accountOf(id arm.ID) string { return strings.ToLower(id.Names[0]) }

// Prepare implements arm.ResourceType: it makes the database in the data
// plane.
func (t *SQLDatabaseType) Prepare(ctx context.Context, req *arm.WriteRequest) error {
	res, err := resourceProps(req, "database")
	if err != nil {
		return err
	}
	id, _ := res["id"].(string)
	acct := accountOf(req.ID)
	d, err := t.svc.getDatabase(ctx, acct, id)
	if errors.Is(err, ErrNotFound) {
		d, err = t.svc.createDatabase(ctx, acct, id)
		if errors.Is(err, ErrConflict) { // made meanwhile
			d, err = t.svc.getDatabase(ctx, acct, id)
		}
	}
	if err != nil {
		return armError(err)
	}
	req.New.Properties = map[string]any{"resource": asMap(d), "options": options(req)}
	return nil
}

// Deleted implements arm.Deleter: the database goes with its containers
// and documents.
func (t *SQLDatabaseType) Deleted(ctx context.Context, r *arm.Record) error {
	id, err := arm.ParseID(r.ID)
	if err != nil {
		return err
	}
	if err := t.svc.deleteDatabase(ctx, accountOf(id), r.Name); err != nil && !errors.Is(err, ErrNotFound) {
		return armError(err)
	}
	return nil
}

// Prepare implements arm.ResourceType: it creates the container in the
// data plane, or replaces what may change of an existing one.
func (t *SQLContainerType) Prepare(ctx context.Context, req *arm.WriteRequest) error {
	res, err := resourceProps(req, "container")
	if err != nil {
		return err
	}
	acct, db := accountOf(req.ID), req.ID.Names[1]
	if parent, ok := req.ID.Parent(); ok && req.Store != nil {
		if rec, err := req.Store.Get(ctx, parent); err == nil && rec != nil {
			db = rec.Name // as the database was created
		}
	}
	b, _ := json.Marshal(res)
	spec, perr := parseContainerBody(b)
	if perr != nil {
		return armError(perr)
	}
	// The database may have gone from the data plane while its resource
	// stayed: make it again.
	if _, err := t.svc.getDatabase(ctx, acct, db); errors.Is(err, ErrNotFound) {
		if _, err := t.svc.createDatabase(ctx, acct, db); err != nil && !errors.Is(err, ErrConflict) {
			return armError(err)
		}
	}
	var c *Container
	if sc, _, gerr := t.svc.getContainer(ctx, acct, db, spec.ID); gerr == nil {
		c = sc.Container
		if !sameSpec(c, spec) {
			c, err = t.svc.replaceContainer(ctx, acct, db, spec, "")
		}
	} else if errors.Is(gerr, ErrNotFound) {
		c, err = t.svc.createContainer(ctx, acct, db, spec)
	} else {
		err = gerr
	}
	if err != nil {
		return armError(err)
	}
	req.New.Properties = map[string]any{"resource": asMap(c), "options": options(req)}
	return nil
}

// Deleted implements arm.Deleter: the container goes with its documents.
func (t *SQLContainerType) Deleted(ctx context.Context, r *arm.Record) error {
	id, err := arm.ParseID(r.ID)
	if err != nil {
		return err
	}
	if err := t.svc.deleteContainer(ctx, accountOf(id), id.Names[1], r.Name); err != nil && !errors.Is(err, ErrNotFound) {
		return armError(err)
	}
	return nil
}
