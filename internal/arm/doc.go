// Package arm is Lapis's resource manager: the registry of resource types,
// the store of subscriptions, resource groups and resources, the
// Azure-Resource-Manager-shaped REST API that manages them, and the resource
// events that every change raises.
//
// Services own their resource types. A service registers a [ResourceType]
// (its namespace, type name, API versions, validation and defaults, and
// optionally actions such as listKeys) and the manager serves it on the
// generic provider path:
//
//	/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{childType}/{childName}...]
//
// with ARM's JSON shapes, error bodies, status codes, api-version rules and
// case-insensitive names. State lives in one JetStream key-value bucket, so a
// restart, or another Lapis node on the same NATS cluster, sees the same
// resources. Every successful write or delete publishes a
// Microsoft.Resources.ResourceWriteSuccess or ResourceDeleteSuccess event on
// the substrate's events stream for Event Grid to route.
package arm
