// Package job is the decision core of a job: something expected to end,
// started by schedule fires, a period, triggers from other jobs or from
// outside, never twice at once. The daemon's jobs (processes) and the
// in-process scheduler's jobs (Go functions) both run on it, so the two
// cannot drift apart.
//
// A Job is a pure state machine: it is fed events with the time they
// happened and answers what to do, with a reason in words for every
// decision. It never reads the clock or sleeps, so every policy is tested
// without waiting. It is not safe for concurrent use; one goroutine owns it.
//
// The rules, from kopf.md:
//
//   - A fire or trigger that arrives while the job runs queues exactly one
//     next run. The arguments of every trigger collected until that run
//     starts are all passed to it, in arrival order. A job's Overlap may
//     instead drop a schedule fire that comes while it runs (Skip), or stop
//     the running run for it (Replace).
//   - A catch-up run (CatchUp) for a fire missed while kopf was down is a
//     run of its own: several run one after another, oldest first, before
//     anything else that is waiting.
//   - idle delays a run that a trigger (or a schedule fire, which is a
//     trigger too) asked for: it starts idle after the first trigger, or
//     idle after the end of the previous run, whichever is later. Triggers
//     arriving meanwhile join that run.
//   - period and pause are the job's own rhythm: the next periodic start is
//     at least period after the previous start and at least pause after the
//     previous end, plus a random fraction of random, drawn each round.
//   - Any start resets the rhythm; a periodic start takes the triggers
//     collected so far with it.
//
// Use:
//
//	j := job.New(spec, now, nil)
//	for {
//		j.Advance(now)
//		if run, ok := j.Due(now); ok {
//			start(run) // later: j.Ended(now)
//		}
//		wake, _ := j.Wake() // sleep until then, or until an event
//	}
package job

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/kopf/kopf/compile"
)

// Source is one schedule that starts the job, with the arguments each of
// its fires adds (a kopf.md cron map entry); Name is how it reads in logs.
type Source struct {
	Name     string
	Schedule *compile.Schedule
	Args     []string
	// Jitter is the stable offset each fire starts later by
	// (compile.JitterOffset); compile.Schedule.Jitter keeps it inside the
	// fire's window and before the next fire.
	Jitter time.Duration
}

// Overlap says what a schedule fire that comes while the job runs does.
// Triggers from other jobs and from outside always queue (kopf.md: their
// arguments are collected for the next run).
type Overlap uint8

const (
	// Queue: the fire waits for the run to end, joining the one run
	// queued (kopf.md's rule, the default).
	Queue Overlap = iota
	// Skip: the fire is dropped.
	Skip
	// Replace: the running run is stopped, and the fire's run starts once
	// it has ended.
	Replace
)

var overlapNames = [...]string{Queue: "queue", Skip: "skip", Replace: "replace"}

func (o Overlap) String() string { return overlapNames[o] }

// ParseOverlap reads "queue", "skip" or "replace".
func ParseOverlap(s string) (Overlap, error) {
	for o, n := range overlapNames {
		if n == s {
			return Overlap(o), nil
		}
	}
	return 0, fmt.Errorf("unknown overlap %q; expected queue, skip or replace", s)
}

// Spec is everything that decides when a job runs.
type Spec struct {
	Overlap Overlap
	Sources []Source
	Period  time.Duration // least time from a start to the next periodic start
	Pause   time.Duration // least time from an end to the next periodic start
	Random  time.Duration // up to this much is added to each periodic wait
	Idle    time.Duration // wait after a trigger, or after the previous end, before a triggered run
	Timeout time.Duration // a run longer than this is stopped; 0 = no limit
	// RunOnStart runs the job as soon as it is loaded. For a job with a
	// period or pause it also decides whether the rhythm's first run is at
	// load (true) or one period later (false).
	RunOnStart bool
	// MaxArgs bounds the extra arguments one run collects from triggers
	// (max-trigger-args); the rest are dropped and counted in the run's
	// DroppedArgs. 0 is no bound.
	MaxArgs int
}

// maxReasons bounds the reasons a run lists; the triggers beyond them
// are counted in one more reason ("and 5,719 more triggers").
const maxReasons = 100

// Periodic reports whether the spec has a rhythm of its own.
func (s Spec) Periodic() bool { return s.Period > 0 || s.Pause > 0 }

// Run is one run the job should start now.
type Run struct {
	Start    time.Time
	Args     []string  // extra arguments, in the order their triggers arrived
	Reasons  []string  // why it runs, oldest first
	Deadline time.Time // when to stop it; zero without a timeout
	// Fires are the schedule instants the run is for, oldest first: each
	// fire that joined it (several, when the job was busy or the loop
	// late; at most 1,000 of a source's), or the missed fire a catch-up
	// run catches up. A cluster claims each (runtime/cluster); empty for
	// a run only triggers or a period started.
	Fires []time.Time
	// CatchUp says the run catches up Fires[0], missed earlier.
	CatchUp bool
	// DroppedArgs counts the trigger arguments that did not fit in the
	// run (Spec.MaxArgs) and were dropped.
	DroppedArgs int
}

// Job is the state of one job. The zero value is not usable; call New.
type Job struct {
	spec  Spec
	rnd   func() float64
	fires []time.Time  // next fire of each source; zero when it has none
	one   [1]time.Time // fires' room for a job of one source, the usual

	running   bool
	inherited bool // the run was old's, taken over by Supersede
	lastStart time.Time
	lastEnd   time.Time
	periodic  time.Time // next periodic start; zero while running or without a rhythm
	queued    *queued
	backlog   []*queued // catch-up runs, oldest first: each runs on its own, before queued
}

// queued is the one run waiting to start.
type queued struct {
	first     time.Time // when its first trigger arrived
	immediate bool      // started without waiting for idle (run-on-start)
	args      []string
	reasons   []string
	more      int         // triggers that joined beyond maxReasons, not listed in reasons
	dropped   int         // trigger arguments beyond Spec.MaxArgs
	fires     []time.Time // the schedule fires that joined it
	at        time.Time   // a catch-up run's missed fire
}

// New returns a job loaded at now. rnd returns numbers in [0, 1) for
// random; nil uses math/rand.
func New(spec Spec, now time.Time, rnd func() float64) *Job {
	if rnd == nil {
		rnd = rand.Float64
	}
	j := &Job{spec: spec, rnd: rnd}
	if j.fires = j.one[:]; len(spec.Sources) > 1 {
		j.fires = make([]time.Time, len(spec.Sources))
	}
	j.fires = j.fires[:len(spec.Sources)]
	for i, s := range spec.Sources {
		// A fire whose jittered start is still to come counts: a job loaded
		// just after a fire, within its jitter, still runs for it.
		at, ok := s.Schedule.Next(now.Add(-s.Jitter))
		for ok && s.Schedule.Jitter(at, s.Jitter).Before(now) {
			at, ok = s.Schedule.Next(at)
		}
		j.setFire(i, at)
	}
	switch {
	case spec.Periodic() && spec.RunOnStart:
		j.periodic = now
	case spec.Periodic():
		j.periodic = now.Add(spec.Period + j.jitter())
	case spec.RunOnStart:
		j.queued = &queued{first: now, immediate: true, reasons: []string{"run-on-start"}}
	}
	return j
}

// Supersede returns the core of a job whose spec changed, taking over from
// old: when old's run is still running (being stopped for the change), the
// new core counts as running until Ended is called for that run, so the
// job still never runs twice at once, and fires and triggers meanwhile
// wait for it as they would for any run. Its own schedule, rhythm and
// run-on-start start from now, as New's. The daemon and the in-process
// scheduler both replace jobs with it.
func Supersede(old *Job, spec Spec, now time.Time, rnd func() float64) *Job {
	j := New(spec, now, rnd)
	if old != nil && old.running {
		j.running, j.inherited, j.lastStart = true, true, old.lastStart
	}
	return j
}

func (j *Job) jitter() time.Duration {
	if j.spec.Random <= 0 {
		return 0
	}
	return time.Duration(j.rnd() * float64(j.spec.Random))
}

// Running reports whether a run has started and not ended.
func (j *Job) Running() bool { return j.running }

// LastStart and LastEnd are the times of the latest start and end; zero
// before the first.
func (j *Job) LastStart() time.Time { return j.lastStart }
func (j *Job) LastEnd() time.Time   { return j.lastEnd }

// Waiting returns the run queued to start (not a catch-up run): its
// arguments, why, and the schedule instants that joined it; ok is false
// when none waits.
func (j *Job) Waiting() (args, reasons []string, fires []time.Time, ok bool) {
	if q := j.queued; q != nil {
		return q.args, q.reasons, q.fires, true
	}
	return nil, nil, nil, false
}

// Queued returns the reasons of the runs waiting to start, oldest first, and
// nil when none waits: how a caller sees that a fire or trigger was queued
// behind a running run rather than lost.
func (j *Job) Queued() []string {
	var out []string
	for _, q := range j.backlog {
		out = append(out, q.reasons...)
	}
	if j.queued != nil {
		out = append(out, j.queued.reasons...)
	}
	return out
}

// setFire makes at the next fire of source i.
func (j *Job) setFire(i int, at time.Time) { j.fires[i] = at }

// due is when source i's next fire is due: the fire, moved by the
// source's jitter. It is worked out when asked, not kept: a daemon holds
// a core for each of 100k jobs, and most have no jitter.
func (j *Job) due(i int) time.Time {
	at := j.fires[i]
	if s := j.spec.Sources[i]; s.Jitter > 0 && !at.IsZero() {
		return s.Schedule.Jitter(at, s.Jitter)
	}
	return at
}

// Fire is a source's fire that Advance turned into a trigger, or dropped.
type Fire struct {
	Source string    // the source's Name
	At     time.Time // its (first) fire time
	Start  time.Time // when it was due: At, moved by the source's jitter
	Count  int       // how many fires joined: more than 1 when some were missed
	Note   string    // what became of it, in words
	// Skipped says the fire was dropped: it came while the job ran, under
	// Skip.
	Skipped bool
	// Replace says the running run must be stopped for the fire's run
	// (Replace); Dropped are the missed fires whose catch-up runs were
	// waiting, which it drops too.
	Replace bool
	Dropped []time.Time
}

// Advance turns the schedule fires due by now into triggers. Fires that were
// missed because nobody asked in time (a suspended machine, a busy loop) are
// not dropped: each source's missed fires join one run, and the note says
// how many there were.
func (j *Job) Advance(now time.Time) []Fire {
	var fires []Fire
	for i, s := range j.spec.Sources {
		at := j.fires[i]
		if at.IsZero() || j.due(i).After(now) {
			continue
		}
		start := j.due(i)
		n := 0
		var batch []time.Time // every instant that joins, for Run.Fires
		for !at.IsZero() && !at.After(now) && n < 1000 {
			n++
			batch = append(batch, at)
			at, _ = s.Schedule.Next(at)
		}
		if !at.IsZero() && !at.After(now) {
			// Over a thousand missed fires: jump rather than count on.
			at, _ = s.Schedule.Next(now)
		}
		reason := fmt.Sprintf("%s fired at %s", s.Name, j.fires[i].Format(time.RFC3339))
		if n > 1 {
			reason = fmt.Sprintf("%s fired %d times from %s to %s; the fires join one run",
				s.Name, n, j.fires[i].Format(time.RFC3339), now.Format(time.RFC3339))
		}
		first := j.fires[i]
		j.setFire(i, at)
		f := Fire{Source: s.Name, At: first, Start: start, Count: n}
		switch {
		case !j.running || j.spec.Overlap == Queue:
			f.Note = j.Trigger(now, s.Args, reason)
			j.queued.addFires(batch)
		case j.spec.Overlap == Skip:
			f.Skipped = true
			f.Note = fmt.Sprintf("%s: skipped; the job is running since %s (overlap: skip)", reason, j.lastStart.Format(time.RFC3339))
		default:
			f.Replace = true
			for _, q := range j.backlog {
				f.Dropped = append(f.Dropped, q.at)
			}
			j.backlog = nil
			j.Trigger(now, s.Args, reason)
			j.queued.addFires(batch)
			f.Note = fmt.Sprintf("%s: replaces the run started at %s (overlap: replace), which is stopped", reason, j.lastStart.Format(time.RFC3339))
		}
		fires = append(fires, f)
	}
	return fires
}

// addFires adds schedule instants to the queued run's fires, kept in
// order and without repeats (two sources may fire at one instant).
func (q *queued) addFires(ats []time.Time) {
	for _, at := range ats {
		i, found := slices.BinarySearchFunc(q.fires, at, time.Time.Compare)
		if !found {
			q.fires = slices.Insert(q.fires, i, at)
		}
	}
}

// CatchUp asks for a run of its own for the fire at, missed while kopf was
// down, with that fire's arguments: it waits behind the runs that catch up
// earlier fires, and runs before any other waiting run, as soon as the job
// is not running.
func (j *Job) CatchUp(now, at time.Time, args []string, reason string) string {
	j.backlog = append(j.backlog, &queued{first: now, immediate: true, args: args, reasons: []string{reason}, at: at})
	if n := len(j.backlog); n > 1 {
		return fmt.Sprintf("%s: runs after %d earlier catch-up runs", reason, n-1)
	}
	return reason + ": runs now"
}

// Trigger asks for a run with extra arguments, for the given reason, and
// says what became of the request.
func (j *Job) Trigger(now time.Time, args []string, reason string) string {
	if j.queued == nil {
		j.queued = &queued{first: now}
	}
	q := j.queued
	take := len(args)
	if max := j.spec.MaxArgs; max > 0 {
		take = min(take, max-len(q.args))
	}
	q.args = append(q.args, args[:take]...)
	if len(q.reasons) < maxReasons {
		q.reasons = append(q.reasons, reason)
	} else {
		q.more++
	}
	if drop := len(args) - take; drop > 0 {
		q.dropped += drop
		reason = fmt.Sprintf("%s (%d of its arguments dropped: the run has max-trigger-args %d already)", reason, drop, j.spec.MaxArgs)
	}
	switch {
	case j.running:
		return fmt.Sprintf("%s: queued; the job is running since %s and runs again when it ends",
			reason, j.lastStart.Format(time.RFC3339))
	case len(q.reasons) > 1:
		return fmt.Sprintf("%s: joins the run queued for %s", reason, j.queuedAt().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s: runs at %s", reason, j.queuedAt().Format(time.RFC3339))
}

// TriggerNow is Trigger without the wait for idle: the run starts as soon
// as the job is not running. An operator's explicit start uses it.
func (j *Job) TriggerNow(now time.Time, args []string, reason string) string {
	note := j.Trigger(now, args, reason)
	j.queued.immediate = true
	return note
}

// queuedAt is when the queued run may start, ignoring whether the job runs.
func (j *Job) queuedAt() time.Time {
	q := j.queued
	if q.immediate {
		return q.first
	}
	at := q.first
	if j.lastEnd.After(at) {
		at = j.lastEnd
	}
	return at.Add(j.spec.Idle)
}

// Due returns the run to start at now, if any, and marks the job running.
func (j *Job) Due(now time.Time) (Run, bool) {
	if j.running {
		return Run{}, false
	}
	if len(j.backlog) > 0 {
		q := j.backlog[0]
		j.backlog = j.backlog[1:]
		r := Run{Start: now, Args: q.args, Reasons: q.reasons, Fires: []time.Time{q.at}, CatchUp: true}
		if j.spec.Timeout > 0 {
			r.Deadline = now.Add(j.spec.Timeout)
		}
		j.running, j.inherited, j.lastStart = true, false, now
		return r, true
	}
	triggered := j.queued != nil && !j.queuedAt().After(now)
	periodic := !j.periodic.IsZero() && !j.periodic.After(now)
	if !triggered && !periodic {
		return Run{}, false
	}
	r := Run{Start: now}
	if periodic {
		r.Reasons = append(r.Reasons, j.periodicReason())
	}
	if q := j.queued; q != nil {
		// A periodic start takes the triggers collected so far with it.
		r.Args = q.args
		r.Reasons = append(r.Reasons, q.reasons...)
		if q.more > 0 {
			r.Reasons = append(r.Reasons, fmt.Sprintf("and %d more triggers", q.more))
		}
		r.Fires, r.DroppedArgs = q.fires, q.dropped
	}
	if j.spec.Timeout > 0 {
		r.Deadline = now.Add(j.spec.Timeout)
	}
	j.running, j.inherited, j.lastStart, j.queued, j.periodic = true, false, now, nil, time.Time{}
	return r, true
}

func (j *Job) periodicReason() string {
	if j.lastStart.IsZero() {
		if j.spec.RunOnStart {
			return "run-on-start"
		}
		return "period: first run, one period after loading"
	}
	return fmt.Sprintf("period: last start %s, last end %s", j.lastStart.Format(time.RFC3339), j.lastEnd.Format(time.RFC3339))
}

// Ended records the end of the running run at now.
func (j *Job) Ended(now time.Time) {
	if !j.running {
		return
	}
	j.running, j.lastEnd = false, now
	if j.inherited {
		// The old spec's run: the new rhythm, set by New, stands.
		j.inherited = false
		return
	}
	if j.spec.Periodic() {
		next := j.lastStart.Add(j.spec.Period)
		if p := now.Add(j.spec.Pause); p.After(next) {
			next = p
		}
		j.periodic = next.Add(j.jitter())
	}
}

// Wake returns when the job next needs attention without an outside event:
// a schedule fire, or (while idle) the queued or periodic start. False means
// only an outside event can make it run again.
func (j *Job) Wake() (time.Time, bool) {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	for i := range j.fires {
		earliest(j.due(i))
	}
	if !j.running {
		if len(j.backlog) > 0 {
			earliest(j.backlog[0].first)
		}
		if j.queued != nil {
			earliest(j.queuedAt())
		}
		earliest(j.periodic)
	}
	return at, !at.IsZero()
}

// NextFire returns when the job's next schedule fire is due (its jitter
// included), for status displays.
func (j *Job) NextFire() (time.Time, bool) {
	var at time.Time
	for i := range j.fires {
		if due := j.due(i); !due.IsZero() && (at.IsZero() || due.Before(at)) {
			at = due
		}
	}
	return at, !at.IsZero()
}
