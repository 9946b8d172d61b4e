package eventgrid

import "time"

// SetJanitorEvery makes the expiry sweep run every d, for tests; it
// applies to services started afterwards.
func SetJanitorEvery(d time.Duration) func() {
	old := janitorEvery
	janitorEvery = d
	return func() { janitorEvery = old }
}
