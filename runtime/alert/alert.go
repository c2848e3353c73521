// Package alert tells the outside world when a job fails, times out,
// misses a fire, runs longer than expected, or recovers, by a job's
// `alert` settings (docs/observability.md): a webhook gets a JSON POST, a
// ping URL (healthchecks.io's convention) gets a GET at each start and
// end. It is an asynchronous subscriber of the daemon's event stream, and
// every delivery runs on a goroutine of its own with bounded retries: a
// slow or failing sink never holds up the supervisor or another sink.
// Close, at shutdown, lets the deliveries in flight end within a bound
// and journals the rest as dropped.
package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/stream"
)

// Conditions an alert is about.
const (
	Failure  = "failure"
	Timeout  = "timeout"
	Missed   = "missed"
	Overdue  = "overdue"
	Recovery = "recovery"
)

// Options are an Alerter's surroundings.
type Options struct {
	// Lookup returns a job's alert settings and title in the config
	// that runs now; nil for a job without alerts.
	Lookup func(job string) (*config.Alert, string)
	// Record journals each delivery's outcome (journal.Alert events).
	Record func(...journal.Event)
	// Send makes one HTTP request; nil sends it with a client that gives
	// up after 10 seconds.
	Send func(*http.Request) error
	// Backoff is the wait before each retry; the default retries after
	// 1s, 5s and 15s.
	Backoff  []time.Duration
	Hostname string
	// Now is the daemon's clock; nil is time.Now.
	Now func() time.Time
}

// Alerter sends the alerts its Policy decides: it feeds the Policy the
// events and the clock's time, and delivers what it answers.
type Alerter struct {
	opts     Options
	mu       sync.Mutex // guards policy and timer
	policy   *Policy
	timer    *time.Timer    // wakes Advance at the Policy's Next; nil when none
	closed   bool           // Close began: no deadline alerts any more
	followed sync.Map       // the jobs the Policy follows, for the stream's filter, which must not wait for mu
	stream   *stream.Stream // subscribed to; Close drains it

	// The deliveries in flight, which Close waits for and then journals
	// as dropped; guarded by fmu.
	fmu     sync.Mutex
	fcond   sync.Cond
	flights map[int]*flight
	nextID  int
	closing bool
	ctx     context.Context // the deliveries' requests; cancelled by Close
	cancel  context.CancelFunc
}

// flight is a delivery in flight.
type flight struct {
	unit, sink, what string
	attempt          int
}

// subscriber is the Alerter's name among the stream's subscribers.
const subscriber = "alerts"

// New returns an Alerter.
func New(opts Options) *Alerter {
	if opts.Send == nil {
		client := &http.Client{Timeout: 10 * time.Second}
		opts.Send = func(req *http.Request) error {
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	}
	if opts.Backoff == nil {
		opts.Backoff = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second}
	}
	if opts.Record == nil {
		opts.Record = func(...journal.Event) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Alerter{opts: opts, policy: NewPolicy(opts.Lookup, opts.Hostname), flights: map[int]*flight{}}
	a.fcond.L = &a.fmu
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

// Close lets the alerts of the events published so far go out: it waits
// until the Alerter has seen those events and every delivery has ended,
// or ctx is done; a delivery still in flight then is journaled dropped.
// Afterwards nothing is sent or journaled.
func (a *Alerter) Close(ctx context.Context) {
	if a.stream != nil {
		a.stream.Drain(subscriber)
	}
	a.mu.Lock()
	a.closed = true // no deadline starts an alert any more
	if a.timer != nil {
		a.timer.Stop()
	}
	a.mu.Unlock()
	wake := context.AfterFunc(ctx, func() {
		a.fmu.Lock()
		a.fcond.Broadcast()
		a.fmu.Unlock()
	})
	defer wake()
	a.fmu.Lock()
	defer a.fmu.Unlock()
	for len(a.flights) > 0 && ctx.Err() == nil {
		a.fcond.Wait()
	}
	a.closing = true
	ids := slices.Sorted(maps.Keys(a.flights))
	for _, id := range ids {
		f := a.flights[id]
		a.opts.Record(journal.Event{Type: journal.Alert, Unit: f.unit, Sink: f.sink, Reason: f.what, Action: "dropped", Count: f.attempt,
			Error: "kopf stopped before it was delivered"})
		delete(a.flights, id)
	}
	a.cancel()
}

// Subscribe makes a an asynchronous subscriber of s, for the events of
// jobs that have alerts (looked up as they are published; most jobs have
// none, and their events cost nothing more); call it before the first
// Publish.
func (a *Alerter) Subscribe(s *stream.Stream) {
	keep := func(ev journal.Event) bool {
		if ev.Kind == journal.KindProc || ev.Type == journal.Alert {
			return false
		}
		cfg, _ := a.opts.Lookup(ev.Unit)
		if cfg != nil {
			return true
		}
		// The Source event of a job the Alerter follows may say it is
		// gone; the others (a start with 100k jobs makes 100k) are not
		// its business, and would only fill its queue.
		_, followed := a.followed.Load(ev.Unit)
		return ev.Type == journal.Source && followed
	}
	a.stream = s
	s.SubscribeWhere(subscriber, 4096, keep, a.delivered)
}

// delivered takes one delivery of the stream: the events it missed just
// before, whose alerts are lost, are journaled; then its event.
func (a *Alerter) delivered(d stream.Delivery) {
	if d.Missed > 0 {
		a.opts.Record(journal.Event{Type: journal.Alert, Time: time.Now(), Sink: "alerts", Reason: "events", Action: "dropped",
			Error: fmt.Sprintf("%d events missed: the alerts' queue was full; their alerts were not sent", d.Missed)})
	}
	if d.Event.Type != "" {
		a.Observe(d.Event)
	}
}

// Observe acts on one event, at the clock's time.
func (a *Alerter) Observe(ev journal.Event) {
	a.mu.Lock()
	ds := a.policy.Observe(ev, a.opts.Now())
	if a.policy.Follows(ev.Unit) {
		a.followed.Store(ev.Unit, true)
	} else {
		a.followed.Delete(ev.Unit)
	}
	a.arm()
	a.mu.Unlock()
	a.send(ds)
}

// arm sets the timer for the Policy's next deadline; a.mu is held.
func (a *Alerter) arm() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if next := a.policy.Next(); !next.IsZero() && !a.closed {
		a.timer = time.AfterFunc(next.Sub(a.opts.Now()), a.advance)
	}
}

// advance delivers what the deadlines passed by now call for.
func (a *Alerter) advance() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	ds := a.policy.Advance(a.opts.Now())
	a.arm()
	a.mu.Unlock()
	a.send(ds)
}

// send starts each delivery.
func (a *Alerter) send(ds []Delivery) {
	for _, d := range ds {
		a.start(d.Unit, d.Sink, d.What, func() (*http.Request, error) {
			var body io.Reader
			if d.Body != nil {
				body = bytes.NewReader(d.Body)
			}
			req, err := http.NewRequestWithContext(a.ctx, d.Method, d.URL, body)
			if err == nil && d.Body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		})
	}
}

// Body is the JSON a webhook gets (docs/observability.md).
type Body struct {
	// Text is a line for people, as Slack and Mattermost show it.
	Text      string    `json:"text"`
	Unit      string    `json:"unit"`
	Title     string    `json:"title"`
	Condition string    `json:"condition"`
	Reason    string    `json:"reason"`
	Host      string    `json:"host"`
	Time      time.Time `json:"time"`
	// Of the run, when the alert is about one.
	PID      int     `json:"pid,omitempty"`
	ExitCode *int    `json:"exit_code,omitempty"`
	Signal   string  `json:"signal,omitempty"`
	Seconds  float64 `json:"seconds,omitempty"`
	// Fire is the instant of the fire a missed alert is about.
	Fire time.Time `json:"fire,omitzero"`
}

// start delivers a request on a goroutine of its own; after Close it
// does nothing.
func (a *Alerter) start(unit, sink, what string, request func() (*http.Request, error)) {
	a.fmu.Lock()
	defer a.fmu.Unlock()
	if a.closing {
		return
	}
	a.nextID++
	id := a.nextID
	a.flights[id] = &flight{unit: unit, sink: sink, what: what}
	go a.deliver(id, request)
}

// deliver sends a request, retrying after each of the backoff's waits,
// and journals the outcome, unless Close has journaled it dropped.
func (a *Alerter) deliver(id int, request func() (*http.Request, error)) {
	for attempt := 1; ; attempt++ {
		a.fmu.Lock()
		f := a.flights[id]
		if f == nil { // Close gave up on it
			a.fmu.Unlock()
			return
		}
		f.attempt = attempt
		a.fmu.Unlock()
		req, err := request()
		if err == nil {
			err = a.opts.Send(req)
		}
		ev := journal.Event{Type: journal.Alert, Unit: f.unit, Sink: f.sink, Reason: f.what, Action: "sent", Count: attempt}
		last := err == nil || attempt > len(a.opts.Backoff)
		switch {
		case err == nil:
		case last:
			ev.Action, ev.Error = "dropped", redactErr(err)
		default:
			ev.Action, ev.Error = "retry", redactErr(err)
		}
		a.fmu.Lock()
		if a.flights[id] == nil {
			a.fmu.Unlock()
			return
		}
		a.opts.Record(ev)
		if last {
			delete(a.flights, id)
			if len(a.flights) == 0 {
				a.fcond.Broadcast()
			}
			a.fmu.Unlock()
			return
		}
		a.fmu.Unlock()
		select {
		case <-time.After(a.opts.Backoff[attempt-1]):
		case <-a.ctx.Done():
		}
	}
}

func words(condition string) string {
	switch condition {
	case Failure:
		return "failed"
	case Timeout:
		return "timed out"
	case Missed:
		return "missed a fire"
	case Overdue:
		return "is overdue"
	case Recovery:
		return "recovered"
	}
	return condition
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

// redactErr words a failed delivery for the journal without its URL's
// path, query or user: a Slack webhook's path and a ping's UUID are the
// secret, and the journal is readable by whoever reads kopf's state.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + redactURL(ue.URL) + ": " + ue.Err.Error()
	}
	return err.Error()
}

// redactURL is a URL as scheme://host/…: enough to tell which sink failed,
// nothing that lets anyone else use it.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(a URL that does not parse)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
