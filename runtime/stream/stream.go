// Package stream fans the daemon's events out to their subscribers: the
// journal, which must have an event before the action it records is taken,
// and everything else — metrics, alerts, a status page, cluster mode —
// which must never hold up the supervisor's loop.
//
// A Stream has two kinds of subscriber. A synchronous one (Sync) is called
// by Publish itself, in the order subscribed: the journal is one, so an
// event is on disk when Publish returns. An asynchronous one (Subscribe)
// has a queue of its own, drained by a goroutine of its own; when its queue
// is full, Publish drops the event for that subscriber alone and counts it,
// and the subscriber's next delivery says how many it missed. Publish never
// waits for an asynchronous subscriber; Drain waits, for one, until it has
// handled what was queued (the alerts, before kopf's last journal line).
//
// Use:
//
//	s := stream.New()
//	s.Sync("journal", jnl.Record)
//	s.Subscribe("metrics", 1024, func(d stream.Delivery) { m.Observe(d.Event, d.Missed) })
//	sup := supervise.New(supervise.Options{Journal: s.Publish, …})
//	…
//	s.Close() // after the supervisor has stopped: drains, then returns
package stream

import (
	"sync"

	"github.com/kopf/kopf/runtime/journal"
)

// Delivery is one event for an asynchronous subscriber, and how many
// events it missed just before this one because its queue was full.
type Delivery struct {
	Event  journal.Event
	Missed int
}

// Stream is a set of subscribers to the daemon's events. Its methods are
// safe for concurrent use; subscribe before the first Publish.
type Stream struct {
	mu     sync.Mutex
	sync   []syncSub
	async  []*asyncSub
	closed bool
}

type syncSub struct {
	name string
	fn   func(...journal.Event)
}

type asyncSub struct {
	name   string
	keep   func(journal.Event) bool // nil keeps every event
	queue  chan Delivery
	missed int    // dropped since the last delivery queued; guarded by Stream.mu
	queued uint64 // deliveries queued; guarded by Stream.mu
	done   chan struct{}

	// handled counts the deliveries fn has returned from, for Drain.
	hmu     sync.Mutex
	handled uint64
	hcond   sync.Cond
}

// New returns a Stream without subscribers.
func New() *Stream { return &Stream{} }

// Sync adds a subscriber that Publish calls itself, after the synchronous
// subscribers before it, with the events of one Publish together. fn must
// return quickly: the publisher waits.
func (s *Stream) Sync(name string, fn func(...journal.Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sync = append(s.sync, syncSub{name, fn})
}

// Subscribe adds a subscriber with a queue of size events (at least 1),
// which fn is called with, in order, from a goroutine of its own.
func (s *Stream) Subscribe(name string, size int, fn func(Delivery)) {
	s.SubscribeWhere(name, size, nil, fn)
}

// SubscribeWhere is Subscribe for the events keep keeps: keep runs in
// Publish, and must be quick, but an event it drops costs the subscriber
// no wake-up (the alerts, which most jobs do not have, are one).
func (s *Stream) SubscribeWhere(name string, size int, keep func(journal.Event) bool, fn func(Delivery)) {
	a := &asyncSub{name: name, keep: keep, queue: make(chan Delivery, max(size, 1)), done: make(chan struct{})}
	a.hcond.L = &a.hmu
	go func() {
		defer close(a.done)
		for d := range a.queue {
			fn(d)
			a.hmu.Lock()
			a.handled++
			a.hcond.Broadcast()
			a.hmu.Unlock()
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.async = append(s.async, a)
}

// Publish hands evs, in order, to every subscriber: the synchronous ones
// before it returns, all in one call each, and the asynchronous ones one
// event at a time by their queues, dropping an event (and counting it) for
// those whose queue is full. After Close it does nothing.
func (s *Stream) Publish(evs ...journal.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(evs) == 0 {
		return
	}
	for _, sub := range s.sync {
		sub.fn(evs...)
	}
	for _, a := range s.async {
		for _, ev := range evs {
			if a.keep != nil && !a.keep(ev) {
				continue
			}
			select {
			case a.queue <- Delivery{Event: ev, Missed: a.missed}:
				a.missed = 0
				a.queued++
			default:
				a.missed++
			}
		}
	}
}

// Drain waits until the asynchronous subscriber name has handled every
// event queued for it before the call; it does not stop publishing, and
// the subscriber may publish meanwhile. After Close it returns at once.
func (s *Stream) Drain(name string) {
	s.mu.Lock()
	var sub *asyncSub
	for _, a := range s.async {
		if a.name == name {
			sub = a
		}
	}
	if sub == nil || s.closed {
		s.mu.Unlock()
		return
	}
	target := sub.queued
	s.mu.Unlock()
	sub.hmu.Lock()
	defer sub.hmu.Unlock()
	for sub.handled < target {
		sub.hcond.Wait()
	}
}

// Missed returns how many events the asynchronous subscriber name has
// missed since its last queued delivery.
func (s *Stream) Missed(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.async {
		if a.name == name {
			return a.missed
		}
	}
	return 0
}

// Close stops publishing and waits until every asynchronous subscriber
// has handled what its queue holds, in the order they subscribed. A
// subscriber that missed the last events gets one more Delivery, with no
// Event, that says how many.
func (s *Stream) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	async := s.async
	s.mu.Unlock()
	for _, a := range async {
		if a.missed > 0 {
			a.queue <- Delivery{Missed: a.missed} // waits for room: the subscriber drains
		}
		close(a.queue)
		<-a.done
	}
}
