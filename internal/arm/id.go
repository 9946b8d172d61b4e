package arm

import (
	"fmt"
	"net/http"
	"strings"
)

// ID is a parsed resource id:
// /subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/{Namespace}/{Types[0]}/{Names[0]}/{Types[1]}/{Names[1]}...
type ID struct {
	Subscription  string
	ResourceGroup string
	Namespace     string
	Types         []string
	Names         []string
}

// ParseID parses a resource id. Segment keywords are matched without regard
// to case, as ARM does.
func ParseID(s string) (ID, error) {
	bad := func(why string) (ID, error) {
		return ID{}, Errorf(http.StatusBadRequest, "InvalidResourceId", "The resource id '%s' is invalid: %s.", s, why)
	}
	parts := strings.Split(strings.Trim(s, "/"), "/")
	if len(parts) < 4 || !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[2], "resourceGroups") {
		return bad("it must start with /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}")
	}
	if parts[1] == "" || parts[3] == "" {
		return bad("the subscription id and resource group name must not be empty")
	}
	id := ID{Subscription: parts[1], ResourceGroup: parts[3]}
	rest := parts[4:]
	if len(rest) == 0 {
		return id, nil
	}
	if len(rest) < 4 || !strings.EqualFold(rest[0], "providers") || len(rest)%2 != 0 {
		return bad("expected /providers/{namespace}/{type}/{name}[/{childType}/{childName}...] after the resource group")
	}
	if rest[1] == "" {
		return bad("empty provider namespace")
	}
	id.Namespace = rest[1]
	for i := 2; i < len(rest); i += 2 {
		if rest[i] == "" || rest[i+1] == "" {
			return bad("empty segment")
		}
		id.Types = append(id.Types, rest[i])
		id.Names = append(id.Names, rest[i+1])
	}
	return id, nil
}

// IsGroup reports whether the id names a resource group rather than a resource.
func (id ID) IsGroup() bool { return id.Namespace == "" }

// GroupID is the id of the resource group that holds the resource.
func (id ID) GroupID() ID { return ID{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup} }

// Name is the resource's own (last) name.
func (id ID) Name() string {
	if id.IsGroup() {
		return id.ResourceGroup
	}
	return id.Names[len(id.Names)-1]
}

// TypeName is "Namespace/type[/childType...]", the resource's "type" field.
// An extension resource's type is its own: Microsoft.EventGrid/eventSubscriptions
// for {topic id}/providers/Microsoft.EventGrid/eventSubscriptions/{name}.
func (id ID) TypeName() string {
	if id.IsGroup() {
		return "Microsoft.Resources/resourceGroups"
	}
	return id.TypeNamespace() + "/" + strings.Join(id.TypePath(), "/")
}

// extension is the index in Types of the "providers" segment of an
// extension resource's id (a resource that extends another, named by the
// other's id, /providers/, and its own namespace, type and name), or -1.
// ParseID keeps that segment as a type whose name is the namespace.
func (id ID) extension() int {
	for i := len(id.Types) - 1; i > 0; i-- {
		if strings.EqualFold(id.Types[i], "providers") {
			return i
		}
	}
	return -1
}

// Scope is the resource an extension resource extends, such as the topic of
// {topic id}/providers/Microsoft.EventGrid/eventSubscriptions/{name}.
func (id ID) Scope() (ID, bool) {
	i := id.extension()
	if i < 0 {
		return ID{}, false
	}
	s := id
	s.Types, s.Names = id.Types[:i], id.Names[:i]
	return s, true
}

// TypeNamespace is the namespace of the resource's type: the extension's
// namespace for an extension resource, otherwise Namespace.
func (id ID) TypeNamespace() string {
	if i := id.extension(); i >= 0 {
		return id.Names[i]
	}
	return id.Namespace
}

// TypePath is the resource's type path within TypeNamespace.
func (id ID) TypePath() []string {
	if i := id.extension(); i >= 0 {
		return id.Types[i+1:]
	}
	return id.Types
}

// Parent is the id of the parent resource of a child resource; an extension
// resource's parent is its scope.
func (id ID) Parent() (ID, bool) {
	if i := id.extension(); i >= 0 && i == len(id.Types)-2 {
		return id.Scope()
	}
	if len(id.Types) < 2 {
		return ID{}, false
	}
	p := id
	p.Types = id.Types[:len(id.Types)-1]
	p.Names = id.Names[:len(id.Names)-1]
	return p, true
}

// String is the canonical id, with ARM's segment casing.
func (id ID) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "/subscriptions/%s/resourceGroups/%s", id.Subscription, id.ResourceGroup)
	if id.IsGroup() {
		return b.String()
	}
	b.WriteString("/providers/")
	b.WriteString(id.Namespace)
	for i := range id.Types {
		b.WriteByte('/')
		b.WriteString(id.Types[i])
		b.WriteByte('/')
		b.WriteString(id.Names[i])
	}
	return b.String()
}

// equalFold compares two ids without regard to case.
func (id ID) equalFold(o ID) bool { return strings.EqualFold(id.String(), o.String()) }
