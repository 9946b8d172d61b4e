package docdb

import (
	"context"
	"time"
)

// SetClock replaces the service's clock, for tests that move time.
func (s *Service) SetClock(f func() time.Time) { s.clock.Store(&f) }

// SweepNow runs the time-to-live sweeper once and returns how many
// documents it deleted.
func (s *Service) SweepNow(ctx context.Context) (int, error) { return s.sweep(ctx, true) }

// SetOrphanAge changes how old an unused bucket must be to be removed, for
// tests; it returns the restore.
func SetOrphanAge(d time.Duration) func() {
	old := orphanAge
	orphanAge = d
	return func() { orphanAge = old }
}
