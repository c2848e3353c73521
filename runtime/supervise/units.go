package supervise

import (
	"fmt"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/job"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
)

// jobUnit is a job: its config, its decision core and its current run.
// After a reload changes the job, core is already the new one while the old
// run is being stopped; the new core starts nothing until run is nil, so
// the job still never runs twice at once.
type jobUnit struct {
	cfg     *config.Job
	core    *job.Job
	run     *running
	removed bool // stopping because the job left the config
	status
	retries
}

// retries is a job's max-failures state: failed runs in a row, and the
// retry waiting to start.
type retries struct {
	failures  int
	retryAt   time.Time // zero when no retry waits
	retryArgs []string  // the failed run's arguments, for its retry
	gaveUp    bool      // max-failures retries failed; until the next run
}

// procUnit is a proc: its config, its restart policy and its current run.
type procUnit struct {
	cfg      *config.Proc
	restarts *restarts
	run      *running
	startAt  time.Time // when to start next; zero while running or stopping for good
	removed  bool
	status
	files *fileWatch // restart-on-change and hup-on-change; nil without
}

// status is what jobs and procs keep for kopf status and the control
// commands.
type status struct {
	loaded    time.Time     // when the unit was loaded
	stopped   bool          // by kopf stop, until kopf start
	stoppedAt time.Time     // when
	lastExit  *control.Exit // how its last process ended
}

// jobSpec turns a job's config into the decision core's spec; seed is the
// config's jitter-seed.
func jobSpec(j *config.Job, seed string) job.Spec {
	spec := job.Spec{
		Period: j.Period, Pause: j.Pause, Random: j.Random,
		Idle: j.Idle, Timeout: j.Timeout, RunOnStart: j.RunOnStart,
	}
	spec.Overlap, _ = job.ParseOverlap(j.Overlap) // config has checked it; "" is queue
	jitter := j.JitterOffset(seed)
	for _, sc := range j.Schedules {
		spec.Sources = append(spec.Sources, job.Source{
			Name:     sourceName(sc),
			Schedule: sc.Compiled,
			Args:     sc.Args,
			Jitter:   jitter,
		})
	}
	return spec
}

func (s *Supervisor) newJob(j *config.Job, now time.Time) *job.Job {
	return job.New(jobSpec(j, s.seed), now, s.opts.Rand)
}

// Summary says what a reload did, unit names in order.
type Summary struct {
	Kept, Restarted, Stopped, Started []string
}

func (m Summary) String() string {
	part := func(n []string, what string) string {
		if len(n) == 0 {
			return fmt.Sprintf("%d %s", 0, what)
		}
		return fmt.Sprintf("%d %s (%s)", len(n), what, strings.Join(n, ", "))
	}
	return strings.Join([]string{part(m.Restarted, "restarted"), part(m.Stopped, "stopped"), part(m.Started, "started"), fmt.Sprintf("%d kept", len(m.Kept))}, ", ")
}

// apply makes cfg the running config.
func (s *Supervisor) apply(cfg *config.Config, now time.Time) Summary {
	var kept, restarted, stopped, started []string
	// A new jitter-seed moves every jittered job's fires: those change.
	reseeded := cfg.JitterSeed != s.seed
	s.seed = cfg.JitterSeed
	newJobs := map[string]*config.Job{}
	for _, j := range cfg.Jobs {
		newJobs[j.Name] = j
	}
	newProcs := map[string]*config.Proc{}
	for _, p := range cfg.Procs {
		newProcs[p.Name] = p
	}
	for _, name := range sortedKeys(s.jobs) {
		u := s.jobs[name]
		nj, ok := newJobs[name]
		switch {
		case !ok:
			stopped = append(stopped, name)
			s.recordSource(now, "remove", "job", &u.cfg.Unit)
			u.removed = true
			if u.run == nil {
				delete(s.jobs, name)
			} else {
				s.stopRun(u.run, u.cfg.StopTime, causeRemoved, "removed from the config")
			}
		case nj.Fingerprint() == u.cfg.Fingerprint() && !(reseeded && nj.Jitter > 0):
			kept = append(kept, name)
		default:
			restarted = append(restarted, name)
			s.recordSource(now, "update", "job", &nj.Unit)
			if u.run != nil {
				s.stopRun(u.run, u.cfg.StopTime, causeReload, "changed in the config")
			}
			u.cfg, u.core, u.removed = nj, job.Supersede(u.core, jobSpec(nj, s.seed), now, s.opts.Rand), false
		}
	}
	for _, name := range sortedKeys(s.procs) {
		u := s.procs[name]
		np, ok := newProcs[name]
		switch {
		case !ok:
			stopped = append(stopped, name)
			s.recordSource(now, "remove", "proc", &u.cfg.Unit)
			u.files.stop()
			u.files = nil
			u.removed, u.startAt = true, time.Time{}
			if u.run == nil {
				delete(s.procs, name)
			} else {
				s.stopRun(u.run, u.cfg.StopTime, causeRemoved, "removed from the config")
			}
		case np.Fingerprint() == u.cfg.Fingerprint():
			kept = append(kept, name)
		default:
			restarted = append(restarted, name)
			s.recordSource(now, "update", "proc", &np.Unit)
			u.cfg, u.restarts, u.removed = np, newRestarts(np.Backoff, np.Idle), false
			u.files.stop()
			u.files = s.watchFiles(u)
			if u.run != nil {
				s.stopRun(u.run, u.cfg.StopTime, causeReload, "changed in the config")
				u.startAt = time.Time{} // started again once the old one has exited
			} else if !u.stopped {
				u.startAt = now
			}
		}
	}
	for _, name := range sortedKeys(newJobs) {
		if _, ok := s.jobs[name]; !ok {
			started = append(started, name)
			s.recordSource(now, "add", "job", &newJobs[name].Unit)
			s.jobs[name] = &jobUnit{cfg: newJobs[name], core: s.newJob(newJobs[name], now), status: status{loaded: now}}
		}
	}
	for _, name := range sortedKeys(newProcs) {
		if _, ok := s.procs[name]; !ok {
			started = append(started, name)
			p := newProcs[name]
			s.recordSource(now, "add", "proc", &p.Unit)
			u := &procUnit{cfg: p, restarts: newRestarts(p.Backoff, p.Idle), startAt: now, status: status{loaded: now}}
			u.files = s.watchFiles(u)
			s.procs[name] = u
		}
	}
	what := "config"
	if cfg.File != "" {
		what += " " + cfg.File
	}
	s.log.Info(fmt.Sprintf("%s: %d kept, %d restarted, %d stopped, %d started", what,
		len(kept), len(restarted), len(stopped), len(started)),
		"file", cfg.File, "kept", kept, "restarted", restarted, "stopped", stopped, "started", started)
	return Summary{Kept: kept, Restarted: restarted, Stopped: stopped, Started: started}
}

func (s *Supervisor) recordSource(now time.Time, op string, kind journal.Kind, u *config.Unit) {
	s.record(now, journal.Event{Type: journal.Source, Op: op, Unit: u.Name, Kind: kind, File: u.Pos.Filename})
}

// tickJob starts the job if it is due and stops a run past its deadline. It
// reports whether it changed anything another job could see (a run of a job
// without a command ends at once and triggers others).
func (s *Supervisor) tickJob(u *jobUnit, now time.Time) bool {
	if u.stopped {
		return false // kopf stop: nothing fires until kopf start
	}
	if !u.retryAt.IsZero() && !u.retryAt.After(now) && u.run == nil {
		reason := fmt.Sprintf("retry %d of %d after a failed run", u.failures, u.cfg.MaxFailures)
		u.retryAt = time.Time{}
		s.log.Info(u.core.TriggerNow(now, u.retryArgs, reason), "unit", u.cfg.Name)
	}
	busy, waiting := u.core.Running(), u.core.Queued() != nil
	for _, f := range u.core.Advance(now) {
		ev := journal.Event{Type: journal.Fired, Unit: u.cfg.Name, Kind: "job", Source: f.Source, At: f.At}
		if !f.Start.Equal(f.At) {
			ev.Start = f.Start // moved by the job's jitter
		}
		if f.Count > 1 {
			ev.Count = f.Count
		}
		s.record(now, ev)
		switch {
		case f.Skipped:
			s.log.Info(f.Note, "unit", u.cfg.Name)
			s.record(now, journal.Event{Type: journal.Skipped, Unit: u.cfg.Name, Kind: "job", Source: f.Source, At: f.At, Count: ev.Count, Reason: f.Note})
			continue
		case f.Replace:
			s.log.Info(f.Note, "unit", u.cfg.Name)
			s.record(now, journal.Event{Type: journal.Queued, Unit: u.cfg.Name, Kind: "job", Reason: f.Note})
			for _, at := range f.Dropped {
				s.record(now, journal.Event{Type: journal.Missed, Unit: u.cfg.Name, Kind: "job", At: at,
					Reason: "its catch-up run was waiting when a fire replaced the running run (overlap: replace)"})
			}
			if u.run != nil {
				s.stopRun(u.run, u.cfg.StopTime, causeReplaced, "a schedule fire replaces it (overlap: replace)")
			}
		default:
			s.log.Debug(f.Note, "unit", u.cfg.Name)
			s.recordRequest(now, u.cfg.Name, busy, waiting, f.Note)
		}
		waiting = true
	}
	if r := u.run; r != nil {
		if !r.deadline.IsZero() && !r.deadline.After(now) && !r.stopSent {
			r.timedOut = true
			s.stopRun(r, u.cfg.StopTime, causeTimeout, fmt.Sprintf("timeout %s reached", u.cfg.Timeout))
		}
		return false
	}
	if u.removed {
		return false
	}
	run, ok := u.core.Due(now)
	if !ok {
		return false
	}
	r := &running{unit: u.cfg.Name, title: u.cfg.Title, start: now, deadline: run.Deadline, core: u.core, ended: make(chan struct{}), args: run.Args}
	// Whatever started this run, it is the retry's chance too.
	u.retryAt, u.gaveUp = time.Time{}, false
	reasons := strings.Join(run.Reasons, "; ")
	if u.cfg.Command == nil {
		// Nothing to run: the job only triggers others.
		if u.cfg.LogStart {
			s.log.Info("run "+r.title+" (no command, triggers only): "+reasons, "unit", r.unit, "reasons", run.Reasons)
		}
		u.core.Ended(now)
		s.fireTriggers(u, "ended", now)
		return true
	}
	argv := commandLine(u.cfg, run.Args)
	if err := s.spawn(r, &u.cfg.Unit, argv, run); err != nil {
		s.log.Error(fmt.Sprintf("start %s failed: %v", r.title, err), "unit", r.unit, "argv", argv, "reasons", run.Reasons)
		u.core.Ended(now)
		return false
	}
	u.run = r
	if u.cfg.LogStart {
		s.log.Info("start "+r.title+": "+reasons, "unit", r.unit, "pid", r.p.Pid(), "args", run.Args, "reasons", run.Reasons)
	}
	return false
}

// commandLine appends a run's extra arguments to the job's command as argv
// entries, never through a shell's parser: a command written as a string
// runs as sh -c 'COMMAND "$@"' TITLE ARGS..., so the shell sees them as
// positional parameters whatever characters they hold.
func commandLine(j *config.Job, args []string) []string {
	argv := append([]string(nil), j.Command...)
	if len(args) == 0 {
		return argv
	}
	if j.Shell {
		argv[len(argv)-1] += ` "$@"`
		argv = append(argv, j.Title)
	}
	return append(argv, args...)
}

func (s *Supervisor) jobExited(r *running, ex proc.Exit, now time.Time) {
	u := s.jobs[r.unit]
	if u == nil || u.run != r {
		return
	}
	s.logEnd(r, ex, now, u.cfg.LogStart)
	u.run, u.lastExit = nil, exitStatus(ex, now)
	if u.removed {
		delete(s.jobs, r.unit)
		return
	}
	u.core.Ended(now) // also for a run of the previous config, which the core took over
	if r.core != u.core {
		return // that run: stopped by a reload, it fires no triggers and counts no failure
	}
	if r.stopSent && !r.timedOut {
		return // kopf stopped it; that is not the job ending
	}
	how := describeEnd(r, ex)
	s.countFailure(u, r, ex.Code != 0 || ex.Signal != 0 || r.timedOut, how, now)
	s.fireTriggers(u, how, now)
}

// countFailure applies max-failures after a run that ended by itself or
// timed out: a success resets the count; a failure is retried after the
// next backoff step, until max-failures retries have failed in a row.
func (s *Supervisor) countFailure(u *jobUnit, r *running, failed bool, how string, now time.Time) {
	if !failed {
		u.failures, u.gaveUp = 0, false
		return
	}
	max := u.cfg.MaxFailures
	if max == 0 {
		return
	}
	if u.failures >= max {
		u.gaveUp = true
		reason := fmt.Sprintf("%s failed %d times in a row (%s); max-failures %d reached: it waits for its next fire or a trigger",
			u.cfg.Title, u.failures+1, how, max)
		s.log.Warn(reason, "unit", u.cfg.Name)
		s.record(now, journal.Event{Type: journal.GaveUp, Unit: u.cfg.Name, Kind: "job", Count: u.failures + 1, Reason: reason})
		u.failures = 0
		return
	}
	u.failures++
	wait := step(u.cfg.Backoff, u.failures-1)
	u.retryAt, u.retryArgs = now.Add(wait), r.args
	reason := fmt.Sprintf("%s %s; retry %d of %d at %s (backoff %s)", u.cfg.Title, how, u.failures, max, u.retryAt.Format(time.RFC3339), wait)
	s.log.Info(reason, "unit", u.cfg.Name)
	s.record(now, journal.Event{Type: journal.Retry, Unit: u.cfg.Name, Kind: "job", Count: u.failures, Reason: reason})
}

// step is the n-th wait of a backoff list (from 0); the last one repeats.
func step(list []time.Duration, n int) time.Duration {
	if len(list) == 0 {
		return 0
	}
	return list[min(n, len(list)-1)]
}

// fireTriggers triggers the jobs in u's trigger list.
func (s *Supervisor) fireTriggers(u *jobUnit, how string, now time.Time) {
	for _, t := range u.cfg.Triggers {
		target := s.jobs[t.Job]
		if target == nil || target.removed {
			s.log.Warn(fmt.Sprintf("%s cannot trigger %s: no such job", u.cfg.Title, t.Job), "unit", u.cfg.Name)
			continue
		}
		_, note := s.triggerJob(target, t.Args, u.cfg.Name, fmt.Sprintf("triggered by %s (%s)", u.cfg.Title, how), now)
		s.log.Debug(note, "unit", t.Job)
	}
}

// triggerJob asks u to run, for a trigger from by, and journals the
// trigger and what became of it. It says whether u was running, and how
// the core took the request.
func (s *Supervisor) triggerJob(u *jobUnit, args []string, by, reason string, now time.Time) (busy bool, note string) {
	s.record(now, journal.Event{Type: journal.Triggered, Unit: u.cfg.Name, Kind: "job", By: by, Args: args})
	busy, waiting := u.core.Running(), u.core.Queued() != nil
	note = u.core.Trigger(now, args, reason)
	s.recordRequest(now, u.cfg.Name, busy, waiting, note)
	return busy, note
}

// recordRequest journals what became of a fire or trigger that does not
// start a run of its own: queued behind the running run, or joining the
// run already waiting. A request that makes a new run is journaled when
// the run is spawned, with its reasons.
func (s *Supervisor) recordRequest(now time.Time, unit string, busy, waiting bool, note string) {
	switch {
	case busy:
		s.record(now, journal.Event{Type: journal.Queued, Unit: unit, Kind: "job", Reason: note})
	case waiting:
		s.record(now, journal.Event{Type: journal.Skipped, Unit: unit, Kind: "job", Reason: note})
	}
}

func (s *Supervisor) startProc(u *procUnit, now time.Time) {
	r := &running{unit: u.cfg.Name, title: u.cfg.Title, proc: true, start: now, ended: make(chan struct{})}
	u.startAt = time.Time{}
	if err := s.spawn(r, &u.cfg.Unit, u.cfg.Command, job.Run{}); err != nil {
		at, reason := u.restarts.exited(now, now)
		u.startAt = at
		s.log.Error(fmt.Sprintf("start %s failed: %v; next try at %s (%s)", r.title, err, at.Format(time.RFC3339), reason),
			"unit", r.unit, "argv", u.cfg.Command)
		return
	}
	u.run = r
	s.startChecks(r, u.cfg, now)
	if u.cfg.LogStart {
		s.log.Info("start "+r.title, "unit", r.unit, "pid", r.p.Pid())
	}
}

func (s *Supervisor) procExited(r *running, ex proc.Exit, now time.Time) {
	u := s.procs[r.unit]
	if u == nil || u.run != r {
		return
	}
	s.logEnd(r, ex, now, u.cfg.LogStart)
	u.run, u.lastExit = nil, exitStatus(ex, now)
	switch {
	case u.removed:
		delete(s.procs, r.unit)
	case s.stopping, u.stopped:
	case r.stopSent && r.cause != causeUnhealthy:
		u.startAt = now // restarted with its new config, or by kopf restart
	default:
		at, reason := u.restarts.exited(r.start, now)
		u.startAt = at
		s.log.Info(fmt.Sprintf("restart %s at %s: %s", r.title, at.Format(time.RFC3339), reason), "unit", r.unit)
	}
}
