package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/job"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/restart"
)

// jobUnit is what a job decides for itself: when it runs, by its decision
// core, and what its end triggers.
type jobUnit struct {
	cfg  *config.Job
	core *job.Job
	// retryArgs are the failed run's arguments, for its retry at
	// unit.startAt; nil when there is none (most jobs never retry, and a
	// daemon may hold 100k jobs: a pointer is a third of a slice).
	retryArgs *[]string
}

func (j *jobUnit) journalKind() journal.Kind { return journal.KindJob }
func (j *jobUnit) fingerprint() string       { return j.cfg.Fingerprint() }
func (j *jobUnit) unload()                   {}
func (j *jobUnit) adopt(c any)               { j.cfg = c.(*config.Job) }

// jobSpec turns a job's config into the decision core's spec; seed is the
// config's jitter-seed, and name names its schedules.
func jobSpec(j *config.Job, seed string, name func(config.Schedule) string) job.Spec {
	spec := job.Spec{
		Period: j.Period, Pause: j.Pause, Random: j.Random,
		Idle: j.Idle, Timeout: j.Timeout, RunOnStart: j.RunOnStart,
		Overlap: j.Overlap, MaxArgs: j.MaxTriggerArgs(),
	}
	jitter := j.JitterOffset(seed)
	for _, sc := range j.Schedules {
		spec.Sources = append(spec.Sources, job.Source{
			Name:     name(sc),
			Schedule: sc.Compiled,
			Args:     sc.Args,
			Jitter:   jitter,
		})
	}
	return spec
}

// load makes a new core for the config; one that replaces a job's core
// takes over its running run (job.Supersede), so the job still never runs
// twice at once.
func (j *jobUnit) load(s *Supervisor, u *unit, prev unitKind, now time.Time) {
	var old *job.Job
	if p, ok := prev.(*jobUnit); ok {
		old = p.core
	}
	spec := jobSpec(j.cfg, s.seed, s.sourceName)
	switch {
	case s.clustered(&j.cfg.Unit):
		// Its member starts its rhythm when it takes it (gained).
		spec.RunOnStart = false
	case j.cfg.OncePerBoot:
		spec.RunOnStart = s.firstInBoot(j.cfg.Name)
	}
	j.core = job.Supersede(old, spec, now, s.opts.Rand)
	u.restart = nil // a fresh policy, made when first needed (tracker)
	u.startAt = time.Time{}
}

// firstInBoot reports whether a once-per-boot job's start run is due: no
// load of it, by this daemon or by one before it in the same boot, has
// had it. A reload that changes the job, or adds it back, does not run it
// again.
func (s *Supervisor) firstInBoot(name string) bool {
	if s.bootRuns == nil {
		s.bootRuns = map[string]bool{}
	}
	if s.bootRuns[name] {
		return false
	}
	s.bootRuns[name] = true
	prev := s.opts.Resume
	return prev == nil || prev.BootID == "" || prev.BootID != s.opts.BootID || !prev.Jobs[name]
}

// tracker returns the job's restart tracker, made on first use: a fresh
// one does nothing a run's start would change, and most jobs of a large
// config wait for their first fire, so they need none.
func (j *jobUnit) tracker(s *Supervisor, u *unit) *restart.Tracker {
	if u.restart == nil {
		u.restart = restart.New(restart.Policy{Backoff: j.cfg.Backoff, MaxFailures: j.cfg.MaxFailures, Jitter: s.opts.RestartJitter}, s.opts.Rand)
	}
	return u.restart
}

func (j *jobUnit) wake(u *unit) time.Time {
	var at time.Time
	switch {
	case u.stopped, u.away && u.run == nil:
	case u.away:
		// A run that finishes after its member lost the job: only its
		// timeout.
		if !u.run.stopSent {
			at = u.run.deadline
		}
	case u.run == nil:
		if w, ok := j.core.Wake(); ok {
			at = w
		}
		at = earlier(at, u.startAt)
	default:
		// Nothing starts before the run ends (which is an event), but
		// schedule fires are collected at their time, and a run past its
		// deadline is stopped.
		if w, ok := j.core.NextFire(); ok {
			at = w
		}
		if !u.run.stopSent {
			at = earlier(at, u.run.deadline)
		}
	}
	return at
}

// earlier returns the earlier of two times, zero meaning none.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// tick starts the job if it is due and stops a run past its deadline. A
// job without a command ends at once and triggers others, which the loop
// then takes in the same tick.
func (j *jobUnit) tick(s *Supervisor, u *unit, now time.Time) {
	switch {
	case u.stopped:
		return // kopf stop: nothing fires until kopf start
	case u.away:
		// Another member owns it: only the timeout of a run that
		// finishes here.
		j.enforceDeadline(s, u.run, now)
		return
	}
	if u.run != nil && u.run.p == nil {
		// Its start is in flight (a trigger from a later unit of this tick
		// made it due again): what follows sees the start done or failed,
		// as it would have without the pipelining.
		s.finishSpawns()
	}
	j.retryIfDue(s, u, now)
	busy, waiting := j.core.Running(), j.core.Queued() != nil
	plan := planFires(j.cfg.Name, j.core.Advance(now), busy, waiting)
	for _, n := range plan.notes {
		s.log.Log(context.Background(), n.level, n.text, "unit", j.cfg.Name)
	}
	for _, ev := range plan.events {
		s.record(now, ev)
	}
	if plan.replace && u.run != nil {
		s.stopRun(u.run, journal.StoppedReplaced, "a schedule fire replaces it (overlap: replace)")
	}
	switch {
	case u.run != nil:
		j.enforceDeadline(s, u.run, now)
	case !u.removed:
		j.startDue(s, u, now)
	}
}

// enforceDeadline stops r, if there is one, once its timeout is reached.
func (j *jobUnit) enforceDeadline(s *Supervisor, r *running, now time.Time) {
	if r != nil && !r.deadline.IsZero() && !r.deadline.After(now) && !r.stopSent {
		r.timedOut = true
		s.stopRun(r, journal.StoppedTimeout, fmt.Sprintf("timeout %s reached", j.cfg.Timeout))
	}
}

// retryIfDue asks the core for the retry of a failed run once its backoff
// is over (max-failures), with the failed run's arguments.
func (j *jobUnit) retryIfDue(s *Supervisor, u *unit, now time.Time) {
	if u.startAt.IsZero() || u.startAt.After(now) || u.run != nil {
		return
	}
	reason := fmt.Sprintf("retry %d of %d after a failed run", j.tracker(s, u).Failures(), j.cfg.MaxFailures)
	u.startAt = time.Time{}
	var args []string
	if j.retryArgs != nil {
		args, j.retryArgs = *j.retryArgs, nil
	}
	s.log.Info(j.core.TriggerNow(now, args, reason), "unit", j.cfg.Name)
}

// firePlan is what a tick makes of the schedule fires the core advanced
// over: what to journal, what to log, and whether the running run is
// replaced (overlap: replace).
type firePlan struct {
	events  []journal.Event // without their time: the tick's
	notes   []note
	replace bool
}

// note is a line for kopf's log.
type note struct {
	level slog.Level
	text  string
}

// planFires is the tick's decision about fires, a pure function of the
// core's answers: each fire is journaled, with where it went — dropped
// (skip), the running run replaced (replace), or queued behind the
// running run or joined to the waiting one. busy and waiting are the
// core's state before the fires; after the first fire a run waits.
func planFires(unit string, fires []job.Fire, busy, waiting bool) firePlan {
	var p firePlan
	record := func(ev journal.Event) {
		ev.Unit, ev.Kind = unit, journal.KindJob
		p.events = append(p.events, ev)
	}
	for _, f := range fires {
		fired := journal.Event{Type: journal.Fired, Source: f.Source, At: f.At}
		if !f.Start.Equal(f.At) {
			fired.Start = f.Start // moved by the job's jitter
		}
		if f.Count > 1 {
			fired.Count = f.Count
		}
		record(fired)
		switch {
		case f.Skipped:
			p.notes = append(p.notes, note{slog.LevelInfo, f.Note})
			record(journal.Event{Type: journal.Skipped, Source: f.Source, At: f.At, Count: fired.Count, Reason: f.Note})
			continue
		case f.Replace:
			p.notes = append(p.notes, note{slog.LevelInfo, f.Note})
			record(journal.Event{Type: journal.Queued, Reason: f.Note})
			for _, at := range f.Dropped {
				record(journal.Event{Type: journal.Missed, At: at,
					Reason: "its catch-up run was waiting when a fire replaced the running run (overlap: replace)"})
			}
			p.replace = true
		default:
			p.notes = append(p.notes, note{slog.LevelDebug, f.Note})
			if ev, ok := requestEvent(busy, waiting, f.Note); ok {
				record(ev)
			}
		}
		waiting = true
	}
	return p
}

// requestEvent is what the journal says of a fire or trigger that does
// not start a run of its own: queued behind the running run, or joining
// the run already waiting. A request that makes a new run is journaled
// when the run is spawned, with its reasons.
func requestEvent(busy, waiting bool, note string) (journal.Event, bool) {
	switch {
	case busy:
		return journal.Event{Type: journal.Queued, Reason: note}, true
	case waiting:
		return journal.Event{Type: journal.Skipped, Reason: note}, true
	}
	return journal.Event{}, false
}

// startDue starts the run the core says is due, if any.
func (j *jobUnit) startDue(s *Supervisor, u *unit, now time.Time) {
	run, ok := j.core.Due(now)
	if !ok {
		return
	}
	r := newRun(u, now)
	r.deadline, r.args = run.Deadline, run.Args
	if run.DroppedArgs > 0 {
		why := fmt.Sprintf("%s: %d trigger arguments dropped: the run took the first %d (max-trigger-args)", j.cfg.Title, run.DroppedArgs, len(run.Args))
		s.log.Warn(why, "unit", j.cfg.Name, "dropped", run.DroppedArgs)
		s.record(now, journal.Event{Type: journal.Dropped, Unit: j.cfg.Name, Kind: journal.KindJob, Count: run.DroppedArgs, Reason: why})
	}
	// Whatever started this run, it is the retry's chance too.
	u.startAt = time.Time{}
	if s.clustered(&j.cfg.Unit) {
		req := claimRequest(j.cfg.Name, run, now)
		r.req = &req
	}
	if j.cfg.Command == nil {
		j.runTriggersOnly(s, u, r, run, now)
		return
	}
	argv := commandLine(j.cfg, run.Args)
	// The unit runs from now; the Host starts the process while the tick
	// goes on, and what follows is done when it has (spawnInTick).
	u.run = r
	s.spawnInTick(r, argv, run, func(err error) { j.spawned(s, u, r, run, argv, err, now) })
}

// runTriggersOnly is the run of a job without a command: it ends at once
// and triggers the others.
func (j *jobUnit) runTriggersOnly(s *Supervisor, u *unit, r *running, run job.Run, now time.Time) {
	if r.req != nil {
		c, err := s.claimNow(j.cfg.Name, run, now)
		if err != nil {
			s.log.Info(fmt.Sprintf("%s does not run here: %v", r.title, err), "unit", r.unit)
			j.core.Ended(now)
			return
		}
		defer func() { go s.opts.Cluster.Ended(c, now, now, "exit 0") }()
	}
	if j.cfg.LogStart {
		s.log.Info("run "+r.title+" (no command, triggers only): "+strings.Join(run.Reasons, "; "), "unit", r.unit, "reasons", run.Reasons)
	}
	j.started(u)
	j.core.Ended(now)
	s.fireTriggers(j, "ended", now)
}

// spawned is the unit's part of a start, once the Host has started the
// process or failed to.
func (j *jobUnit) spawned(s *Supervisor, u *unit, r *running, run job.Run, argv []string, err error, now time.Time) {
	s.touch(u)
	if err == nil {
		j.started(u)
		if j.cfg.LogStart {
			s.log.Info("start "+r.title+": "+strings.Join(run.Reasons, "; "), "unit", r.unit, "pid", r.p.Pid(), "args", run.Args, "reasons", run.Reasons)
		}
		return
	}
	u.run = nil
	if errors.As(err, new(claimError)) {
		// Not this member's run: no failure, no retry.
		s.log.Info(fmt.Sprintf("%s does not start here: %v", r.title, err), "unit", r.unit, "reasons", run.Reasons)
		j.core.Ended(now)
		return
	}
	d := j.tracker(s, u).StartFailed(now, err)
	msg := fmt.Sprintf("start %s failed: %v; %s", r.title, err, d.Text)
	if d.Say {
		s.log.Error(msg, "unit", r.unit, "argv", argv, "reasons", run.Reasons)
	} else {
		s.log.Debug(msg, "unit", r.unit, "argv", argv)
	}
	j.core.Ended(now)
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

func (j *jobUnit) ended(s *Supervisor, u *unit, r *running, ex proc.Exit, now time.Time) {
	j.core.Ended(now) // also for a run of the previous config, which the core took over
	if r.by != j {
		return // that run: stopped by a reload, it fires no triggers and counts no failure
	}
	if r.stopSent && !r.timedOut {
		return // kopf stopped it; that is not the job ending
	}
	how := describeEnd(r, ex)
	s.countFailure(u, j, r, ex.Code != 0 || ex.Signal != 0 || r.timedOut, how, now)
	s.fireTriggers(j, how, now)
}

// countFailure applies max-failures after a run that ended by itself or
// timed out (runtime/restart decides): a success resets the count; a
// failure is retried after the next backoff step, until max-failures
// retries have failed in a row.
func (s *Supervisor) countFailure(u *unit, j *jobUnit, r *running, failed bool, how string, now time.Time) {
	d := j.tracker(s, u).Ended(r.start, now, failed)
	switch d.Reason {
	case restart.GaveUp:
		reason := fmt.Sprintf("%s failed %d times in a row (%s); %s", j.cfg.Title, d.Attempt, how, d.Text)
		s.log.Warn(reason, "unit", j.cfg.Name)
		s.record(now, journal.Event{Type: journal.GaveUp, Unit: j.cfg.Name, Kind: journal.KindJob, Count: d.Attempt, Reason: reason})
	case restart.Retry:
		args := r.args // not &r.args, which would keep the ended run
		u.startAt, j.retryArgs = d.At, &args
		reason := fmt.Sprintf("%s %s; %s", j.cfg.Title, how, d.Text)
		s.log.Info(reason, "unit", j.cfg.Name)
		s.record(now, journal.Event{Type: journal.Retry, Unit: j.cfg.Name, Kind: journal.KindJob, Count: d.Attempt, Reason: reason})
	}
}

// fireTriggers triggers the jobs in j's trigger list.
func (s *Supervisor) fireTriggers(j *jobUnit, how string, now time.Time) {
	for _, t := range j.cfg.Triggers {
		target, tj, err := s.job(t.Job)
		if err != nil {
			s.log.Warn(fmt.Sprintf("%s cannot trigger %s: no such job", j.cfg.Title, t.Job), "unit", j.cfg.Name)
			continue
		}
		_, note := s.triggerJob(target, tj, t.Args, j.cfg.Name, fmt.Sprintf("triggered by %s (%s)", j.cfg.Title, how), now)
		s.log.Debug(note, "unit", t.Job)
	}
}

// triggerJob asks a job to run, for a trigger from by, and journals the
// trigger and what became of it. It says whether the job was running, and
// how the core took the request.
func (s *Supervisor) triggerJob(u *unit, j *jobUnit, args []string, by, reason string, now time.Time) (busy bool, note string) {
	s.record(now, journal.Event{Type: journal.Triggered, Unit: j.cfg.Name, Kind: journal.KindJob, By: by, Args: args})
	if u.away {
		s.forward(j.cfg.Name, args, by)
		return false, reason + ": forwarded to the member that owns " + j.cfg.Name
	}
	busy, waiting := j.core.Running(), j.core.Queued() != nil
	note = j.core.Trigger(now, args, reason)
	s.touch(u)
	s.recordRequest(now, j.cfg.Name, busy, waiting, note)
	return busy, note
}

// recordRequest journals what became of a fire or trigger that does not
// start a run of its own (requestEvent).
func (s *Supervisor) recordRequest(now time.Time, unit string, busy, waiting bool, note string) {
	if ev, ok := requestEvent(busy, waiting, note); ok {
		ev.Unit, ev.Kind = unit, journal.KindJob
		s.record(now, ev)
	}
}

// start runs the job now, without waiting for idle; a job stopped with
// kopf stop is enabled again, its schedules counting from now.
func (j *jobUnit) start(s *Supervisor, u *unit, now time.Time, verb string) string {
	if u.run != nil && !u.run.stopSent {
		return fmt.Sprintf("%s is already running since %s (pid %d)", j.cfg.Name, u.run.start.Format(time.RFC3339), u.run.p.Pid())
	}
	if u.stopped {
		u.stopped = false
		j.core = job.New(jobSpec(j.cfg, s.seed, sourceName), now, s.opts.Rand)
	}
	busy := j.core.Running()
	note := j.core.TriggerNow(now, nil, "kopf "+verb)
	s.touch(u)
	return s.afterRequest(u, j, busy, note, now)
}

// afterRequest runs what is due and describes what became of a request
// to run a job: started now, queued behind the running run, or waiting.
func (s *Supervisor) afterRequest(u *unit, j *jobUnit, busy bool, note string, now time.Time) string {
	s.tick(now)
	switch {
	case busy:
		return fmt.Sprintf("queued: %s has been running since %s (pid %d); it runs again when that run ends",
			j.cfg.Name, u.run.start.Format(time.RFC3339), u.run.p.Pid())
	case u.run != nil:
		return fmt.Sprintf("started %s now (pid %d)", j.cfg.Name, u.run.p.Pid())
	case j.core.Queued() == nil && j.cfg.Command == nil:
		return fmt.Sprintf("ran %s now: it has no command and only triggers other jobs", j.cfg.Name)
	case j.core.Queued() == nil:
		return fmt.Sprintf("%s could not start; see kopf's log", j.cfg.Name)
	}
	return "queued: " + note
}

func (j *jobUnit) status(s *Supervisor, u *unit, now time.Time, st *control.Unit) {
	st.Zone = zone(j.cfg).String()
	if !u.stopped {
		if at, ok := j.core.NextFire(); ok {
			st.NextFire = at.In(zone(j.cfg))
		}
	}
	switch {
	case u.run != nil:
	case u.stopped:
	case !u.startAt.IsZero():
		st.State, st.Since, st.RestartAt = control.Retrying, j.since(u), u.startAt
	case u.restart != nil && u.restart.GaveUp():
		st.State, st.Since = control.Failed, j.since(u)
	case j.core.Queued() != nil:
		st.State, st.Since = control.Queued, j.since(u)
	default:
		st.State, st.Since = control.Waiting, j.since(u)
	}
	st.Queued = j.core.Queued()
	if u.restart != nil {
		st.Failures = u.restart.Failures()
	}
}

// started tells the restart tracker that a run started, if there is one:
// to a fresh tracker, a start changes nothing.
func (j *jobUnit) started(u *unit) {
	if u.restart != nil {
		u.restart.Started()
	}
}

// since is when a job that is not running last changed: its last end, or
// its loading.
func (j *jobUnit) since(u *unit) time.Time {
	if end := j.core.LastEnd(); end.After(u.loaded) {
		return end
	}
	return u.loaded
}

// zone is the zone of a job's schedules.
func zone(j *config.Job) *time.Location {
	if j.Location == nil {
		return time.UTC
	}
	return j.Location
}
