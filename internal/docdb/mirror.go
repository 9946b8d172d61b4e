package docdb

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/lapisdev/lapis/internal/arm"
	"github.com/lapisdev/lapis/internal/docdb/account"
)

// The management API shows an account's SQL databases and containers,
// whichever side made them, as Azure does: what the data plane (or the Go
// API) creates, replaces or deletes is mirrored to the resources
// Microsoft.DocumentDB/databaseAccounts/sqlDatabases[/containers]. The
// emulator account is not a resource, so its databases are not mirrored.
// A failed mirror is logged; the data-plane operation stands.

// mirrorCaller is who the resource events of mirrored changes name.
var mirrorCaller = arm.Caller{Principal: "lapis-data-plane"}

// childID is the resource id of a database (coll "") or a container of
// an account, or false when the account is not a resource.
func (s *Service) childID(ctx context.Context, acct, db, coll string) (arm.ID, bool) {
	if s.dir == nil || s.env.Manager == nil || acct == account.EmulatorAccount {
		return arm.ID{}, false
	}
	rec, err := s.dir.Record(ctx, acct)
	if err != nil || rec == nil {
		return arm.ID{}, false
	}
	id, err := arm.ParseID(rec.ID)
	if err != nil {
		return arm.ID{}, false
	}
	id.Types = append(slices.Clone(id.Types), "sqlDatabases")
	id.Names = append(slices.Clone(id.Names), db)
	if coll != "" {
		id.Types = append(id.Types, "containers")
		id.Names = append(id.Names, coll)
	}
	return id, true
}

// mirrorPut records a database, or a container (and its database), the
// data plane made or changed.
func (s *Service) mirrorPut(ctx context.Context, acct, db string, c *Container) {
	coll := ""
	if c != nil {
		coll = c.ID
	}
	id, ok := s.childID(ctx, acct, db, coll)
	if !ok {
		return
	}
	api := account.APIVersions[0]
	m := s.env.Manager
	if c != nil {
		parent, _ := id.Parent()
		if rec, err := m.Store().Get(ctx, parent); err == nil && rec == nil {
			s.mirrorPut(ctx, acct, db, nil)
		}
	}
	res := map[string]any{"id": db}
	if c != nil {
		res = asMap(c)
	}
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{"resource": res}})
	if _, _, err := m.PutResource(ctx, id, api, body, false, mirrorCaller); err != nil {
		s.log.Warn("docdb: the management API does not show a change of the data plane", "id", id.String(), "err", err)
	}
}

// mirrorDelete removes the resource of a database or container the data
// plane deleted.
func (s *Service) mirrorDelete(ctx context.Context, acct, db, coll string) {
	id, ok := s.childID(ctx, acct, db, coll)
	if !ok {
		return
	}
	if _, err := s.env.Manager.DeleteResource(ctx, id, account.APIVersions[0], mirrorCaller); err != nil {
		s.log.Warn("docdb: the management API still shows a resource the data plane deleted", "id", id.String(), "err", err)
	}
}

// sameSpec reports whether a container already is as spec describes it,
// so that a mirrored (or repeated) PUT changes nothing, not even its etag.
func sameSpec(c *Container, spec *ContainerSpec) bool {
	want := *spec
	if len(want.PartitionKey.Paths) == 0 {
		want.PartitionKey = c.PartitionKey
	} else if want.PartitionKey.normalize() != nil {
		return false
	}
	if want.UniqueKeyPolicy == nil {
		want.UniqueKeyPolicy = c.UniqueKeyPolicy
	}
	a, _ := json.Marshal(&Container{ContainerSpec: c.ContainerSpec})
	b, _ := json.Marshal(&Container{ContainerSpec: want})
	return jsonEqual(a, b, nil)
}
