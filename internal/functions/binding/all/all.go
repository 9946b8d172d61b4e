// Package all links every binding type into the binary: the runtime and `lapis func start` import it, so that
// neither they nor the host name a binding type. A new binding package adds its blank import here.
package all

import (
	_ "github.com/lapisdev/lapis/internal/functions/binding/blobbinding"      // blobTrigger, blob
	_ "github.com/lapisdev/lapis/internal/functions/binding/cosmosbinding"    // cosmosDBTrigger, cosmosDB
	_ "github.com/lapisdev/lapis/internal/functions/binding/eventgridbinding" // eventGridTrigger, eventGrid
	_ "github.com/lapisdev/lapis/internal/functions/binding/httpbinding"      // httpTrigger, http
	_ "github.com/lapisdev/lapis/internal/functions/binding/queuebinding"
	_ "github.com/lapisdev/lapis/internal/functions/binding/timerbinding" // timerTrigger
)
