package supervise

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/proc"
)

// The operations of kopf's control commands. Each runs on the loop
// goroutine like every other event and answers in words what it did; the
// semantics are in docs/control.md.

// Trigger asks a job to run with extra arguments, as a trigger from
// another job would (idle applies); by says who asked. It says whether the
// run started now or waits, and why.
func (s *Supervisor) Trigger(name string, args []string, by string) (string, error) {
	var msg string
	err := s.call(func(now time.Time) error {
		u, err := s.job(name)
		if err != nil {
			return err
		}
		if u.stopped {
			return fmt.Errorf("job %s is stopped (kopf stop); kopf start %s runs it", name, name)
		}
		busy, note := s.triggerJob(u, args, by, "triggered by "+by, now)
		s.log.Info(note, "unit", name, "args", args)
		msg = s.afterRequest(u, busy, note, now)
		return nil
	})
	return msg, err
}

// afterRequest runs what is due and describes what became of a request
// to run u: started now, queued behind the running run, or waiting.
func (s *Supervisor) afterRequest(u *jobUnit, busy bool, note string, now time.Time) string {
	s.tick(now)
	switch {
	case busy:
		return fmt.Sprintf("queued: %s has been running since %s (pid %d); it runs again when that run ends",
			u.cfg.Name, u.run.start.Format(time.RFC3339), u.run.p.Pid())
	case u.run != nil:
		return fmt.Sprintf("started %s now (pid %d)", u.cfg.Name, u.run.p.Pid())
	case u.core.Queued() == nil && u.cfg.Command == nil:
		return fmt.Sprintf("ran %s now: it has no command and only triggers other jobs", u.cfg.Name)
	case u.core.Queued() == nil:
		return fmt.Sprintf("%s could not start; see kopf's log", u.cfg.Name)
	}
	return "queued: " + note
}

// Start starts a proc that is not running, or runs a job now (without
// waiting for idle); either way a unit stopped with Stop is enabled again.
// A running unit is left as it is.
func (s *Supervisor) Start(name string) (string, error) {
	var msg string
	err := s.call(func(now time.Time) error {
		if p := s.procs[name]; p != nil && !p.removed {
			msg = s.startNow(p, now, "start")
			return nil
		}
		u, err := s.job(name)
		if err != nil {
			return err
		}
		if u.run != nil && !u.run.stopSent {
			msg = fmt.Sprintf("%s is already running since %s (pid %d)", name, u.run.start.Format(time.RFC3339), u.run.p.Pid())
			return nil
		}
		s.enable(u, now)
		busy := u.core.Running()
		note := u.core.TriggerNow(now, nil, "kopf start")
		msg = s.afterRequest(u, busy, note, now)
		return nil
	})
	return msg, err
}

// enable undoes Stop for a job: its schedules count again from now.
func (s *Supervisor) enable(u *jobUnit, now time.Time) {
	if u.stopped {
		u.stopped = false
		u.core = s.newJob(u.cfg, now)
	}
}

// startNow starts a proc now, unless it runs; verb names the command.
func (s *Supervisor) startNow(p *procUnit, now time.Time, verb string) string {
	if p.run != nil && !p.run.stopSent {
		return fmt.Sprintf("%s is already running since %s (pid %d)", p.cfg.Name, p.run.start.Format(time.RFC3339), p.run.p.Pid())
	}
	p.stopped = false
	p.restarts = newRestarts(p.cfg.Backoff, p.cfg.Idle) // an operator's start is a fresh start
	if p.run != nil {
		p.startAt = time.Time{} // started once the old process has ended
		return fmt.Sprintf("%s starts once its process (pid %d) has ended", p.cfg.Name, p.run.p.Pid())
	}
	p.startAt = now
	s.tick(now)
	if p.run == nil {
		return fmt.Sprintf("%s could not %s; kopf tries again at %s (see kopf's log)", p.cfg.Name, verb, p.startAt.Format(time.RFC3339))
	}
	return fmt.Sprintf("started %s (pid %d)", p.cfg.Name, p.run.p.Pid())
}

// Stop stops a unit until Start: a proc is not restarted, a job does not
// fire. A running process gets SIGTERM, then SIGKILL after its stop-time;
// Stop waits until it has ended or ctx is done.
func (s *Supervisor) Stop(ctx context.Context, name string) (string, error) {
	var run *running
	var msg string
	err := s.call(func(now time.Time) error {
		st, r, err := s.unit(name)
		if err != nil {
			return err
		}
		if st.stopped && (r == nil || r.stopSent) {
			msg = name + " is already stopped"
			return nil
		}
		st.stopped, st.stoppedAt = true, now
		if p := s.procs[name]; p != nil {
			p.startAt = time.Time{}
		}
		if r == nil {
			msg = "stopped " + name + " (it was not running)"
			return nil
		}
		s.stopRun(r, s.stopTime(name), causeStop, "kopf stop")
		run = r
		return nil
	})
	if err != nil || run == nil {
		return msg, err
	}
	return s.waitEnded(ctx, name, run, "stopped")
}

// Restart stops a unit's running process, if any, and starts it again at
// once: a proc with a fresh backoff, a job as a new run that never
// overlaps the old one. A stopped unit is enabled again. Restart waits
// until the new process runs or ctx is done.
func (s *Supervisor) Restart(ctx context.Context, name string) (string, error) {
	var old *running
	var msg string
	err := s.call(func(now time.Time) error {
		_, r, err := s.unit(name)
		if err != nil {
			return err
		}
		if r != nil && !r.stopSent {
			s.stopRun(r, s.stopTime(name), causeRestart, "kopf restart")
		}
		if p := s.procs[name]; p != nil {
			msg = s.startNow(p, now, "restart")
		} else {
			u := s.jobs[name]
			s.enable(u, now)
			busy := u.core.Running()
			msg = s.afterRequest(u, busy, u.core.TriggerNow(now, nil, "kopf restart"), now)
		}
		old = r
		return nil
	})
	if err != nil || old == nil {
		return msg, err
	}
	if _, err := s.waitEnded(ctx, name, old, "stopped"); err != nil {
		return "", err
	}
	err = s.call(func(time.Time) error {
		_, r, err := s.unit(name)
		switch {
		case err != nil:
			return err
		case r == nil:
			msg = fmt.Sprintf("restarted %s: pid %d ended; the new run waits (see kopf status)", name, old.p.Pid())
		default:
			msg = fmt.Sprintf("restarted %s: pid %d ended, pid %d started", name, old.p.Pid(), r.p.Pid())
		}
		return nil
	})
	return msg, err
}

// waitEnded waits for r to end and describes how it did.
func (s *Supervisor) waitEnded(ctx context.Context, name string, r *running, verb string) (string, error) {
	select {
	case <-r.ended:
	case <-ctx.Done():
		return "", fmt.Errorf("%s (pid %d) has not ended yet: %w", name, r.p.Pid(), ctx.Err())
	case <-s.done:
		return "", ErrStopped
	}
	var msg string
	err := s.call(func(time.Time) error {
		st, _, err := s.unit(name)
		if err != nil {
			msg = fmt.Sprintf("%s %s (pid %d)", verb, name, r.p.Pid())
			return nil
		}
		msg = fmt.Sprintf("%s %s: pid %d %s", verb, name, r.p.Pid(), describeExit(st.lastExit, r.start))
		return nil
	})
	return msg, err
}

// describeExit says how a stopped process ended: "exited 0 after 1.2s",
// "ended by SIGTERM after 3s".
func describeExit(e *control.Exit, start time.Time) string {
	if e == nil {
		return "ended"
	}
	after := e.At.Sub(start).Round(time.Millisecond)
	if e.Code != nil {
		return fmt.Sprintf("exited %d after %s", *e.Code, after)
	}
	return fmt.Sprintf("ended by %s after %s", e.Signal, after)
}

// Status returns every job and proc, sorted by name.
func (s *Supervisor) Status() ([]control.Unit, error) {
	var out []control.Unit
	err := s.call(func(now time.Time) error {
		for _, u := range s.jobs {
			out = append(out, s.jobStatus(u, now))
		}
		for _, p := range s.procs {
			out = append(out, s.procStatus(p))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b control.Unit) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

func (s *Supervisor) jobStatus(u *jobUnit, now time.Time) control.Unit {
	st := control.Unit{Name: u.cfg.Name, Kind: "job", LastExit: u.lastExit, File: u.cfg.Pos.Filename, Zone: zone(u.cfg).String()}
	if !u.stopped {
		if at, ok := u.core.NextFire(); ok {
			st.NextFire = at.In(zone(u.cfg))
		}
	}
	switch {
	case u.run != nil:
		st.State, st.Since = runState(u.run), u.run.start
		if u.run.p != nil {
			st.PID = u.run.p.Pid()
		}
	case u.stopped:
		st.State, st.Since = control.Stopped, u.stoppedAt
	case !u.retryAt.IsZero():
		st.State, st.Since, st.RestartAt = control.Retrying, u.since(), u.retryAt
	case u.gaveUp:
		st.State, st.Since = control.Failed, u.since()
	case u.core.Queued() != nil:
		st.State, st.Since = control.Queued, u.since()
	default:
		st.State, st.Since = control.Waiting, u.since()
	}
	st.Queued, st.Failures = u.core.Queued(), u.failures
	return st
}

// since is when a job that is not running last changed: its last end, or
// its loading.
func (u *jobUnit) since() time.Time {
	if end := u.core.LastEnd(); end.After(u.loaded) {
		return end
	}
	return u.loaded
}

func (s *Supervisor) procStatus(p *procUnit) control.Unit {
	st := control.Unit{Name: p.cfg.Name, Kind: "proc", LastExit: p.lastExit, File: p.cfg.Pos.Filename}
	switch {
	case p.run != nil:
		st.State, st.Since, st.PID = runState(p.run), p.run.start, p.run.p.Pid()
		if c := p.run.checks; c != nil {
			st.Health, st.LastCheck = c.t.State(), c.last
		}
	case p.stopped:
		st.State, st.Since = control.Stopped, p.stoppedAt
	case p.lastExit != nil:
		st.State, st.Since, st.RestartAt = control.BackingOff, p.lastExit.At, p.startAt
	default:
		st.State, st.Since, st.RestartAt = control.Starting, p.loaded, p.startAt
	}
	return st
}

func runState(r *running) string {
	if r.stopSent {
		return control.Stopping
	}
	return control.Running
}

// Next returns a job's next n schedule fires after now, in its zone.
func (s *Supervisor) Next(name string, n int) ([]time.Time, error) {
	var cfg *config.Job
	var from time.Time
	var jitter time.Duration
	err := s.call(func(now time.Time) error {
		u, err := s.job(name)
		if err != nil {
			return err
		}
		cfg, from, jitter = u.cfg, now, u.cfg.JitterOffset(s.seed)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(cfg.Schedules) == 0 {
		return nil, fmt.Errorf("job %s has no schedule; it runs on its period or on triggers", name)
	}
	// The union of the job's schedules: the earliest next of each, in turn.
	next := make([]time.Time, len(cfg.Schedules))
	for i, sc := range cfg.Schedules {
		next[i], _ = sc.Compiled.Next(from)
	}
	var out []time.Time
	for len(out) < n {
		i := -1
		for k, t := range next {
			if !t.IsZero() && (i < 0 || t.Before(next[i])) {
				i = k
			}
		}
		if i < 0 {
			break
		}
		at := next[i]
		start := cfg.Schedules[i].Compiled.Jitter(at, jitter)
		if len(out) == 0 || !start.Equal(out[len(out)-1]) {
			out = append(out, start.In(zone(cfg)))
		}
		next[i], _ = cfg.Schedules[i].Compiled.Next(at)
	}
	return out, nil
}

// zone is the zone of a job's schedules.
func zone(j *config.Job) *time.Location {
	if j.Location == nil {
		return time.UTC
	}
	return j.Location
}

// unit finds a job or proc by name, with its status and current run.
func (s *Supervisor) unit(name string) (*status, *running, error) {
	if u := s.jobs[name]; u != nil && !u.removed {
		return &u.status, u.run, nil
	}
	if p := s.procs[name]; p != nil && !p.removed {
		return &p.status, p.run, nil
	}
	return nil, nil, s.noSuch(name, "job or proc")
}

// job finds a job by name.
func (s *Supervisor) job(name string) (*jobUnit, error) {
	if u := s.jobs[name]; u != nil && !u.removed {
		return u, nil
	}
	if p := s.procs[name]; p != nil && !p.removed {
		return nil, fmt.Errorf("%s is a proc, not a job; kopf restart %s restarts it", name, name)
	}
	return nil, s.noSuch(name, "job")
}

func (s *Supervisor) noSuch(name, what string) error {
	var names []string
	for n, u := range s.jobs {
		if !u.removed {
			names = append(names, n)
		}
	}
	if what != "job" {
		for n, p := range s.procs {
			if !p.removed {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	if c := lang.Closest(name, names); c != "" {
		return fmt.Errorf("no %s named %q (did you mean %q?)", what, name, c)
	}
	return fmt.Errorf("no %s named %q", what, name)
}

func (s *Supervisor) stopTime(name string) time.Duration {
	if u := s.jobs[name]; u != nil {
		return u.cfg.StopTime
	}
	return s.procs[name].cfg.StopTime
}

// exitStatus is how a process ended, for status.
func exitStatus(ex proc.Exit, at time.Time) *control.Exit {
	e := &control.Exit{At: at}
	if ex.Signal != 0 {
		e.Signal = unix.SignalName(ex.Signal)
	} else {
		code := ex.Code
		e.Code = &code
	}
	return e
}
