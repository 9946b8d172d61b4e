package cosmosbinding

import "github.com/lapisdev/lapis/internal/functions/binding"

func init() {
	binding.Register(Trigger{})
	binding.Register(Binding{})
}
