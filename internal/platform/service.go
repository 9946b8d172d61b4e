package platform

import "github.com/lapisdev/lapis/internal/service"

// serviceSpec ties a service constructor to its port.
type serviceSpec struct {
	name string
	port func(Ports) int
	new  func(service.Env) (service.Service, error)
}

// services lists every data-plane service, in start order.
var services []serviceSpec
