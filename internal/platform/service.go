package platform

import (
	"github.com/lapisdev/lapis/internal/docdb"
	"github.com/lapisdev/lapis/internal/eventgrid"
	"github.com/lapisdev/lapis/internal/functions/runtime"
	"github.com/lapisdev/lapis/internal/service"
	"github.com/lapisdev/lapis/internal/storage/blob"
	"github.com/lapisdev/lapis/internal/storage/queue"
)

// serviceSpec ties a service constructor to its port.
type serviceSpec struct {
	name string
	port func(*Ports) *int
	new  func(service.Env) (service.Service, error)
}

// services lists every data-plane service, in start order (they stop in
// the reverse order). The document store starts before the functions host,
// whose Cosmos DB bindings use it.
var services = []serviceSpec{
	{name: "blob", port: func(p *Ports) *int { return &p.Blob },
		new: func(e service.Env) (service.Service, error) { return blob.New(e) }},
	{name: "queue", port: func(p *Ports) *int { return &p.Queue },
		new: func(e service.Env) (service.Service, error) { return queue.New(e) }},
	{name: docdb.ServiceName, port: func(p *Ports) *int { return &p.Cosmos },
		new: func(e service.Env) (service.Service, error) { return docdb.New(e) }},
	{name: "functions", port: func(p *Ports) *int { return &p.Functions },
		new: func(e service.Env) (service.Service, error) { return runtime.New(e) }},
	{name: "eventgrid", port: func(p *Ports) *int { return &p.EventGrid },
		new: func(e service.Env) (service.Service, error) { return eventgrid.New(e) }},
}
