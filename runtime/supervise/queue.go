package supervise

import (
	"container/heap"
	"fmt"
	"time"
)

// queue holds the units that need the loop at a time of their own, the
// earliest first, so that an event touches only the units it concerns: a
// tick takes the units that are due, and arm looks at the first. Among
// units due at one instant, jobs come before procs, each kind by name,
// which is the order of their starts within that instant.
//
// A unit's time is what its kind's wake says. Every change to a unit's
// state marks it (touch); the marked units' times are brought up to date
// (refresh) before the queue is read. In tests, verifyQueue checks after
// every event that no change went unmarked.
type queue []*unit

func (q queue) Len() int { return len(q) }

func (q queue) Less(i, k int) bool {
	if a, b := q[i].wakeAt, q[k].wakeAt; !a.Equal(b) {
		return a.Before(b)
	}
	return unitOrder(q[i], q[k]) < 0
}

func (q queue) Swap(i, k int) {
	q[i], q[k] = q[k], q[i]
	q[i].qi, q[k].qi = int32(i+1), int32(k+1)
}

func (q *queue) Push(x any) {
	u := x.(*unit)
	*q = append(*q, u)
	u.qi = int32(len(*q))
}

func (q *queue) Pop() any {
	old := *q
	u := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	u.qi = 0
	return u
}

// set places u at t, or takes it out for a zero t.
func (q *queue) set(u *unit, t time.Time) {
	switch {
	case t.IsZero() && u.qi > 0:
		heap.Remove(q, int(u.qi-1))
		u.wakeAt = time.Time{}
	case t.IsZero():
	case u.qi > 0:
		u.wakeAt = t
		heap.Fix(q, int(u.qi-1))
	default:
		u.wakeAt = t
		heap.Push(q, u)
	}
}

// first returns the earliest time in the queue; zero for none.
func (q queue) first() time.Time {
	if len(q) == 0 {
		return time.Time{}
	}
	return q[0].wakeAt
}

// touch marks u as changed: its time is brought up to date before the
// queue is next read.
func (s *Supervisor) touch(u *unit) {
	if !u.dirty {
		u.dirty = true
		s.dirty = append(s.dirty, u)
	}
}

// refresh brings the marked units' times up to date. A unit no longer in
// the config, and every unit once kopf is stopping, has none.
//
// The marked units are a list, not a set in a map: a map that once held
// the 100k units of a load keeps its size when emptied, and ranging over
// it costs that much at every event after.
func (s *Supervisor) refresh() {
	s.refreshed += len(s.dirty)
	for _, u := range s.dirty {
		u.dirty = false
		var t time.Time
		if !s.stopping && s.units[u.cfg.Name] == u {
			t = u.kind.wake(u)
		}
		s.queue.set(u, t)
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	if cap(s.dirty) > 1024 {
		s.dirty = nil // a load's worth, not needed again soon
	}
}

// verifyQueue makes the loop check, after every event, that each unit's
// place in the queue is what its kind's wake says: a change to a unit that
// was not touched would leave it asleep. Tests turn it on.
var verifyQueue = false

func (s *Supervisor) verify() {
	for i, u := range s.queue {
		if s.units[u.cfg.Name] != u || int(u.qi) != i+1 {
			panic(fmt.Sprintf("supervise: the queue holds %s %s at %d (index %d), which is not a unit of the config", u.kind.journalKind(), u.cfg.Name, i, u.qi-1))
		}
	}
	for _, u := range s.units {
		want := time.Time{}
		if !s.stopping {
			want = u.kind.wake(u)
		}
		if !want.Equal(u.wakeAt) || want.IsZero() != (u.qi == 0) {
			panic(fmt.Sprintf("supervise: %s %s is queued for %v (queued %v), but its wake is %v: a change to it was not touched",
				u.kind.journalKind(), u.cfg.Name, u.wakeAt, u.qi > 0, want))
		}
	}
}
