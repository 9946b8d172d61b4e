package schedule

import "time"

// Next returns the schedule's first occurrence strictly after after, in the schedule's Location. For a TimeSpan
// schedule that is after plus the interval. For a cron expression it follows the wall clock of the Location and
// the daylight-saving rules of the package documentation; it returns the zero Time only if no occurrence exists,
// which Parse rules out.
func (s *Schedule) Next(after time.Time) time.Time {
	if s.kind == TimeSpan {
		return after.Add(s.interval).In(s.loc)
	}
	point := !s.Interval()
	cur := after.In(s.loc) // an instant in the zone period being searched
	from := wall(cur)      // search wall times strictly after this reading
	if point {
		// Starting inside the second copy of an hour repeated by a backward transition: the matches left in it
		// are taken as run (they ran in the first copy).
		if start, _ := cur.ZoneBounds(); !start.IsZero() {
			_, off := cur.Zone()
			_, prev := start.Add(-time.Nanosecond).Zone()
			if prev > off {
				if endRepeat := wall(start).Add(time.Duration(prev-off)*time.Second - time.Nanosecond); from.Before(endRepeat) {
					from = endRepeat
				}
			}
		}
	}
	for {
		_, off := cur.Zone()
		offset := time.Duration(off) * time.Second
		_, end := cur.ZoneBounds()
		w, ok := s.nextWall(from)
		if !ok {
			return time.Time{}
		}
		t := w.Add(-offset) // the instant with this wall reading in this period
		if end.IsZero() || t.Before(end) {
			return t.In(s.loc)
		}
		// The match lies beyond this period: go on in the next one.
		next := end.In(s.loc)
		_, off2 := next.Zone()
		offset2 := time.Duration(off2) * time.Second
		switch {
		case offset2 > offset && w.Before(end.Add(offset2)):
			// Spring forward: w is in the gap [end+offset, end+offset2) of wall times that do not exist. It is
			// read with the offset before the gap, as .NET reads an invalid local time, which puts it after the
			// gap, shifted by the gap's length.
			return t.In(s.loc)
		case offset2 < offset && point:
			// Fall back, point in time: the repeated wall times [end+offset2, end+offset) had their turn in the
			// first copy; continue after them.
			from = end.Add(offset).UTC().Add(-time.Nanosecond)
		default:
			// Continue with the next period's wall times from its first instant (after a backward transition
			// an interval schedule goes through the repeated wall times again).
			from = end.Add(offset2).UTC().Add(-time.Nanosecond)
		}
		cur = next
	}
}
