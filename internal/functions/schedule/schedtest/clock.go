// Package schedtest provides a manual clock for tests of code that waits for times: timer schedules, retry
// delays, leases. Nothing in it sleeps for real.
//
//	clk := schedtest.NewClock(time.Date(2030, 1, 7, 0, 0, 30, 0, time.UTC))
//	env := &binding.Env{Clock: clk.Now, Alarm: clk.Until}
//	clk.Set(time.Date(2030, 1, 7, 0, 5, 0, 0, time.UTC)) // fires every alarm due by then
package schedtest

import (
	"sync"
	"time"
)

// Clock is a clock that moves only when told to. Its alarms (Until) fire when the clock is moved to or past their
// time. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	alarms []alarm
}

type alarm struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock reading now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Until returns a channel that receives the clock's time once it reads t or later; at once if it already does.
func (c *Clock) Until(t time.Time) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.now.Before(t) {
		ch <- c.now
		return ch
	}
	c.alarms = append(c.alarms, alarm{at: t, ch: ch})
	return ch
}

// Advance moves the clock forward by d and fires the alarms that are due.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	t := c.now.Add(d)
	c.mu.Unlock()
	c.Set(t)
	return t
}

// Set moves the clock to t (never backwards) and fires the alarms that are due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	kept := c.alarms[:0]
	for _, a := range c.alarms {
		if !c.now.Before(a.at) {
			a.ch <- c.now
		} else {
			kept = append(kept, a)
		}
	}
	clear(c.alarms[len(kept):])
	c.alarms = kept
}

// Pending returns the number of alarms not yet fired (alarms their callers stopped waiting for included).
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.alarms)
}
