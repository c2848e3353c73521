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
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
}

// Alerter watches the events and sends the alerts.
type Alerter struct {
	opts     Options
	mu       sync.Mutex
	jobs     map[string]*job
	followed sync.Map       // the names in jobs, for the stream's filter, which must not wait for mu
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

// job is what the Alerter follows of one job.
type job struct {
	failing bool                      // its last run failed: its next success is a recovery
	due     map[time.Time]*time.Timer // fires not started yet, with the timer that calls them missed
	overdue map[int]*time.Timer       // runs going on, by pid, with the timer that calls them overdue
	started map[int]time.Time         // when each run going on started
}

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
	a := &Alerter{opts: opts, jobs: map[string]*job{}, flights: map[int]*flight{}}
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
	for name := range a.jobs {
		a.forget(name) // no timer starts an alert any more
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

func (a *Alerter) job(name string) *job {
	j := a.jobs[name]
	if j == nil {
		j = &job{due: map[time.Time]*time.Timer{}, overdue: map[int]*time.Timer{}, started: map[int]time.Time{}}
		a.jobs[name] = j
		a.followed.Store(name, true)
	}
	return j
}

// Observe acts on one event.
func (a *Alerter) Observe(ev journal.Event) {
	if ev.Kind == journal.KindProc || ev.Type == journal.Alert {
		return
	}
	cfg, title := a.opts.Lookup(ev.Unit)
	a.mu.Lock()
	defer a.mu.Unlock()
	if cfg == nil {
		a.forget(ev.Unit)
		return
	}
	j := a.job(ev.Unit)
	switch ev.Type {
	case journal.Fired:
		// Missed unless a run starts within the grace after the fire was
		// due (its jittered start).
		due := ev.Start
		if due.IsZero() {
			due = ev.At
		}
		at, unit := ev.At, ev.Unit
		if _, ok := j.due[at]; !ok {
			j.due[at] = time.AfterFunc(time.Until(due.Add(cfg.Grace)), func() { a.missed(unit, at, "no run started within the grace of "+cfg.Grace.String()) })
		}
	case journal.Skipped:
		a.alert(cfg, title, ev.Unit, Missed, fmt.Sprintf("the fire at %s started no run: %s", ev.At.Format(time.RFC3339), ev.Reason), ev)
	case journal.Missed:
		a.alert(cfg, title, ev.Unit, Missed, fmt.Sprintf("the fire at %s did not run: %s", ev.At.Format(time.RFC3339), ev.Reason), ev)
	case journal.Spawned:
		for at, t := range j.due {
			if !at.After(ev.Time) {
				t.Stop()
				delete(j.due, at)
			}
		}
		j.started[ev.PID] = ev.Time
		if cfg.ExpectDuration > 0 {
			unit, pid, expect := ev.Unit, ev.PID, cfg.ExpectDuration
			j.overdue[pid] = time.AfterFunc(time.Until(ev.Time.Add(expect)), func() {
				a.overdueRun(unit, pid, expect)
			})
		}
		a.ping(cfg, ev.Unit, "/start", "start")
	case journal.SpawnError:
		j.failing = true
		a.alert(cfg, title, ev.Unit, Failure, "cannot start: "+ev.Error, ev)
		a.ping(cfg, ev.Unit, "/fail", Failure)
	case journal.Exited:
		if t := j.overdue[ev.PID]; t != nil {
			t.Stop()
			delete(j.overdue, ev.PID)
		}
		delete(j.started, ev.PID)
		switch {
		case ev.StoppedBy == "timeout":
			j.failing = true
			a.alert(cfg, title, ev.Unit, Timeout, "stopped at its timeout after "+seconds(ev.Seconds), ev)
			a.ping(cfg, ev.Unit, "/fail", Timeout)
		case ev.StoppedBy != "":
			// kopf stopped it (a reload, kopf stop, kopf stopping): not
			// the job failing.
		case ev.Code != nil && *ev.Code == 0:
			if j.failing {
				j.failing = false
				a.alert(cfg, title, ev.Unit, Recovery, "succeeded after failing", ev)
			}
			a.ping(cfg, ev.Unit, "", "success")
		default:
			j.failing = true
			how := "killed by " + ev.Signal
			path := "/fail"
			if ev.Code != nil {
				how, path = fmt.Sprintf("exit %d", *ev.Code), fmt.Sprintf("/%d", *ev.Code)
			}
			a.alert(cfg, title, ev.Unit, Failure, how+" after "+seconds(ev.Seconds), ev)
			a.ping(cfg, ev.Unit, path, Failure)
		}
	case journal.Source:
		if ev.Op == "remove" {
			a.forget(ev.Unit)
		}
	}
}

// forget stops following a job that has no alerts (any more).
func (a *Alerter) forget(unit string) {
	j := a.jobs[unit]
	if j == nil {
		return
	}
	for _, t := range j.due {
		t.Stop()
	}
	for _, t := range j.overdue {
		t.Stop()
	}
	delete(a.jobs, unit)
	a.followed.Delete(unit)
}

// missed is a fire's grace running out before a run started.
func (a *Alerter) missed(unit string, at time.Time, why string) {
	cfg, title := a.opts.Lookup(unit)
	a.mu.Lock()
	defer a.mu.Unlock()
	if j := a.jobs[unit]; j != nil {
		delete(j.due, at)
	}
	if cfg != nil {
		a.alert(cfg, title, unit, Missed, fmt.Sprintf("the fire at %s: %s", at.Format(time.RFC3339), why), journal.Event{Unit: unit, At: at})
	}
}

// overdueRun is a run going on past its expect-duration.
func (a *Alerter) overdueRun(unit string, pid int, expect time.Duration) {
	cfg, title := a.opts.Lookup(unit)
	a.mu.Lock()
	defer a.mu.Unlock()
	j := a.jobs[unit]
	if j == nil || cfg == nil {
		return
	}
	delete(j.overdue, pid)
	a.alert(cfg, title, unit, Overdue, fmt.Sprintf("pid %d still runs after its expect-duration of %s", pid, expect), journal.Event{Unit: unit, PID: pid, Time: j.started[pid]})
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

// alert sends one webhook alert, when the job has a webhook.
func (a *Alerter) alert(cfg *config.Alert, title, unit, condition, reason string, ev journal.Event) {
	if cfg.Webhook == "" {
		return
	}
	b := Body{
		Text: fmt.Sprintf("kopf: %s %s on %s: %s", title, words(condition), a.opts.Hostname, reason),
		Unit: unit, Title: title, Condition: condition, Reason: reason, Host: a.opts.Hostname, Time: time.Now(),
		PID: ev.PID, ExitCode: ev.Code, Signal: ev.Signal, Seconds: ev.Seconds, Fire: ev.At,
	}
	body, _ := json.Marshal(b)
	url := cfg.Webhook
	a.start(unit, "webhook", condition, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(a.ctx, http.MethodPost, url, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
}

// ping GETs the job's ping URL with path added ("/start", "", "/fail",
// "/3"), healthchecks.io's convention.
func (a *Alerter) ping(cfg *config.Alert, unit, path, what string) {
	if cfg.Ping == "" {
		return
	}
	url := strings.TrimSuffix(cfg.Ping, "/") + path
	a.start(unit, "ping", what, func() (*http.Request, error) {
		return http.NewRequestWithContext(a.ctx, http.MethodGet, url, nil)
	})
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
