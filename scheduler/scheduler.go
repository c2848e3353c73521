package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/runtime/job"
)

// Func is a job's work. Its context is cancelled when the run's timeout
// passes, when the job is removed or replaced without waiting, and when the
// scheduler stops.
type Func func(ctx context.Context) error

// Job describes a job. Set exactly one of Schedule, Compiled and Interval.
type Job struct {
	Name string
	// Schedule is a schedule in either dialect: "*/5 * * * *",
	// "every 10m every 1d @ 10:00-01:00". It is in the scheduler's zone
	// unless it names its own.
	Schedule string
	// Compiled is an already compiled schedule.
	Compiled *compile.Schedule
	// Interval runs the job every Interval, counted from one start to the
	// next (jumpscale's numeric interval); the first run is one Interval
	// after the job is added, or at once with RunOnStart. Unlike
	// "every 10m", which is aligned to the wall clock, it is not aligned.
	Interval time.Duration
	Func     Func
	// RunOnStart runs the job as soon as it is added (or, if the scheduler
	// has not started yet, as soon as it starts); jumpscale's
	// schedule_on_start.
	RunOnStart bool
	// Timeout cancels a run's context once it has run this long; 0 is no
	// limit.
	Timeout time.Duration
	// DST is what the schedule does at daylight saving changes; the zero
	// value is cronie's rule, as for the daemon's jobs (compile.DST).
	DST compile.DST
	// Overlap is what a schedule fire that comes while the job runs does:
	// OverlapQueue (the default) runs the job once more when the run
	// returns; OverlapSkip drops the fire (a Skipped event);
	// OverlapReplace cancels the running run's context, and the fire's
	// run starts once that run has returned. The job never runs twice at
	// once.
	Overlap Overlap
	// Jitter moves every fire of the schedule later by a stable offset in
	// [0, Jitter): a hash of Options.JitterSeed and the job's Name, the
	// same at every fire and in every process, different between jobs. It
	// keeps a fire inside its @ window and before the next fire.
	Jitter time.Duration
}

// Overlap is a job's overlap policy, the daemon's "overlap" setting.
type Overlap = job.Overlap

// The overlap policies.
const (
	OverlapQueue   = job.Queue
	OverlapSkip    = job.Skip
	OverlapReplace = job.Replace
)

// Options configure a Scheduler. The zero value is usable.
type Options struct {
	// Limit bounds how many jobs run at once; 0 is one per CPU, as the
	// reference's pool. A due job waits for a free slot; the one that has
	// waited longest goes first.
	Limit int
	// Location is the zone of schedules that name none; nil is UTC.
	Location *time.Location
	// Logger receives a record for every start, end, failure and queued
	// fire; nil discards them.
	Logger *slog.Logger
	// OnEvent is called for the same events, in the order they happened,
	// from one goroutine of the scheduler that holds no lock (so it may
	// call the Scheduler's methods). It should return quickly.
	OnEvent func(Event)
	// StopGrace is how long Remove and Replace without waiting give a
	// cancelled run to return; 0 is 10 seconds.
	StopGrace time.Duration
	// JitterSeed is, with a job's name, the key of its jitter offset, as
	// the daemon's jitter-seed: the same seed and name give the same
	// offset as a daemon's job of that name.
	JitterSeed string
}

// EventKind says what an Event reports.
type EventKind int

const (
	Started EventKind = iota // a run started; Reasons says why
	Ended                    // a run returned nil
	Failed                   // a run returned an error or panicked; Err says which
	Queued                   // a fire or trigger arrived while the job ran: it runs once the run ends
	Skipped                  // a fire arrived while the job ran and was dropped (OverlapSkip)
)

var kindNames = [...]string{"started", "ended", "failed", "queued", "skipped"}

func (k EventKind) String() string { return kindNames[k] }

// Event is something that happened to a job.
type Event struct {
	Job      string
	Kind     EventKind
	Time     time.Time
	Reasons  []string      // why a run started, or what was queued
	Err      error         // for Failed: the error, or a *PanicError
	Duration time.Duration // for Ended and Failed: how long the run took
}

// PanicError is the error of a run that panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Status is what is known about a job.
type Status struct {
	Name      string
	Running   bool
	LastStart time.Time
	LastEnd   time.Time
	LastErr   error // of the last run that ended; nil when it succeeded
	Next      time.Time
	// Queued lists why a run is waiting to start (fires and triggers that
	// arrived while the job ran, or a due run waiting for a free slot).
	Queued []string
	Runs   int // runs ended
	Fails  int // of which failed
}

var (
	// ErrExists is returned by Add for a name already in use.
	ErrExists = errors.New("scheduler: a job with this name exists")
	// ErrNotFound is returned for a name no job has.
	ErrNotFound = errors.New("scheduler: no such job")
	// ErrStillRunning is returned by Remove and Replace without waiting
	// when the cancelled run did not return within StopGrace. It keeps its
	// slot until it does.
	ErrStillRunning = errors.New("scheduler: the cancelled run did not return in time")
	// ErrStopped is returned once Stop was called.
	ErrStopped = errors.New("scheduler: stopped")
)

// Scheduler runs Go functions on kopf schedules. It is safe for concurrent
// use.
type Scheduler struct {
	opts Options
	log  *slog.Logger
	wake chan struct{}

	mu       sync.Mutex
	jobs     map[string]*entry
	running  int
	started  bool
	stopped  bool
	loopDone chan struct{}
	runs     sync.WaitGroup
	ctx      context.Context // parent of every run's context
	cancel   context.CancelFunc
	outbox   []Event       // events not yet handed to the log and OnEvent
	mailbox  chan struct{} // signals the emitter that outbox has events
	emitted  chan struct{} // closed when the emitter has delivered everything and exited
}

// entry is a registered job.
type entry struct {
	job    Job
	core   *job.Job
	run    *run // the current run; nil when idle
	prev   *run // a run of the job this one replaced, still returning
	status Status
}

// run is one run of a job.
type run struct {
	cancel context.CancelFunc
	done   chan struct{}
	start  time.Time
}

func (r *run) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// New returns a Scheduler; Start starts it.
func New(opts Options) *Scheduler {
	if opts.Limit <= 0 {
		opts.Limit = runtime.NumCPU()
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		jobs: map[string]*entry{}, loopDone: make(chan struct{}), ctx: ctx, cancel: cancel,
		mailbox: make(chan struct{}, 1), emitted: make(chan struct{}),
	}
	go s.emitter()
	return s
}

// spec checks a Job and turns it into the decision core's spec.
func (s *Scheduler) spec(j Job) (job.Spec, error) {
	if j.Name == "" || j.Func == nil {
		return job.Spec{}, errors.New("scheduler: a job needs a Name and a Func")
	}
	set := 0
	for _, b := range []bool{j.Schedule != "", j.Compiled != nil, j.Interval > 0} {
		if b {
			set++
		}
	}
	if set != 1 {
		return job.Spec{}, fmt.Errorf("scheduler: job %q: set exactly one of Schedule, Compiled and Interval", j.Name)
	}
	spec := job.Spec{RunOnStart: j.RunOnStart, Timeout: j.Timeout, Period: j.Interval, Overlap: j.Overlap}
	sched := j.Compiled
	if j.Schedule != "" {
		var err error
		if sched, err = compile.ParseWith(j.Schedule, compile.Options{Location: s.opts.Location, Name: j.Name}); err != nil {
			return job.Spec{}, fmt.Errorf("scheduler: job %q: schedule %q: %w", j.Name, j.Schedule, err)
		}
	}
	if sched != nil {
		if j.DST != (compile.DST{}) {
			sched = sched.WithDST(j.DST)
		}
		spec.Sources = []job.Source{{Name: fmt.Sprintf("schedule %q", sched), Schedule: sched,
			Jitter: compile.JitterOffset(s.opts.JitterSeed+"/"+j.Name, j.Jitter)}}
	}
	return spec, nil
}

// Add registers a job. Its schedule's clock starts now.
func (s *Scheduler) Add(j Job) error {
	spec, err := s.spec(j)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if _, ok := s.jobs[j.Name]; ok {
		return fmt.Errorf("%w: %q", ErrExists, j.Name)
	}
	s.jobs[j.Name] = &entry{job: j, core: job.New(spec, time.Now(), nil), status: Status{Name: j.Name}}
	s.poke()
	return nil
}

// Remove stops scheduling a job. If it is running, block says what to do,
// as the reference's stop_service: true waits for the run to return; false
// cancels its context and waits at most StopGrace, then returns
// ErrStillRunning.
func (s *Scheduler) Remove(name string, block bool) error {
	s.mu.Lock()
	e, ok := s.jobs[name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	delete(s.jobs, name)
	r := e.run
	s.mu.Unlock()
	return s.end(r, block)
}

// Replace swaps a running job for a new definition under the same name, as
// the reference's add_service does for a service it already runs: the old
// one is removed (block as in Remove) and the new one added. The new one
// never starts while a run of the old one is still returning.
func (s *Scheduler) Replace(j Job, block bool) error {
	spec, err := s.spec(j)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	old, ok := s.jobs[j.Name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrNotFound, j.Name)
	}
	r := old.run
	s.jobs[j.Name] = &entry{job: j, core: job.Supersede(old.core, spec, time.Now(), nil), prev: r, status: Status{Name: j.Name}}
	s.poke()
	s.mu.Unlock()
	return s.end(r, block)
}

// end waits for a run that is no longer scheduled: for good when block,
// otherwise after cancelling it, for at most StopGrace.
func (s *Scheduler) end(r *run, block bool) error {
	if r == nil {
		return nil
	}
	if block {
		<-r.done
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-time.After(s.opts.StopGrace):
		return ErrStillRunning
	}
}

// Trigger asks a job to run as soon as it may: now, or once its current run
// ends.
func (s *Scheduler) Trigger(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	e, ok := s.jobs[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	e.core.Trigger(time.Now(), nil, "triggered")
	s.poke()
	return nil
}

// Status returns what is known about a job.
func (s *Scheduler) Status(name string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.jobs[name]
	if !ok {
		return Status{}, false
	}
	return e.snapshot(s), true
}

// Statuses returns every job's status, sorted by name.
func (s *Scheduler) Statuses() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.jobs))
	for _, e := range s.jobs {
		out = append(out, e.snapshot(s))
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (e *entry) snapshot(s *Scheduler) Status {
	st := e.status
	st.Running = e.run != nil
	st.Queued = e.core.Queued()
	if e.run == nil {
		if at, ok := e.core.Wake(); ok {
			st.Next = at
		}
		if !st.Next.IsZero() && !st.Next.After(time.Now()) && s.running >= s.opts.Limit {
			st.Queued = append(st.Queued, fmt.Sprintf("waiting for a free slot: %d of %d running", s.running, s.opts.Limit))
		}
	} else if at, ok := e.core.NextFire(); ok {
		st.Next = at
	}
	return st
}

// Start starts running jobs, in a goroutine of the scheduler's own.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	go s.loop()
}

// Stop cancels every run's context and stops scheduling, and returns once
// every run has returned, or with ctx's error when ctx ends first.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		s.cancel()
		s.poke()
	}
	started := s.started
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		if started {
			<-s.loopDone
		}
		s.runs.Wait()
		s.mu.Lock()
		s.queue() // wakes the emitter, which sees stopped and an empty loop
		s.mu.Unlock()
		<-s.emitted
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// poke wakes the loop; s.mu is held or not, it never blocks.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop starts what is due and sleeps until something may be due.
func (s *Scheduler) loop() {
	defer close(s.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		wake := s.tick(time.Now())
		s.mu.Unlock()
		d := time.Hour
		if !wake.IsZero() {
			d = max(time.Until(wake), 0)
		}
		timer.Reset(d)
		select {
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// tick starts the due jobs that fit under the limit, longest waiting
// first, and returns the next time anything may be due; s.mu is held.
func (s *Scheduler) tick(now time.Time) time.Time {
	type due struct {
		e  *entry
		at time.Time
	}
	var ready []due
	var wake time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	for name, e := range s.jobs {
		for _, f := range e.core.Advance(now) {
			switch {
			case f.Skipped:
				s.queue(Event{Job: name, Kind: Skipped, Time: now, Reasons: []string{f.Note}})
			case f.Replace && e.run != nil:
				e.run.cancel()
				s.queue(Event{Job: name, Kind: Queued, Time: now, Reasons: []string{f.Note}})
			case e.run != nil:
				s.queue(Event{Job: name, Kind: Queued, Time: now, Reasons: e.core.Queued()})
			}
		}
		if e.prev != nil && e.prev.finished() {
			e.prev = nil
			e.core.Ended(now) // the run the core took over from the job's old definition
		}
		if e.run != nil || e.prev != nil {
			// Only an event (the run returning) lets it start; fires are
			// still collected on time.
			if at, ok := e.core.NextFire(); ok {
				earliest(at)
			}
			continue
		}
		if at, ok := e.core.Wake(); ok {
			if at.After(now) {
				earliest(at)
			} else {
				ready = append(ready, due{e, at})
			}
		}
	}
	slices.SortFunc(ready, func(a, b due) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.e.job.Name, b.e.job.Name)
	})
	for _, d := range ready {
		if s.running < s.opts.Limit { // otherwise a run ending wakes the loop
			if r, ok := d.e.core.Due(now); ok {
				s.startRun(d.e, r)
			}
		}
		if at, ok := d.e.core.NextFire(); ok {
			earliest(at) // fires are collected on time, running or waiting
		}
	}
	return wake
}

// startRun starts a run of e in a goroutine; s.mu is held.
func (s *Scheduler) startRun(e *entry, r job.Run) {
	var ctx context.Context
	var cancel context.CancelFunc
	if r.Deadline.IsZero() {
		ctx, cancel = context.WithCancel(s.ctx)
	} else {
		ctx, cancel = context.WithDeadline(s.ctx, r.Deadline)
	}
	rn := &run{cancel: cancel, done: make(chan struct{}), start: r.Start}
	e.run = rn
	e.status.LastStart = r.Start
	s.running++
	s.runs.Add(1)
	s.queue(Event{Job: e.job.Name, Kind: Started, Time: r.Start, Reasons: r.Reasons})
	go s.execute(ctx, e, rn)
}

// execute runs a job's function, recovering a panic, and records the end.
func (s *Scheduler) execute(ctx context.Context, e *entry, rn *run) {
	defer s.runs.Done()
	err := call(ctx, e.job.Func)
	rn.cancel()
	now := time.Now()
	s.mu.Lock()
	s.running--
	ev := Event{Job: e.job.Name, Kind: Ended, Time: now, Duration: now.Sub(rn.start)}
	e.status.LastEnd, e.status.LastErr = now, err
	e.status.Runs++
	if err != nil {
		ev.Kind, ev.Err = Failed, err
		e.status.Fails++
	}
	if e.run == rn {
		e.run = nil
		e.core.Ended(now)
	}
	s.queue(ev)
	close(rn.done)
	s.poke()
	s.mu.Unlock()
}

// call runs f, turning a panic into a *PanicError.
func call(ctx context.Context, f Func) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f(ctx)
}

// queue records events for the emitter, in the order the state changed;
// s.mu is held.
func (s *Scheduler) queue(events ...Event) {
	s.outbox = append(s.outbox, events...)
	select {
	case s.mailbox <- struct{}{}:
	default:
	}
}

// emitter hands queued events to the log and the hook, one at a time and
// in order, until the scheduler has stopped and every event is out.
func (s *Scheduler) emitter() {
	defer close(s.emitted)
	for range s.mailbox {
		s.mu.Lock()
		events := s.outbox
		s.outbox = nil
		last := s.stopped && s.running == 0 && !s.loopRunning()
		s.mu.Unlock()
		s.emit(events)
		if last {
			return
		}
	}
}

// loopRunning reports whether the loop goroutine has not yet exited.
func (s *Scheduler) loopRunning() bool {
	if !s.started {
		return false
	}
	select {
	case <-s.loopDone:
		return false
	default:
		return true
	}
}

// emit logs events and hands them to the hook.
func (s *Scheduler) emit(events []Event) {
	for _, ev := range events {
		switch ev.Kind {
		case Started:
			s.log.Info("start "+ev.Job+": "+strings.Join(ev.Reasons, "; "), "job", ev.Job)
		case Ended:
			s.log.Info(fmt.Sprintf("end %s after %s", ev.Job, ev.Duration), "job", ev.Job)
		case Failed:
			s.log.Error(fmt.Sprintf("%s failed after %s: %v", ev.Job, ev.Duration, ev.Err), "job", ev.Job, "error", ev.Err)
		case Queued:
			s.log.Info(ev.Job+" is running; queued: "+strings.Join(ev.Reasons, "; "), "job", ev.Job)
		}
		if s.opts.OnEvent != nil {
			s.opts.OnEvent(ev)
		}
	}
}
