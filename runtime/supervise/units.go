package supervise

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/job"
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
}

// procUnit is a proc: its config, its restart policy and its current run.
type procUnit struct {
	cfg      *config.Proc
	restarts *restarts
	run      *running
	startAt  time.Time // when to start next; zero while running or stopping for good
	removed  bool
}

// jobSpec turns a job's config into the decision core's spec.
func jobSpec(j *config.Job) job.Spec {
	spec := job.Spec{
		Period: j.Period, Pause: j.Pause, Random: j.Random,
		Idle: j.Idle, Timeout: j.Timeout, RunOnStart: j.RunOnStart,
	}
	for _, sc := range j.Schedules {
		spec.Sources = append(spec.Sources, job.Source{
			Name:     fmt.Sprintf("%s %q", sc.Key, sc.Source),
			Schedule: sc.Compiled,
			Args:     sc.Args,
		})
	}
	return spec
}

func (s *Supervisor) newJob(j *config.Job, now time.Time) *job.Job {
	return job.New(jobSpec(j), now, s.opts.Rand)
}

// apply makes cfg the running config.
func (s *Supervisor) apply(cfg *config.Config, now time.Time) {
	var kept, restarted, stopped, started []string
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
			u.removed = true
			if u.run == nil {
				delete(s.jobs, name)
			} else {
				s.stopRun(u.run, u.cfg.StopTime, "removed from the config")
			}
		case nj.Fingerprint() == u.cfg.Fingerprint():
			kept = append(kept, name)
		default:
			restarted = append(restarted, name)
			if u.run != nil {
				s.stopRun(u.run, u.cfg.StopTime, "changed in the config")
			}
			u.cfg, u.core, u.removed = nj, s.newJob(nj, now), false
		}
	}
	for _, name := range sortedKeys(s.procs) {
		u := s.procs[name]
		np, ok := newProcs[name]
		switch {
		case !ok:
			stopped = append(stopped, name)
			u.removed, u.startAt = true, time.Time{}
			if u.run == nil {
				delete(s.procs, name)
			} else {
				s.stopRun(u.run, u.cfg.StopTime, "removed from the config")
			}
		case np.Fingerprint() == u.cfg.Fingerprint():
			kept = append(kept, name)
		default:
			restarted = append(restarted, name)
			u.cfg, u.restarts, u.removed = np, newRestarts(np.Backoff, np.Idle), false
			if u.run != nil {
				s.stopRun(u.run, u.cfg.StopTime, "changed in the config")
				u.startAt = time.Time{} // started again once the old one has exited
			} else {
				u.startAt = now
			}
		}
	}
	for _, name := range sortedKeys(newJobs) {
		if _, ok := s.jobs[name]; !ok {
			started = append(started, name)
			s.jobs[name] = &jobUnit{cfg: newJobs[name], core: s.newJob(newJobs[name], now)}
		}
	}
	for _, name := range sortedKeys(newProcs) {
		if _, ok := s.procs[name]; !ok {
			started = append(started, name)
			p := newProcs[name]
			s.procs[name] = &procUnit{cfg: p, restarts: newRestarts(p.Backoff, p.Idle), startAt: now}
		}
	}
	what := "config"
	if cfg.File != "" {
		what += " " + cfg.File
	}
	s.log.Info(fmt.Sprintf("%s: %d kept, %d restarted, %d stopped, %d started", what,
		len(kept), len(restarted), len(stopped), len(started)),
		"file", cfg.File, "kept", kept, "restarted", restarted, "stopped", stopped, "started", started)
}

// tickJob starts the job if it is due and stops a run past its deadline. It
// reports whether it changed anything another job could see (a run of a job
// without a command ends at once and triggers others).
func (s *Supervisor) tickJob(u *jobUnit, now time.Time) bool {
	for _, note := range u.core.Advance(now) {
		s.log.Debug(note, "unit", u.cfg.Name)
	}
	if r := u.run; r != nil {
		if !r.deadline.IsZero() && !r.deadline.After(now) && !r.stopSent {
			r.timedOut = true
			s.stopRun(r, u.cfg.StopTime, fmt.Sprintf("timeout %s reached", u.cfg.Timeout))
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
	r := &running{unit: u.cfg.Name, title: u.cfg.Title, start: now, deadline: run.Deadline, core: u.core}
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
	if err := s.spawn(r, &u.cfg.Unit, argv); err != nil {
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
	u.run = nil
	if u.removed {
		delete(s.jobs, r.unit)
		return
	}
	if r.core != u.core {
		return // a run of the job's previous config, stopped by a reload
	}
	u.core.Ended(now)
	if r.stopSent && !r.timedOut {
		return // kopf stopped it; that is not the job ending
	}
	how := fmt.Sprintf("exit %d", ex.Code)
	if ex.Signal != 0 {
		how = "killed by " + unix.SignalName(ex.Signal)
	}
	s.fireTriggers(u, how, now)
}

// fireTriggers triggers the jobs in u's trigger list.
func (s *Supervisor) fireTriggers(u *jobUnit, how string, now time.Time) {
	for _, t := range u.cfg.Triggers {
		target := s.jobs[t.Job]
		if target == nil || target.removed {
			s.log.Warn(fmt.Sprintf("%s cannot trigger %s: no such job", u.cfg.Title, t.Job), "unit", u.cfg.Name)
			continue
		}
		note := target.core.Trigger(now, t.Args, fmt.Sprintf("triggered by %s (%s)", u.cfg.Title, how))
		s.log.Debug(note, "unit", t.Job)
	}
}

// trigger handles an outside trigger.
func (s *Supervisor) trigger(req triggerRequest, now time.Time) error {
	if s.stopping {
		return ErrStopped
	}
	u := s.jobs[req.job]
	if u == nil || u.removed {
		return fmt.Errorf("no job %q", req.job)
	}
	s.log.Info(u.core.Trigger(now, req.args, req.reason), "unit", req.job, "args", req.args)
	return nil
}

func (s *Supervisor) startProc(u *procUnit, now time.Time) {
	r := &running{unit: u.cfg.Name, title: u.cfg.Title, proc: true, start: now}
	u.startAt = time.Time{}
	if err := s.spawn(r, &u.cfg.Unit, u.cfg.Command); err != nil {
		at, reason := u.restarts.exited(now, now)
		u.startAt = at
		s.log.Error(fmt.Sprintf("start %s failed: %v; next try at %s (%s)", r.title, err, at.Format(time.RFC3339), reason),
			"unit", r.unit, "argv", u.cfg.Command)
		return
	}
	u.run = r
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
	u.run = nil
	switch {
	case u.removed:
		delete(s.procs, r.unit)
	case s.stopping:
	case r.stopSent:
		u.startAt = now // restarted with its new config
	default:
		at, reason := u.restarts.exited(r.start, now)
		u.startAt = at
		s.log.Info(fmt.Sprintf("restart %s at %s: %s", r.title, at.Format(time.RFC3339), reason), "unit", r.unit)
	}
}
