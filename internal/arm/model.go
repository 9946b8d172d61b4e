package arm

import (
	"encoding/json"
	"time"
)

// Resource is the ARM JSON shape of a resource or resource group.
type Resource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location,omitempty"`
	Kind       string            `json:"kind,omitempty"`
	SKU        *SKU              `json:"sku,omitempty"`
	ManagedBy  string            `json:"managedBy,omitempty"`
	Identity   json.RawMessage   `json:"identity,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties map[string]any    `json:"properties"`
	SystemData *SystemData       `json:"systemData,omitempty"`
}

// SKU is a resource's sku.
type SKU struct {
	Name     string `json:"name"`
	Tier     string `json:"tier,omitempty"`
	Size     string `json:"size,omitempty"`
	Family   string `json:"family,omitempty"`
	Capacity *int   `json:"capacity,omitempty"`
}

// SystemData is ARM's creation and modification record.
type SystemData struct {
	CreatedBy          string    `json:"createdBy,omitempty"`
	CreatedByType      string    `json:"createdByType,omitempty"`
	CreatedAt          time.Time `json:"createdAt"`
	LastModifiedBy     string    `json:"lastModifiedBy,omitempty"`
	LastModifiedByType string    `json:"lastModifiedByType,omitempty"`
	LastModifiedAt     time.Time `json:"lastModifiedAt"`
}

// Record is what the store keeps for a resource: its public shape plus
// secrets (such as storage account keys) that GET never returns.
type Record struct {
	Resource
	Secrets map[string]string `json:"secrets,omitempty"`
	// Revision is the store revision the record was read at (not stored).
	Revision uint64 `json:"-"`
}

// Clone returns a deep copy, so a type's Prepare can change it freely.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic("arm: record does not marshal: " + err.Error())
	}
	var c Record
	if err := json.Unmarshal(b, &c); err != nil {
		panic("arm: record does not unmarshal: " + err.Error())
	}
	c.Revision = r.Revision
	return &c
}

// Public returns the resource as GET serves it: a copy whose top-level
// properties a Viewer may add to without touching the record.
func (r *Record) Public() *Resource {
	c := r.Resource
	c.Properties = make(map[string]any, len(r.Properties)+1)
	for k, v := range r.Properties {
		c.Properties[k] = v
	}
	return &c
}

// ProvisioningSucceeded is the provisioningState of a resource that exists.
const ProvisioningSucceeded = "Succeeded"
