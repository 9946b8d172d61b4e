package timerbinding

import (
	"context"
	"time"
)

// MemFinished reports whether the in-memory state of app/fn shows occurrence occ (or a later one) finished.
func MemFinished(app, fn string, occ time.Time) bool {
	c, _, ok, _ := openMem(app, fn).getClaim(context.Background())
	return ok && c.Done && !c.Occurrence.Before(occ)
}
