package supervise

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/health"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/ports"
	"github.com/kopf/kopf/runtime/proc"
)

// allocatePorts gives a run its ports and puts them into spec: each
// {{ports[NAME]}} of the command and of env values replaced, and
// KOPF_PORT_NAME exported.
func (s *Supervisor) allocatePorts(r *running, u *config.Unit, spec *proc.Spec) error {
	got, err := s.ports.Allocate(u.Ports)
	if err != nil {
		return fmt.Errorf("cannot allocate ports %s: %w", strings.Join(u.Ports, ", "), err)
	}
	expand := func(list []string) ([]string, error) {
		out := make([]string, len(list))
		for i, a := range list {
			if out[i], err = ports.Expand(a, got); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	argv, err := expand(spec.Argv)
	if err == nil {
		var env []string
		env, err = expand(u.Env)
		spec.Env = append(append(slices.Clip(s.opts.Environ), env...), ports.Env(got)...)
	}
	if err != nil {
		s.ports.Release(got)
		return err
	}
	spec.Argv, r.ports = argv, got
	return nil
}

// checks is a running proc's health checks: the tracker that decides, and
// the check in flight.
type checks struct {
	t       *health.Tracker
	url     string   // for HTTP checks, with the run's ports
	command []string // for command checks, with the run's ports
	timeout time.Duration
	running bool // a check is in flight
	snoozed bool
	last    *control.Check
	dir     string
	env     []string
	body    string // the body an HTTP check wants; "" for any
	// What the journal last said of the checks, and how many checks
	// came since.
	failing   bool
	journaled journal.Action
	since     int
}

// startChecks sets a proc's run up for health checks.
func (s *Supervisor) startChecks(r *running, p *config.Proc, now time.Time) {
	h := p.Health
	if h == nil {
		return
	}
	c := &checks{
		t: health.NewTracker(health.Config{
			Interval: h.Interval, Timeout: h.Timeout, InitialInterval: h.InitialInterval,
			MaxConsecutiveFailures: h.MaxConsecutiveFailures, MinConsecutiveSuccesses: h.MinConsecutiveSuccesses,
		}, now),
		timeout: h.Timeout,
		dir:     s.dir(p.Dir),
		env:     append(append(slices.Clip(s.opts.Environ), p.Env...), ports.Env(r.ports)...),
	}
	if c.dir == "" {
		c.dir = s.opts.Dir
	}
	var err error
	if h.HTTP != "" {
		c.url, err = ports.Expand(h.HTTP, r.ports)
		c.body = h.ExpectBody
	}
	for _, a := range h.Command {
		var e string
		if e, err = ports.Expand(a, r.ports); err != nil {
			break
		}
		c.command = append(c.command, e)
	}
	if err != nil {
		s.log.Error(fmt.Sprintf("%s: no health checks: %v", p.Title, err), "unit", p.Name)
		return
	}
	r.checks = c
}

// checkDue starts the health check of a proc's run when it is due, unless
// one is in flight or the snooze file suspends them.
func (s *Supervisor) checkDue(u *unit, p *config.Proc, now time.Time) {
	r := u.run
	if r == nil || r.checks == nil || r.stopSent || r.checks.running {
		return
	}
	c := r.checks
	if c.t.Due().After(now) {
		return
	}
	snoozed := health.SnoozeFile(c.dir)
	c.t.Snooze(now, snoozed)
	if snoozed != c.snoozed {
		c.snoozed = snoozed
		action, why := journal.ActionResumed, "checks resume: "+health.SnoozeName+" is gone"
		if snoozed {
			action, why = journal.ActionSnoozed, "checks suspended while "+health.SnoozeName+" exists in "+c.dir
		}
		s.log.Info(p.Title+": "+why, "unit", p.Name)
		s.record(now, journal.Event{Type: journal.Health, Unit: p.Name, Kind: journal.KindProc, PID: r.p.Pid(), Action: action, Reason: why})
	}
	if snoozed {
		return
	}
	c.running = true
	probe := s.probe(c)
	go func() {
		err := probe()
		select {
		case s.calls <- func(now time.Time) { s.checked(p.Name, r, err, now) }:
		case <-s.done:
		}
	}()
}

// probe returns the check to run off the loop.
func (s *Supervisor) probe(c *checks) func() error {
	if c.url != "" {
		url, timeout, body, get := c.url, c.timeout, c.body, s.opts.HTTPProbe
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			return get(ctx, url, timeout, body)
		}
	}
	spec := proc.Spec{Argv: c.command, Dir: c.dir, Env: c.env}
	host, timeout := s.opts.Host, c.timeout
	return func() error {
		p, err := host.Start(spec)
		if err != nil {
			return fmt.Errorf("health command: %w", err)
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case ex := <-p.Done():
			if ex.Signal != 0 || ex.Code != 0 {
				return fmt.Errorf("health command %s exited %d", c.command[0], ex.Code)
			}
			return nil
		case <-t.C:
			p.Stop(0)
			<-p.Done()
			return fmt.Errorf("health command %s did not finish within %s", c.command[0], timeout)
		}
	}
}

// checked feeds a check's result to the run's tracker, if the run is still
// the proc's, and restarts an unhealthy proc.
func (s *Supervisor) checked(name string, r *running, err error, now time.Time) {
	u := s.units[name]
	if u == nil || u.run != r || r.checks == nil {
		return
	}
	title := r.title
	c := r.checks
	c.running = false
	c.since++
	c.last = &control.Check{At: now}
	s.touch(u)
	if err != nil {
		c.last.Error = err.Error()
		s.log.Debug(fmt.Sprintf("%s: health check failed: %v", title, err), "unit", name)
	}
	v := c.t.Result(now, err)
	if v.Reason == "" || r.stopSent {
		return
	}
	action := journal.Action(c.t.State()) // "starting" or "healthy" after a pass
	switch {
	case v.Restart:
		action = journal.ActionRestart
	case err != nil:
		action = journal.ActionFailed
	}
	// The journal gets the changes: from passing to failing and back, to
	// healthy, to a restart; not every failed check of a run of them (a
	// 1s interval would write a line a second). Count says how many
	// checks the event stands for.
	failing := err != nil
	if v.Restart || failing != c.failing || action != c.journaled {
		s.record(now, journal.Event{Type: journal.Health, Unit: name, Kind: journal.KindProc, PID: r.p.Pid(), Action: action, Reason: v.Reason, Count: c.since})
		c.failing, c.journaled, c.since = failing, action, 0
	}
	if !v.Restart {
		s.log.Info(title+": "+v.Reason, "unit", name)
		return
	}
	s.log.Warn(title+" is unhealthy: "+v.Reason, "unit", name, "pid", r.p.Pid())
	s.stopRun(r, journal.StoppedUnhealthy, "unhealthy: "+v.Reason)
}
