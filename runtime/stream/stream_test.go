package stream

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/journal"
)

func ev(i int) journal.Event { return journal.Event{Type: journal.Fired, Unit: fmt.Sprint(i)} }

// Synchronous subscribers have an event when Publish returns, in the order
// they subscribed.
func TestSync(t *testing.T) {
	s := New()
	var got []string
	s.Sync("journal", func(evs ...journal.Event) { got = append(got, "journal "+evs[0].Unit) })
	s.Sync("log", func(evs ...journal.Event) { got = append(got, "log "+evs[0].Unit) })
	s.Publish(ev(1))
	if diff := cmp.Diff([]string{"journal 1", "log 1"}, got); diff != "" {
		t.Errorf("after Publish (-want +got):\n%s", diff)
	}
	s.Close()
	s.Publish(ev(2))
	if len(got) != 2 {
		t.Errorf("Publish after Close delivered %q", got[2:])
	}
}

// A subscriber that is stuck never holds up Publish or the other
// subscribers; its queue drops what does not fit, and its next delivery
// says how many it missed.
func TestStuckSubscriber(t *testing.T) {
	s := New()
	var mu sync.Mutex
	var fast []string
	var slow []Delivery
	release := make(chan struct{})
	s.Subscribe("stuck", 4, func(d Delivery) {
		if d.Event.Unit == "1" {
			<-release
		}
		mu.Lock()
		slow = append(slow, d)
		mu.Unlock()
	})
	s.Subscribe("fast", 200, func(d Delivery) {
		mu.Lock()
		fast = append(fast, d.Event.Unit)
		mu.Unlock()
	})
	published := make(chan struct{})
	go func() {
		defer close(published)
		s.Publish(ev(1))
		// Let the stuck subscriber take event 1 and block on it.
		for deadline := time.Now().Add(10 * time.Second); s.waiting("stuck") > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		for i := 2; i <= 100; i++ {
			s.Publish(ev(i))
		}
	}()
	select {
	case <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish waited for a stuck subscriber")
	}
	if n := s.Missed("stuck"); n != 95 {
		t.Errorf("Missed(stuck) = %d; want 95: events 2-5 fill its queue of 4, 6-100 do not fit", n)
	}
	close(release)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(slow)
		mu.Unlock()
		if n == 5 {
			break
		}
	}
	s.Publish(ev(101))
	s.Close()
	var got []string
	for _, d := range slow {
		got = append(got, fmt.Sprintf("%s missed %d", d.Event.Unit, d.Missed))
	}
	want := []string{"1 missed 0", "2 missed 0", "3 missed 0", "4 missed 0", "5 missed 0", "101 missed 95"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the stuck subscriber's deliveries (-want +got):\n%s", diff)
	}
	if len(fast) != 101 || fast[100] != "101" {
		t.Errorf("the other subscriber got %d events; want all 101, in order", len(fast))
	}
}

// Events missed at the end are said at Close.
func TestMissedAtClose(t *testing.T) {
	s := New()
	release := make(chan struct{})
	var got []Delivery
	s.Subscribe("slow", 1, func(d Delivery) {
		if d.Event.Unit == "1" {
			<-release
		}
		got = append(got, d)
	})
	s.Publish(ev(1))
	for deadline := time.Now().Add(10 * time.Second); s.waiting("slow") > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	s.Publish(ev(2)) // queued
	s.Publish(ev(3)) // missed
	s.Publish(ev(4)) // missed
	close(release)
	s.Close()
	if len(got) != 3 || got[2].Event.Type != "" || got[2].Missed != 2 {
		t.Errorf("deliveries %+v; want 1, 2, then one that says 2 were missed", got)
	}
}

// waiting is how many deliveries name's queue holds.
func (s *Stream) waiting(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.async {
		if a.name == name {
			return len(a.queue)
		}
	}
	return 0
}

// The events of one Publish reach a synchronous subscriber in one call,
// and an asynchronous one one at a time, in order.
func TestPublishSeveral(t *testing.T) {
	s := New()
	var calls [][]string
	s.Sync("journal", func(evs ...journal.Event) {
		var units []string
		for _, e := range evs {
			units = append(units, e.Unit)
		}
		calls = append(calls, units)
	})
	var async []string
	s.Subscribe("metrics", 10, func(d Delivery) { async = append(async, d.Event.Unit) })
	s.Publish(ev(1), ev(2), ev(3))
	s.Publish(ev(4))
	s.Close()
	if diff := cmp.Diff([][]string{{"1", "2", "3"}, {"4"}}, calls); diff != "" {
		t.Errorf("synchronous calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4"}, async); diff != "" {
		t.Errorf("asynchronous deliveries (-want +got):\n%s", diff)
	}
}

// TestSubscribeWhere: a subscriber gets only the events its filter keeps,
// in order.
func TestSubscribeWhere(t *testing.T) {
	s := New()
	var got []string
	s.SubscribeWhere("odd", 10, func(ev journal.Event) bool { return ev.PID%2 == 1 }, func(d Delivery) {
		if d.Event.Type != "" {
			got = append(got, d.Event.Unit)
		}
	})
	for i := range 6 {
		s.Publish(journal.Event{Type: journal.Spawned, Unit: fmt.Sprint("u", i), PID: i})
	}
	s.Close()
	if fmt.Sprint(got) != "[u1 u3 u5]" {
		t.Errorf("got %v, want the odd pids' events only", got)
	}
}

// Drain returns once the subscriber has handled what was queued before
// the call, even while the subscriber publishes more; it returns at once
// for a name nobody subscribed and after Close.
func TestDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New()
		gate := make(chan struct{})
		var mu sync.Mutex
		var got []string
		s.Subscribe("slow", 8, func(d Delivery) {
			<-gate
			mu.Lock()
			got = append(got, d.Event.Unit)
			mu.Unlock()
			if d.Event.Unit == "2" {
				s.Publish(journal.Event{Type: journal.Alert, Unit: "from the subscriber"})
			}
		})
		s.Publish(ev(1), ev(2), ev(3))
		var drained atomic.Bool
		go func() {
			s.Drain("slow")
			drained.Store(true)
		}()
		synctest.Wait()
		if drained.Load() {
			t.Fatal("Drain returned before the subscriber handled anything")
		}
		close(gate)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if !drained.Load() || len(got) < 3 || got[2] != "3" {
			t.Errorf("after Drain: drained %v, handled %q", drained.Load(), got)
		}
		s.Drain("nobody")
		s.Close()
		s.Drain("slow")
	})
}
