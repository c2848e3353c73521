package supervise

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

func queued(kind, name string) *unit {
	if kind == "job" {
		j := &config.Job{Unit: config.Unit{Name: name}}
		return &unit{cfg: &j.Unit, kind: &jobUnit{cfg: j}}
	}
	p := &config.Proc{Unit: config.Unit{Name: name}}
	return &unit{cfg: &p.Unit, kind: &procUnit{cfg: p}}
}

// drain pops the queue empty and names what came out, in order.
func drain(q *queue) []string {
	var out []string
	for q.Len() > 0 {
		u := heap.Pop(q).(*unit)
		out = append(out, fmt.Sprintf("%s %s@%d", u.kind.journalKind(), u.cfg.Name, u.wakeAt.Sub(epoch)/time.Second))
	}
	return out
}

func TestQueueOrder(t *testing.T) {
	var q queue
	at := func(s int) time.Time { return epoch.Add(time.Duration(s) * time.Second) }
	for _, e := range []struct {
		kind, name string
		at         int
	}{{"proc", "a", 5}, {"job", "z", 5}, {"job", "b", 5}, {"job", "early", 1}, {"proc", "late", 9}} {
		q.set(queued(e.kind, e.name), at(e.at))
	}
	want := []string{"job early@1", "job b@5", "job z@5", "proc a@5", "proc late@9"}
	if diff := cmp.Diff(want, drain(&q)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestQueueSetMovesAndRemoves(t *testing.T) {
	var q queue
	at := func(s int) time.Time { return epoch.Add(time.Duration(s) * time.Second) }
	a, b, c := queued("job", "a"), queued("job", "b"), queued("job", "c")
	q.set(a, at(1))
	q.set(b, at(2))
	q.set(c, at(3))
	q.set(a, at(4))                        // later
	q.set(c, at(0))                        // earlier
	q.set(b, time.Time{})                  // out
	q.set(b, time.Time{})                  // out again: nothing
	q.set(queued("job", "d"), time.Time{}) // never in: nothing
	if b.qi != 0 || !b.wakeAt.IsZero() {
		t.Errorf("a removed unit keeps index %d, time %v", b.qi, b.wakeAt)
	}
	if diff := cmp.Diff([]string{"job c@0", "job a@4"}, drain(&q)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestQueueManyAtOneInstant(t *testing.T) {
	var q queue
	rnd := rand.New(rand.NewPCG(1, 1))
	var want []string
	for i := range 1000 {
		want = append(want, fmt.Sprintf("job j%04d@7", i))
	}
	for _, i := range rnd.Perm(1000) {
		q.set(queued("job", fmt.Sprintf("j%04d", i)), epoch.Add(7*time.Second))
	}
	if diff := cmp.Diff(want, drain(&q)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// A job removed by a reload leaves the queue and never fires again; one
// that stays keeps its place. (verifyQueue also checks after every event
// that the queue holds only units of the config.)
func TestQueueAfterReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: 100 * time.Millisecond} }}
		gone := &config.Job{Unit: settings("gone", "gone"), Schedules: []config.Schedule{sched(t, "schedule", "every 1s")}}
		kept := &config.Job{Unit: settings("kept", "kept"), Schedules: []config.Schedule{sched(t, "schedule", "every 2s")}}
		ss := start(t, host, cfgOf([]*config.Job{gone, kept}, nil), Options{})
		ss.until(2.5)
		if _, err := ss.s.Reload(cfgOf([]*config.Job{kept}, nil)); err != nil {
			t.Fatal(err)
		}
		ss.until(6.5)
		var queue []string
		ss.s.call(func(time.Time) error {
			for _, u := range ss.s.queue {
				queue = append(queue, u.cfg.Name)
			}
			return nil
		})
		ss.stop()
		want := []string{"gone@1", "gone@2", "kept@2", "kept@4", "kept@6"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"kept"}, queue); diff != "" {
			t.Errorf("queue (-want +got):\n%s", diff)
		}
	})
}

// An event looks at the units it concerns, not at every unit: with 2,000
// idle jobs loaded, each fire of a busy job refreshes a handful of units.
// The load's source events reach the journal in one call.
func TestEventsTouchOnlyTheirUnits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: 100 * time.Millisecond} }}
		daily := sched(t, "schedule", "0 4 * * *")
		jobs := []*config.Job{{Unit: settings("busy", "busy"), Schedules: []config.Schedule{sched(t, "schedule", "every 1s")}}}
		const idle = 2000
		for i := range idle {
			name := fmt.Sprintf("idle-%d", i)
			jobs = append(jobs, &config.Job{Unit: settings(name, name), Schedules: []config.Schedule{daily}})
		}
		var mu sync.Mutex
		var calls [][]journal.Event
		record := func(evs ...journal.Event) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, slices.Clone(evs))
		}
		ss := start(t, host, cfgOf(jobs, nil), Options{Events: record})
		mu.Lock()
		if n := len(calls[0]); n != maxHeld || calls[0][n-1].Type != journal.Source {
			t.Errorf("the first call to Events has %d events; want the first %d source events of the load", n, maxHeld)
		}
		mu.Unlock()
		refreshed := func() (n int) {
			ss.s.call(func(time.Time) error { n = ss.s.refreshed; return nil })
			return n
		}
		ss.until(1.5)
		before := refreshed()
		ss.until(11.5)
		after := refreshed()
		ss.stop()
		if got := len(host.startsOf()); got != 11 {
			t.Fatalf("busy started %d times, want 11", got)
		}
		if per := (after - before) / 10; per > 10 {
			t.Errorf("each fire of busy refreshed %d units among %d idle ones; want a few", per, idle)
		}
	})
}

// A reload's log line lists at most logNames names of each kind, and says
// how many more there are.
func TestSomeNames(t *testing.T) {
	var names []string
	for i := range logNames + 5 {
		names = append(names, fmt.Sprintf("j%d", i))
	}
	if diff := cmp.Diff(names[:3], someNames(names[:3])); diff != "" {
		t.Errorf("few names (-want +got):\n%s", diff)
	}
	got := someNames(names)
	want := append(slices.Clone(names[:logNames]), "… and 5 more")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("many names (-want +got):\n%s", diff)
	}
	if names[logNames] != fmt.Sprintf("j%d", logNames) {
		t.Errorf("someNames wrote into its argument: %q", names[logNames])
	}
}

// TestTriggerArgsAreBounded: thousands of triggers while a job runs make
// one run with max-trigger-args arguments, and the rest are journaled as
// dropped, with their count.
func TestTriggerArgsAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: 5 * time.Second} }}
		j := &config.Job{Unit: settings("work", "work"), RunOnStart: true}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Events: got.record})
		for i := range 5823 {
			if _, err := ss.s.Trigger("work", []string{fmt.Sprint(i)}, "control"); err != nil {
				t.Fatal(err)
			}
		}
		ss.until(12)
		ss.stop()
		host.mu.Lock()
		defer host.mu.Unlock()
		if len(host.starts) != 2 {
			t.Fatalf("%d starts, want the first run and one for the triggers", len(host.starts))
		}
		argv := host.starts[1].argv
		if n := len(argv) - 1; n != config.DefaultMaxTriggerArgs || argv[1] != "0" || argv[len(argv)-1] != "999" {
			t.Errorf("the triggered run has %d arguments, %q…%q; want the first 1000", n, argv[1], argv[len(argv)-1])
		}
		var dropped []journal.Event
		for _, ev := range got {
			if ev.Type == journal.Dropped {
				dropped = append(dropped, ev)
			}
		}
		if len(dropped) != 1 || dropped[0].Count != 4823 || dropped[0].Unit != "work" {
			t.Errorf("dropped events %+v, want one counting 4823", dropped)
		}
	})
}
