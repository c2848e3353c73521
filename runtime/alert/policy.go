package alert

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

// Policy decides which alerts the jobs' events call for: a pure decision
// object, as runtime/job is, fed (event, now) and answering Deliveries;
// no clock, no lock, no network. Its deadlines — a fire's grace, a run's
// expect-duration — come due by Advance, at the time Next says.
type Policy struct {
	lookup   func(job string) (*config.Alert, string)
	hostname string
	jobs     map[string]*jobState
}

// jobState is what the Policy follows of one job.
type jobState struct {
	failing bool                    // its last run failed: its next success is a recovery
	due     map[time.Time]time.Time // fires not started yet: when each is missed
	overdue map[int]time.Time       // runs going on, by pid: when each is overdue
	expect  map[int]time.Duration   // their expect-duration
	started map[int]time.Time       // when each run going on started
}

// Delivery is one request an alert makes: a webhook's POST or a ping's
// GET.
type Delivery struct {
	Unit string
	Sink string // "webhook" or "ping"
	What string // the condition, or the ping's word ("start", "success", …)
	// Method, URL and Body are the request.
	Method, URL string
	Body        []byte
}

// NewPolicy returns a Policy that finds a job's alert settings and title
// with lookup (nil settings: no alerts), and names hostname in them.
func NewPolicy(lookup func(job string) (*config.Alert, string), hostname string) *Policy {
	return &Policy{lookup: lookup, hostname: hostname, jobs: map[string]*jobState{}}
}

// Follows reports whether the Policy follows a job: it has alerts, and
// its last events were seen.
func (p *Policy) Follows(job string) bool { return p.jobs[job] != nil }

func (p *Policy) state(name string) *jobState {
	j := p.jobs[name]
	if j == nil {
		j = &jobState{due: map[time.Time]time.Time{}, overdue: map[int]time.Time{}, expect: map[int]time.Duration{}, started: map[int]time.Time{}}
		p.jobs[name] = j
	}
	return j
}

// Observe takes one event at now and says what to deliver for it.
func (p *Policy) Observe(ev journal.Event, now time.Time) []Delivery {
	if ev.Kind == journal.KindProc || ev.Type == journal.Alert {
		return nil
	}
	cfg, title := p.lookup(ev.Unit)
	if cfg == nil || ev.Type == journal.Source && ev.Op == journal.OpRemove {
		delete(p.jobs, ev.Unit)
		return nil
	}
	j := p.state(ev.Unit)
	say := sayer{p: p, cfg: cfg, title: title, unit: ev.Unit, now: now}
	switch ev.Type {
	case journal.Fired:
		// Missed unless a run starts within the grace after the fire was
		// due (its jittered start).
		due := ev.Start
		if due.IsZero() {
			due = ev.At
		}
		if _, ok := j.due[ev.At]; !ok {
			j.due[ev.At] = due.Add(cfg.Grace)
		}
	case journal.Skipped:
		say.alert(Missed, fmt.Sprintf("the fire at %s started no run: %s", ev.At.Format(time.RFC3339), ev.Reason), ev)
	case journal.Missed:
		say.alert(Missed, fmt.Sprintf("the fire at %s did not run: %s", ev.At.Format(time.RFC3339), ev.Reason), ev)
	case journal.Spawned:
		for at := range j.due {
			if !at.After(ev.Time) {
				delete(j.due, at)
			}
		}
		j.started[ev.PID] = ev.Time
		if cfg.ExpectDuration > 0 {
			j.overdue[ev.PID], j.expect[ev.PID] = ev.Time.Add(cfg.ExpectDuration), cfg.ExpectDuration
		}
		say.ping("/start", "start")
	case journal.SpawnError:
		j.failing = true
		say.alert(Failure, "cannot start: "+ev.Error, ev)
		say.ping("/fail", Failure)
	case journal.Exited:
		delete(j.overdue, ev.PID)
		delete(j.expect, ev.PID)
		delete(j.started, ev.PID)
		p.exited(j, &say, ev)
	}
	return say.out
}

// exited is a run's end: a failure, a timeout, a recovery, or nothing to
// say when kopf stopped it itself (a reload, kopf stop, kopf stopping).
func (p *Policy) exited(j *jobState, say *sayer, ev journal.Event) {
	switch {
	case ev.StoppedBy == journal.StoppedTimeout:
		j.failing = true
		say.alert(Timeout, "stopped at its timeout after "+seconds(ev.Seconds), ev)
		say.ping("/fail", Timeout)
	case ev.StoppedBy != "":
	case ev.Code != nil && *ev.Code == 0:
		if j.failing {
			j.failing = false
			say.alert(Recovery, "succeeded after failing", ev)
		}
		say.ping("", "success")
	default:
		j.failing = true
		how, path := "killed by "+ev.Signal, "/fail"
		if ev.Code != nil {
			how, path = fmt.Sprintf("exit %d", *ev.Code), fmt.Sprintf("/%d", *ev.Code)
		}
		say.alert(Failure, how+" after "+seconds(ev.Seconds), ev)
		say.ping(path, Failure)
	}
}

// Advance says what the deadlines passed by now call for: a fire whose
// grace ran out before a run started (missed), a run past its
// expect-duration (overdue).
func (p *Policy) Advance(now time.Time) []Delivery {
	var out []Delivery
	for unit, j := range p.jobs {
		cfg, title := p.lookup(unit)
		say := sayer{p: p, cfg: cfg, title: title, unit: unit, now: now}
		for at, deadline := range j.due {
			if deadline.After(now) {
				continue
			}
			delete(j.due, at)
			if cfg != nil {
				say.alert(Missed, fmt.Sprintf("the fire at %s: no run started within the grace of %s", at.Format(time.RFC3339), cfg.Grace), journal.Event{Unit: unit, At: at})
			}
		}
		for pid, deadline := range j.overdue {
			if deadline.After(now) {
				continue
			}
			expect := j.expect[pid]
			delete(j.overdue, pid)
			delete(j.expect, pid)
			if cfg != nil {
				say.alert(Overdue, fmt.Sprintf("pid %d still runs after its expect-duration of %s", pid, expect), journal.Event{Unit: unit, PID: pid, Time: j.started[pid]})
			}
		}
		out = append(out, say.out...)
	}
	return out
}

// Next is the earliest deadline Advance waits for; zero for none.
func (p *Policy) Next() time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, j := range p.jobs {
		for _, t := range j.due {
			earlier(t)
		}
		for _, t := range j.overdue {
			earlier(t)
		}
	}
	return next
}

// sayer collects the deliveries of one job's alerts and pings.
type sayer struct {
	p     *Policy
	cfg   *config.Alert
	title string
	unit  string
	now   time.Time
	out   []Delivery
}

// alert is one webhook alert, when the job has a webhook.
func (s *sayer) alert(condition, reason string, ev journal.Event) {
	if s.cfg.Webhook == "" {
		return
	}
	b := Body{
		Text: fmt.Sprintf("kopf: %s %s on %s: %s", s.title, words(condition), s.p.hostname, reason),
		Unit: s.unit, Title: s.title, Condition: condition, Reason: reason, Host: s.p.hostname, Time: s.now,
		PID: ev.PID, ExitCode: ev.Code, Signal: ev.Signal, Seconds: ev.Seconds, Fire: ev.At,
	}
	body, _ := json.Marshal(b)
	s.out = append(s.out, Delivery{Unit: s.unit, Sink: "webhook", What: condition, Method: http.MethodPost, URL: s.cfg.Webhook, Body: body})
}

// ping GETs the job's ping URL with path added ("/start", "", "/fail",
// "/3"), healthchecks.io's convention.
func (s *sayer) ping(path, what string) {
	if s.cfg.Ping == "" {
		return
	}
	s.out = append(s.out, Delivery{Unit: s.unit, Sink: "ping", What: what, Method: http.MethodGet, URL: strings.TrimSuffix(s.cfg.Ping, "/") + path})
}
