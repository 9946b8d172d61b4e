package docdb

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// Database is a database as Cosmos DB shows it.
type Database struct {
	ID    string `json:"id"`
	RID   string `json:"_rid"`
	Self  string `json:"_self"`
	ETag  string `json:"_etag"`
	Colls string `json:"_colls"`
	Users string `json:"_users"`
	TS    int64  `json:"_ts"`
}

func newDatabase(id string, ts int64) *Database {
	rid := ridEncode(randomBytes(4))
	return &Database{ID: id, RID: rid, Self: "dbs/" + rid + "/", ETag: newETag(), Colls: "colls/", Users: "users/", TS: ts}
}

// ContainerSpec is what a container is created or replaced with.
type ContainerSpec struct {
	ID           string
	PartitionKey PartitionKeyDefinition
	// DefaultTTL turns time to live on: -1 for on with no default, n for
	// items to expire n seconds after their last write. Nil is off.
	DefaultTTL *int64
	// The policies are echoed as given (JSON); nil takes Cosmos DB's
	// default. The unique key policy is enforced.
	IndexingPolicy           json.RawMessage
	UniqueKeyPolicy          json.RawMessage
	ConflictResolutionPolicy json.RawMessage
	// Other properties of the request body, echoed (computedProperties,
	// vectorEmbeddingPolicy, ...).
	Other map[string]json.RawMessage
}

// Container is a container as Cosmos DB shows it.
type Container struct {
	ContainerSpec
	RID  string
	Self string
	ETag string
	TS   int64
}

// Default policies, as Cosmos DB fills them in.
var (
	defaultIndexingPolicy    = json.RawMessage(`{"indexingMode":"consistent","automatic":true,"includedPaths":[{"path":"/*"}],"excludedPaths":[{"path":"/\"_etag\"/?"}]}`)
	defaultUniqueKeyPolicy   = json.RawMessage(`{"uniqueKeys":[]}`)
	defaultConflictPolicy    = json.RawMessage(`{"mode":"LastWriterWins","conflictResolutionPath":"/_ts","conflictResolutionProcedure":""}`)
	defaultGeospatialConfig  = json.RawMessage(`{"type":"Geography"}`)
	containerSystemKeys      = []string{"_rid", "_ts", "_self", "_etag", "_docs", "_sprocs", "_triggers", "_udfs", "_conflicts"}
	containerKnownProperties = []string{"id", "partitionKey", "defaultTtl", "indexingPolicy", "uniqueKeyPolicy", "conflictResolutionPolicy", "geospatialConfig"}
)

// MarshalJSON writes the container in Cosmos DB's shape.
func (c *Container) MarshalJSON() ([]byte, error) {
	o := &object{vals: map[string]json.RawMessage{}}
	js := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	or := func(v, def json.RawMessage) json.RawMessage {
		if len(v) == 0 {
			return def
		}
		return v
	}
	o.set("id", js(c.ID))
	o.set("indexingPolicy", or(c.IndexingPolicy, defaultIndexingPolicy))
	o.set("partitionKey", js(c.PartitionKey))
	o.set("uniqueKeyPolicy", or(c.UniqueKeyPolicy, defaultUniqueKeyPolicy))
	o.set("conflictResolutionPolicy", or(c.ConflictResolutionPolicy, defaultConflictPolicy))
	o.set("geospatialConfig", defaultGeospatialConfig)
	if g, ok := c.Other["geospatialConfig"]; ok {
		o.set("geospatialConfig", g)
	}
	if c.DefaultTTL != nil {
		o.set("defaultTtl", js(*c.DefaultTTL))
	}
	keys := make([]string, 0, len(c.Other))
	for k := range c.Other {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(containerKnownProperties, k) && !slices.Contains(containerSystemKeys, k) {
			o.set(k, c.Other[k])
		}
	}
	o.set("_rid", js(c.RID))
	o.set("_ts", js(c.TS))
	o.set("_self", js(c.Self))
	o.set("_etag", js(c.ETag))
	for _, k := range []string{"docs", "sprocs", "triggers", "udfs", "conflicts"} {
		o.set("_"+k, js(k+"/"))
	}
	return o.marshal(), nil
}

// UnmarshalJSON reads a container written by MarshalJSON.
func (c *Container) UnmarshalJSON(b []byte) error {
	spec, err := parseContainerBody(b)
	if err != nil {
		return err
	}
	var sys struct {
		RID  string `json:"_rid"`
		Self string `json:"_self"`
		ETag string `json:"_etag"`
		TS   int64  `json:"_ts"`
	}
	if err := json.Unmarshal(b, &sys); err != nil {
		return err
	}
	*c = Container{ContainerSpec: *spec, RID: sys.RID, Self: sys.Self, ETag: sys.ETag, TS: sys.TS}
	return nil
}

// parseContainerBody reads a container create or replace body.
func parseContainerBody(b []byte) (*ContainerSpec, *Error) {
	o, err := parseObject(b)
	if err != nil {
		return nil, badRequest("The container definition is not valid: %v.", err)
	}
	spec := &ContainerSpec{Other: map[string]json.RawMessage{}}
	id, ok := o.str("id")
	if !ok {
		return nil, badRequest("The input content is invalid because the required properties - 'id; ' - are missing")
	}
	spec.ID = id
	if raw, ok := o.get("partitionKey"); ok && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &spec.PartitionKey); err != nil {
			return nil, badRequest("The partitionKey of the container is not valid: %v.", err)
		}
	}
	if raw, ok := o.get("defaultTtl"); ok && !bytes.Equal(raw, []byte("null")) {
		n, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || n != math.Trunc(n) {
			return nil, badRequest("The defaultTtl of the container must be a whole number of seconds, or -1, not %s.", truncate(string(raw), 40))
		}
		v := int64(n)
		spec.DefaultTTL = &v
	}
	for _, k := range []struct {
		name string
		dst  *json.RawMessage
	}{{"indexingPolicy", &spec.IndexingPolicy}, {"uniqueKeyPolicy", &spec.UniqueKeyPolicy}, {"conflictResolutionPolicy", &spec.ConflictResolutionPolicy}} {
		if raw, ok := o.get(k.name); ok && !bytes.Equal(raw, []byte("null")) {
			if len(raw) == 0 || raw[0] != '{' {
				return nil, badRequest("The %s of the container must be a JSON object.", k.name)
			}
			*k.dst = raw
		}
	}
	for _, k := range o.keys {
		if !slices.Contains(containerKnownProperties, k) || k == "geospatialConfig" {
			if !slices.Contains(containerSystemKeys, k) {
				spec.Other[k] = o.vals[k]
			}
		}
	}
	return spec, nil
}

// validate checks a spec and fills in its defaults.
func (s *ContainerSpec) validate() *Error {
	if err := validateID(s.ID); err != nil {
		return err
	}
	if len(s.PartitionKey.Paths) == 0 {
		return badRequest("A container needs a partition key: give partitionKey.paths, for example [\"/id\"] (Lapis does not serve containers without one).")
	}
	if err := s.PartitionKey.normalize(); err != nil {
		return err
	}
	if s.DefaultTTL != nil && (*s.DefaultTTL == 0 || *s.DefaultTTL < -1 || *s.DefaultTTL > math.MaxInt32) {
		return badRequest("The value of defaultTtl is not valid: it must be -1 (time to live on, no default) or a number of seconds from 1 to %d; leave it out to turn time to live off.", math.MaxInt32)
	}
	if _, err := uniqueKeys(s.UniqueKeyPolicy); err != nil {
		return err
	}
	return nil
}

// uniqueKeys reads a unique key policy: each unique key is a list of paths.
func uniqueKeys(policy json.RawMessage) ([][]string, *Error) {
	if len(policy) == 0 {
		return nil, nil
	}
	var p struct {
		UniqueKeys []struct {
			Paths []string `json:"paths"`
		} `json:"uniqueKeys"`
	}
	if err := json.Unmarshal(policy, &p); err != nil {
		return nil, badRequest("The uniqueKeyPolicy of the container is not valid: %v.", err)
	}
	var out [][]string
	for _, k := range p.UniqueKeys {
		if len(k.Paths) == 0 {
			return nil, badRequest("A unique key of the uniqueKeyPolicy has no paths.")
		}
		for _, path := range k.Paths {
			if _, err := parsePKPath(path); err != nil {
				return nil, badRequest("The unique key path '%s' is not valid: a path is /property or /nested/property.", path)
			}
		}
		out = append(out, k.Paths)
	}
	return out, nil
}
