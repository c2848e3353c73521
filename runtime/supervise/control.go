package supervise

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
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
		u, j, err := s.job(name)
		if err != nil {
			return err
		}
		if u.stopped {
			return fmt.Errorf("job %s is stopped (kopf stop); kopf start %s runs it", name, name)
		}
		busy, note := s.triggerJob(u, j, args, by, "triggered by "+by, now)
		s.log.Info(note, "unit", name, "args", args)
		if u.away {
			msg = note // forwarded: the owner says in its log what became of it
			return nil
		}
		msg = s.afterRequest(u, j, busy, note, now)
		return nil
	})
	return msg, err
}

// Start starts a proc that is not running, or runs a job now (without
// waiting for idle); either way a unit stopped with Stop is enabled again.
// A running unit is left as it is.
func (s *Supervisor) Start(name string) (string, error) {
	var msg string
	err := s.call(func(now time.Time) error {
		u, err := s.lookup(name)
		if err != nil {
			return err
		}
		if u.away {
			return s.elsewhere(u)
		}
		msg = u.kind.start(s, u, now, "start")
		return nil
	})
	return msg, err
}

// Stop stops a unit until Start: a proc is not restarted, a job does not
// fire. A running process gets SIGTERM, then SIGKILL after its stop-time;
// Stop waits until it has ended or ctx is done.
func (s *Supervisor) Stop(ctx context.Context, name string) (string, error) {
	var run *running
	var msg string
	var label string
	var grace time.Duration
	err := s.call(func(now time.Time) error {
		u, err := s.lookup(name)
		if err != nil {
			return err
		}
		label, grace = keptLabel(u), u.cfg.StopTime
		r := u.run
		if u.stopped && (r == nil || r.stopSent) {
			msg = name + " is already stopped"
			return nil
		}
		u.stopped, u.stoppedAt, u.startAt = true, now, time.Time{}
		s.touch(u)
		if r == nil {
			msg = "stopped " + name + " (it was not running)"
			return nil
		}
		s.stopRun(r, journal.StoppedStop, "kopf stop")
		run = r
		return nil
	})
	if err != nil {
		return msg, err
	}
	if run != nil {
		if msg, err = s.waitEnded(ctx, name, run, "stopped"); err != nil {
			return msg, err
		}
	}
	return msg + s.stopKept(label, grace), nil
}

// keptLabel is the Label of u's runs' Specs, by which the Host knows the
// runs whose leftovers it keeps.
func keptLabel(u *unit) string { return string(u.kind.journalKind()) + "-" + u.cfg.Name }

// stopKept ends what u's earlier runs left running (leftovers "keep"),
// outside the loop, and says so in words to add to a message; "" when
// nothing was.
func (s *Supervisor) stopKept(label string, grace time.Duration) string {
	if n := s.opts.Host.StopKept(label, grace); n > 0 {
		return fmt.Sprintf("; stopped %s its earlier runs left running (leftovers \"keep\")", plural(n, "process", "processes"))
	}
	return ""
}

// Restart stops a unit's running process, if any, and starts it again at
// once: a proc with a fresh backoff, a job as a new run that never
// overlaps the old one. A stopped unit is enabled again. Restart waits
// until the new process runs or ctx is done.
func (s *Supervisor) Restart(ctx context.Context, name string) (string, error) {
	var old *running
	var msg, kept string
	err := s.call(func(now time.Time) error {
		u, err := s.lookup(name)
		if err != nil {
			return err
		}
		r := u.run
		if u.away && r == nil {
			return s.elsewhere(u)
		}
		// What earlier runs left running goes before the new run starts.
		kept = s.stopKept(keptLabel(u), u.cfg.StopTime)
		if r != nil && !r.stopSent {
			s.stopRun(r, journal.StoppedRestart, "kopf restart")
		}
		s.touch(u)
		msg = u.kind.start(s, u, now, "restart")
		old = r
		return nil
	})
	if err != nil || old == nil {
		return msg + kept, err
	}
	if _, err := s.waitEnded(ctx, name, old, "stopped"); err != nil {
		return "", err
	}
	err = s.call(func(time.Time) error {
		u, err := s.lookup(name)
		switch {
		case err != nil:
			return err
		case u.run == nil:
			msg = fmt.Sprintf("restarted %s: pid %d ended; the new run waits (see kopf status)", name, old.p.Pid())
		default:
			msg = fmt.Sprintf("restarted %s: pid %d ended, pid %d started", name, old.p.Pid(), u.run.p.Pid())
		}
		return nil
	})
	return msg + kept, err
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
		u, err := s.lookup(name)
		if err != nil {
			msg = fmt.Sprintf("%s %s (pid %d)", verb, name, r.p.Pid())
			return nil
		}
		msg = fmt.Sprintf("%s %s: pid %d %s", verb, name, r.p.Pid(), describeExit(u.lastExit, r.start))
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
		for _, u := range s.units {
			out = append(out, s.unitStatus(u, now))
		}
		return nil
	})
	slices.SortFunc(out, func(a, b control.Unit) int { return strings.Compare(a.Name, b.Name) })
	// What runs left running is read off the loop: without cgroups it
	// takes a scan of kopf's processes.
	for _, k := range s.opts.Host.Kept() {
		kind, name, _ := strings.Cut(k.Label, "-")
		i, ok := slices.BinarySearchFunc(out, name, func(u control.Unit, n string) int { return strings.Compare(u.Name, n) })
		if !ok || out[i].Kind != kind {
			continue // a unit removed since: kopf stopping ends it
		}
		for _, p := range k.Processes {
			out[i].Kept = append(out[i].Kept, control.Kept{PID: p.PID, Command: p.Command, Run: k.Run})
		}
	}
	return out, err
}

// unitStatus is what kopf status shows of u: a running or stopped unit is
// that, whatever its kind; its kind says the rest.
func (s *Supervisor) unitStatus(u *unit, now time.Time) control.Unit {
	st := control.Unit{Name: u.cfg.Name, Kind: string(u.kind.journalKind()), LastExit: u.lastExit, File: u.cfg.Pos.Filename}
	switch {
	case u.run != nil:
		st.State, st.Since = runState(u.run), u.run.start
		if u.run.p != nil {
			st.PID = u.run.p.Pid()
		}
		if len(u.run.ports) > 0 {
			st.Ports = maps.Clone(u.run.ports)
		}
	case u.stopped:
		st.State, st.Since = control.Stopped, u.stoppedAt
	}
	u.kind.status(s, u, now, &st)
	if s.clustered(u.cfg) {
		st.Epoch = s.owned[u.cfg.Name]
		if u.away && u.run == nil && !u.stopped {
			st.State, st.NextFire, st.Since, st.RestartAt, st.Queued = control.Elsewhere, time.Time{}, time.Time{}, time.Time{}, nil
		}
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
		_, j, err := s.job(name)
		if err != nil {
			return err
		}
		cfg, from, jitter = j.cfg, now, j.cfg.JitterOffset(s.seed)
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

func (s *Supervisor) noSuch(name, what string) error {
	var names []string
	for n, u := range s.units {
		if _, job := u.kind.(*jobUnit); !u.removed && (job || what != "job") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if c := lang.Closest(name, names); c != "" {
		return fmt.Errorf("no %s named %q (did you mean %q?)", what, name, c)
	}
	return fmt.Errorf("no %s named %q", what, name)
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
