package eventgridbinding

import "github.com/lapisdev/lapis/internal/functions/binding"

func init() {
	binding.Register(Trigger{})
	binding.Register(Output{})
}
