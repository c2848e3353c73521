// Package supervise runs a kopf config: procs, which always run and are
// restarted whatever their exit, and jobs, which run on schedules, periods
// and triggers and never twice at once.
//
// One goroutine owns all state. Timers, process exits, reloads, control
// commands (Status, Trigger, Start, Stop, Restart, Next), health check
// results and file changes arrive as events on its loop; the decisions are
// made by pure objects fed the current time — runtime/job's Job for when a
// job runs (the same core the in-process scheduler uses), runtime/restart's
// Tracker for what follows an end or a failed start of either kind,
// runtime/health's Tracker for health checks — and every decision is
// logged with its reason and journaled. Work that takes time (a health
// check, a file's hash, a mail) runs off the loop and reports back to it.
// In tests, testing/synctest's bubble supplies the time and a fake Host the
// processes, so no policy test waits on the clock.
//
// Jobs and procs are one type, unit: its settings, its run, its restart
// policy and its status. The loop's steps (reload, arm, tick, stop, status)
// are each one walk over the units; what only one kind decides — a job's
// fires, triggers and retries, a proc's restarts, health checks and file
// watches — is the unit's kind (unitKind: jobUnit, procUnit).
//
// The files: supervise.go the loop and processes; units.go the unit and
// reloads; job.go and proc.go the two kinds; control.go the control
// commands; catchup.go fires missed while kopf was down; health.go ports
// and health checks; files.go restart-on-change and hup-on-change; mail.go
// output to mail.
//
// Use:
//
//	s := supervise.New(supervise.Options{Host: host, Logger: log, Events: events.Publish})
//	go func() { for cfg := range reloads { s.Reload(cfg) } }()
//	err := s.Run(ctx, cfg) // returns when ctx is done and everything has stopped
package supervise

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/health"
	"github.com/kopf/kopf/runtime/job"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/mail"
	"github.com/kopf/kopf/runtime/ports"
	"github.com/kopf/kopf/runtime/proc"
	"github.com/kopf/kopf/runtime/watch"
)

// Host starts processes; *proc.Host is one (through ProcHost), tests use a
// fake.
type Host interface {
	Start(proc.Spec) (Process, error)
	// Begin starts a process without waiting for it: the returned function
	// waits, and returns what Start would have. The loop begins the
	// starts of one tick one after another and waits for them after.
	Begin(proc.Spec) func() (Process, error)
	// KillOrphans stops processes reparented to kopf that it did not start.
	KillOrphans(grace time.Duration)
	// Kept lists the ended runs whose leftovers run on (leftovers "keep"),
	// by their Spec's Label; StopKept ends those of a label: SIGTERM, and
	// SIGKILL after grace. Both may scan processes: never on the loop.
	Kept() []proc.KeptRun
	StopKept(label string, grace time.Duration) int
}

// Process is a started process and the run it leads (see runtime/proc).
type Process interface {
	Pid() int
	StartTicks() uint64 // when it started, for the journal
	Run() string        // the run's name, for the journal
	Cgroup() string     // the run's cgroup; "" without
	Done() <-chan proc.Exit
	Stop(grace time.Duration)        // SIGTERM to every process of the run, SIGKILL after grace
	Signal(sig syscall.Signal) error // to the process only
}

// ProcHost adapts the OS process layer to Host.
func ProcHost(h *proc.Host) Host { return procHost{h} }

type procHost struct{ h *proc.Host }

func (p procHost) Start(s proc.Spec) (Process, error) { return p.h.Start(s) }
func (p procHost) Begin(s proc.Spec) func() (Process, error) {
	st := p.h.Begin(s)
	return func() (Process, error) {
		pr, err := st.Wait()
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return pr, nil
	}
}
func (p procHost) KillOrphans(grace time.Duration) { p.h.KillOrphans(grace) }
func (p procHost) Kept() []proc.KeptRun            { return p.h.Kept() }
func (p procHost) StopKept(label string, grace time.Duration) int {
	return p.h.StopKept(label, grace)
}

// Options configure a Supervisor.
type Options struct {
	Host   Host
	Logger *slog.Logger // nil discards
	// Dir is what a relative `dir` is relative to; "" is kopf's working
	// directory.
	Dir string
	// Environ is kopf's own environment, which each unit's env extends; nil
	// is os.Environ().
	Environ []string
	// Rand returns numbers in [0, 1) for jobs' random delays and restart
	// jitter; nil is math/rand.
	Rand func() float64
	// RestartJitter is the largest fraction of a restart or retry wait
	// added to it at random, so that units that fail together do not
	// start again in lockstep (runtime/restart); 0 adds none. kopf run
	// uses DefaultRestartJitter.
	RestartJitter float64
	// OrphanGrace is how long orphans get after SIGTERM when kopf stops;
	// 0 is 10 seconds.
	OrphanGrace time.Duration
	// Events publishes every decision the supervisor acts on, as the
	// journal's events, before it acts (runtime/stream: the journal and
	// the other subscribers); nil publishes nothing.
	Events func(...journal.Event)
	// Resume is what the journal says of the daemon before this one: jobs
	// with catch-up run at start for fires missed since it was last seen,
	// and a once-per-boot job it had in the same boot does not run again.
	// nil for none.
	Resume *journal.Previous
	// BootID is the machine's boot id, to tell whether Resume's daemon ran
	// in this boot; "" reads it from the kernel (journal.BootID).
	BootID string
	// Mail sends a run's output to its mail-to; it must not block. nil
	// sends nothing.
	Mail func(mail.Message)
	// Hostname names the machine in mails; "" is os.Hostname.
	Hostname string
	// Ready is called on the loop once the first config is applied and
	// every unit armed (systemd's READY=1); nil for none.
	Ready func()
	// Heartbeat is called from the loop every HeartbeatEvery, when that
	// is more than 0 (systemd's WATCHDOG=1): a loop that is stuck stops
	// calling it, and the watchdog then sees kopf as hung.
	Heartbeat      func()
	HeartbeatEvery time.Duration
	// Output, when set, also gets every output line of a unit with
	// log-output (the status page keeps their tail).
	Output func(unit, stream, line string)
	// RawOutput passes on an output line of a unit with `log-output:
	// "raw"`, as it is; nil logs it as the message of an Info record.
	RawOutput func(unit, title, stream, line string)
	// HTTPProbe runs an HTTP health check; nil is health.HTTP.
	HTTPProbe func(ctx context.Context, url string, timeout time.Duration, body string) error
	// WatchFiles calls changed whenever paths may have changed, until ctx
	// is done, for restart-on-change and hup-on-change; nil is
	// runtime/watch with its default debounce.
	WatchFiles func(ctx context.Context, paths []string, changed func()) error
	// Cluster makes this daemon a member of a cluster: units of placement
	// "one" run only while it owns them, each run only once the cluster
	// granted it (supervise's cluster.go). nil runs everything here.
	Cluster Cluster
	// Now is the daemon's clock; nil is time.Now. (A test of a cluster
	// sets one member's clock off by a minute or two.)
	Now func() time.Time
}

// DefaultRestartJitter is the restart jitter of kopf run: up to a quarter
// of each restart or retry wait is added at random, as Nomad's restart
// tracker does, so procs that die together spread their restarts.
const DefaultRestartJitter = 0.25

// Supervisor runs one config at a time; Reload swaps it.
type Supervisor struct {
	opts  Options
	log   *slog.Logger
	ports *ports.Allocator
	exits chan exitEvent
	calls chan func(now time.Time) // run on the loop goroutine: reloads, triggers, control
	done  chan struct{}            // closed when Run returns

	// Owned by the loop goroutine.
	// bootRuns are the once-per-boot jobs whose start run this boot has
	// had (or skipped, a daemon before this one in the same boot having
	// run it); made on first use.
	bootRuns  map[string]bool
	seed      string                // the config's jitter-seed
	units     map[string]*unit      // every job and proc, by name
	queue     queue                 // the units that need the loop at a time
	dirty     []*unit               // touched since the last refresh; each has unit.dirty set
	refreshed int                   // units refresh has looked at, for tests
	active    map[*running]struct{} // runs whose process is running
	// partials are the active runs that mail their output so far on a
	// timer (mail-partial-after): arm and mailParts look at those only,
	// not at every run.
	partials map[*running]struct{}
	alive    int // processes started and not yet reaped
	stopping bool
	watching sync.WaitGroup       // the goroutines of file watches, removed ones included
	held     []journal.Event      // events journaled with the next one (hold)
	ticking  bool                 // in a tick: record holds all but spawns
	names    map[[2]string]string // source names during a reload (sourceName)
	spawning []*spawning          // the starts the tick has begun (spawnInTick)
	// In a cluster: the units this member owns, with their epochs; the
	// units handed off, released once their run ends; the unit lists
	// for the cluster (pushUnits).
	owned     map[string]int64
	releasing map[string]int64
	pushing   chan []cluster.Unit
}

type exitEvent struct {
	run  *running
	exit proc.Exit
}

// New returns a Supervisor; Run starts it.
func New(opts Options) *Supervisor {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	if opts.OrphanGrace == 0 {
		opts.OrphanGrace = 10 * time.Second
	}
	if opts.Events == nil {
		opts.Events = func(...journal.Event) {}
	}
	if opts.WatchFiles == nil {
		log := opts.Logger
		opts.WatchFiles = func(ctx context.Context, paths []string, changed func()) error {
			return watch.Watch(ctx, paths, watch.Options{Logger: log}, changed)
		}
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.HTTPProbe == nil {
		opts.HTTPProbe = health.HTTP
	}
	if opts.RawOutput == nil {
		log := opts.Logger
		opts.RawOutput = func(unit, title, stream, line string) {
			log.Info(line, "unit", unit, "title", title, "stream", stream)
		}
	}
	if opts.BootID == "" {
		opts.BootID = journal.BootID()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Supervisor{
		opts:     opts,
		log:      opts.Logger,
		exits:    make(chan exitEvent),
		calls:    make(chan func(time.Time)),
		done:     make(chan struct{}),
		ports:    ports.NewAllocator(),
		units:    map[string]*unit{},
		active:   map[*running]struct{}{},
		partials: map[*running]struct{}{},
	}
}

// ErrStopped is returned by Reload, Trigger and the control operations
// once the supervisor is stopping.
var ErrStopped = errors.New("kopf is stopping")

// Run starts cfg's procs and jobs and supervises them until ctx is done.
// Then it stops every proc and running job (SIGTERM, stop-time, SIGKILL),
// waits for them, stops the orphans left behind, and returns nil.
func (s *Supervisor) Run(ctx context.Context, cfg *config.Config) error {
	now := s.opts.Now()
	s.apply(cfg, now)
	s.catchUp(now)
	// Reading a large config leaves its parse tree behind as garbage:
	// give it back now rather than when the scavenger gets to it (with
	// 100k jobs, 410 MB of RSS after start-up instead of 199 MB), beside
	// the loop rather than before it (that is 0.2 s of collecting).
	go debug.FreeOSMemory()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	if s.opts.Ready != nil {
		s.opts.Ready()
	}
	var beat <-chan time.Time
	if s.opts.HeartbeatEvery > 0 && s.opts.Heartbeat != nil {
		t := time.NewTicker(s.opts.HeartbeatEvery)
		defer t.Stop()
		beat = t.C
		s.opts.Heartbeat()
	}
	done := ctx.Done()
	for {
		now := s.opts.Now()
		s.tick(now)
		if s.stopping && s.alive == 0 {
			break
		}
		s.arm(timer, now)
		select {
		case <-done:
			done = nil
			s.stopAll(s.opts.Now())
		case ev := <-s.exits:
			s.exited(ev, s.opts.Now())
		case fn := <-s.calls:
			fn(s.opts.Now())
		case <-beat:
			s.opts.Heartbeat()
		case <-timer.C:
		}
	}
	s.log.Info("stopped every proc and job; stopping orphans", "grace", s.opts.OrphanGrace.String())
	s.opts.Host.KillOrphans(s.opts.OrphanGrace)
	for _, u := range s.units {
		u.kind.unload()
	}
	if s.pushing != nil {
		close(s.pushing) // the goroutine that hands the cluster its units ends
	}
	close(s.done) // a watch waiting in call gets ErrStopped
	s.watching.Wait()
	return nil
}

// Alive reports whether the loop answers within timeout: nil when it did,
// ErrStopped once kopf is stopping, and an error that says how long it
// waited when the loop is stuck (a liveness check of kopf itself).
func (s *Supervisor) Alive(timeout time.Duration) error {
	answered := make(chan error, 1)
	go func() { answered <- s.call(func(time.Time) error { return nil }) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-answered:
		return err
	case <-t.C:
		return fmt.Errorf("kopf's loop has not answered within %s", timeout)
	}
}

// call runs fn on the loop goroutine, with the loop's idea of now, and
// waits for it; it returns ErrStopped once kopf is stopping.
func (s *Supervisor) call(fn func(now time.Time) error) error {
	var err error
	done := make(chan struct{})
	run := func(now time.Time) {
		defer close(done)
		if s.stopping {
			err = ErrStopped
			return
		}
		err = fn(now)
	}
	select {
	case s.calls <- run:
		<-done
		return err
	case <-s.done:
		return ErrStopped
	}
}

// Reload replaces the running config: unchanged units keep running
// untouched, changed ones restart, removed ones stop, new ones start. It
// says what it did, and returns ErrStopped once kopf is stopping.
func (s *Supervisor) Reload(cfg *config.Config) (Summary, error) {
	var sum Summary
	err := s.call(func(now time.Time) error {
		sum = s.apply(cfg, now)
		return nil
	})
	return sum, err
}

// arm sets the timer to the earliest time any unit needs attention.
func (s *Supervisor) arm(timer *time.Timer, now time.Time) {
	var at time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	s.refresh()
	if verifyQueue {
		s.verify()
	}
	if !s.stopping {
		earliest(s.queue.first())
	}
	for r := range s.partials {
		earliest(r.mail.next)
	}
	d := time.Hour
	if !at.IsZero() {
		d = max(at.Sub(now), 0)
	}
	timer.Reset(d)
}

// tick starts what is due at now and stops runs past their deadline. A job
// without a command ends at once and may trigger others, so it loops until
// nothing changes.
func (s *Supervisor) tick(now time.Time) {
	s.ticking = true
	defer func() {
		s.finishSpawns()
		s.ticking = false
		s.flush()
	}()
	s.mailParts(now)
	if s.stopping {
		return
	}
	// Each due unit in turn, in the queue's order; one a tick makes due
	// (a job without a command triggers others) is taken in the same tick.
	// A unit's tick always moves its time past now; the bound only keeps
	// a broken wake from spinning the loop.
	for passes := 0; ; passes++ {
		s.refresh()
		if s.queue.Len() == 0 || s.queue.first().After(now) {
			return
		}
		if passes > 4*len(s.units)+100 {
			u := s.queue[0]
			s.log.Error(fmt.Sprintf("%s stays due at %s after its tick; it waits for the next event", u.cfg.Title, u.wakeAt.Format(time.RFC3339Nano)), "unit", u.cfg.Name)
			return
		}
		u := heap.Pop(&s.queue).(*unit)
		u.wakeAt = time.Time{}
		u.kind.tick(s, u, now)
		s.touch(u)
	}
}

// stopAll stops every process for kopf's own shutdown.
func (s *Supervisor) stopAll(now time.Time) {
	s.stopping = true
	for _, u := range s.queue { // nothing starts any more
		u.qi, u.wakeAt = 0, time.Time{}
	}
	s.queue = nil
	s.log.Info("stopping every proc and running job", "running", s.alive)
	runs := s.runs()
	slices.SortFunc(runs, func(a, b *running) int {
		if a.kind() != b.kind() {
			return strings.Compare(string(a.kind()), string(b.kind()))
		}
		return strings.Compare(a.unit, b.unit)
	})
	for _, r := range runs {
		s.stopRun(r, journal.StoppedShutdown, "kopf is stopping")
	}
}

// record journals ev at now, after the events held back. In a tick, every
// event but a spawn is held (the fires, skips and queued requests of the
// instant) and goes to the journal with the next spawn, in one write(2),
// or at the end of the tick. A spawn is never held: it says that a
// process exists, which a kopf started after a crash must know.
func (s *Supervisor) record(now time.Time, ev journal.Event) {
	if s.ticking && ev.Type != journal.Spawned {
		s.hold(now, ev)
		return
	}
	ev.Time = now
	if len(s.held) == 0 {
		s.opts.Events(ev)
		return
	}
	s.opts.Events(append(s.held, ev)...)
	s.emptyHeld()
}

// hold journals ev with the next event recorded, or at the end of the
// reload or tick (flush), or with the maxHeld-1 events after it: a load
// of 100k units publishes their source events in a hundred calls, which
// the journal writes in a few write(2)s each. (An Event is large: holding
// 100k of them would cost more in copying than it saves.)
func (s *Supervisor) hold(now time.Time, ev journal.Event) {
	ev.Time = now
	s.held = append(s.held, ev)
	if len(s.held) == maxHeld {
		s.opts.Events(s.held...)
		s.held = s.held[:0]
	}
}

const maxHeld = 1024

// flush journals the events held back.
func (s *Supervisor) flush() {
	if len(s.held) > 0 {
		s.opts.Events(s.held...)
	}
	s.emptyHeld()
}

// emptyHeld forgets the events held once they are journaled; the room
// for a tick's few is kept, that of a load's thousand is not.
func (s *Supervisor) emptyHeld() {
	if cap(s.held) > 64 {
		s.held = nil
		return
	}
	clear(s.held) // no strings kept alive
	s.held = s.held[:0]
}

// kind names a run's unit kind as the journal does.
func (r *running) kind() journal.Kind { return r.by.journalKind() }

// running is one started run of a job or proc.
type running struct {
	unit     string       // the job or proc name
	title    string       // its title
	cfg      *config.Unit // the settings it started with
	by       unitKind     // the kind that started it; a reload replaces the unit's
	p        Process      // nil for a job without a command
	start    time.Time
	deadline time.Time         // job timeout; zero without one
	stopSent bool              // kopf stopped it (reload, removal, timeout or shutdown)
	cause    journal.StoppedBy // why
	timedOut bool
	args     []string       // a job run's extra arguments
	ended    chan struct{}  // closed when the process has ended
	ports    map[string]int // allocated for this run, by name
	checks   *checks        // a proc's health checks; nil without
	mail     *runMail       // output to mail; nil without mail-to
	logCap   *logCap        // log-output-max; nil without a logged output
	// In a cluster: the claim to make before the start (nil for none),
	// and the claim the cluster granted, whose outcome the end writes.
	req   *cluster.Request
	claim *cluster.Claim
}

// newRun is a run of u starting at now, not yet spawned.
func newRun(u *unit, now time.Time) *running {
	return &running{unit: u.cfg.Name, title: u.cfg.Title, cfg: u.cfg, by: u.kind, start: now, ended: make(chan struct{})}
}

// spawning is a run whose process the Host is starting.
type spawning struct {
	r    *running
	argv []string
	run  job.Run
	wait func() (Process, error)
	then func(err error) // the unit's part, once the process started or failed
}

// spawn starts argv for r's unit and watches for its exit; a job's run
// comes with its arguments and reasons, for the journal.
func (s *Supervisor) spawn(r *running, argv []string, run job.Run) error {
	sp, err := s.beginSpawn(r, argv, run)
	if err != nil {
		return err
	}
	return s.finishSpawn(sp)
}

// spawnInTick is spawn for a run the tick starts: the Host starts its
// process while the tick goes on with the next units, and then is called
// with spawn's result before the tick returns. When a thousand jobs fire
// at one instant, each start's bookkeeping is done while the spawner
// forks the one before. Until then the run has no process (r.p is nil);
// nothing but the tick sees it in that time.
func (s *Supervisor) spawnInTick(r *running, argv []string, run job.Run, then func(err error)) {
	// A few in flight keep the spawner busy while the loop records the
	// oldest; more would only hold the records back.
	for len(s.spawning) >= maxSpawning {
		s.finishOldest()
	}
	sp, err := s.beginSpawn(r, argv, run)
	if err != nil {
		then(err)
		return
	}
	sp.then = then
	s.spawning = append(s.spawning, sp)
}

// maxSpawning is how many starts a tick has in flight at most.
const maxSpawning = 8

// finishOldest waits for the oldest start in flight and does its unit's
// part.
func (s *Supervisor) finishOldest() {
	sp := s.spawning[0]
	s.spawning = append(s.spawning[:0], s.spawning[1:]...)
	sp.then(s.finishSpawn(sp))
}

// finishSpawns waits for the starts the tick began, in order.
func (s *Supervisor) finishSpawns() {
	for len(s.spawning) > 0 {
		s.finishOldest()
	}
}

// beginSpawn prepares r's process and hands it to the Host.
func (s *Supervisor) beginSpawn(r *running, argv []string, run job.Run) (*spawning, error) {
	u := r.cfg
	spec := proc.Spec{
		Argv:          argv,
		Dir:           s.dir(u.Dir),
		Label:         string(r.kind()) + "-" + r.unit,
		KeepLeftovers: u.KeepLeftovers,
		LeftoverGrace: u.StopTime,
	}
	if in := u.Stdin(); in != "" {
		spec.Stdin = []byte(in)
	}
	var cred *config.Credentials
	if as := u.As(); as != nil {
		// Looked up at each start, as cron and systemd do: a user's
		// groups may have changed since the config was read.
		c, err := as.Resolve()
		if err != nil {
			s.record(r.start, journal.Event{Type: journal.SpawnError, Unit: r.unit, Kind: r.kind(), Argv: argv, Error: err.Error()})
			return nil, err
		}
		spec.Credential = &syscall.Credential{Uid: c.Uid, Gid: c.Gid, Groups: c.Groups}
		cred = c
	}
	spec.Env = s.environ(u, cred)
	if len(u.Ports) > 0 {
		if err := s.allocatePorts(r, u, &spec); err != nil {
			s.record(r.start, journal.Event{Type: journal.SpawnError, Unit: r.unit, Kind: r.kind(), Argv: argv, Error: err.Error()})
			return nil, err
		}
		argv = spec.Argv
	}
	spec.Output = s.output(r, u)
	sp := &spawning{r: r, argv: argv, run: run}
	if r.req == nil {
		if s.opts.Cluster != nil {
			// A unit of placement "each" knows the member it runs on.
			spec.Env = append(slices.Clip(spec.Env), "KOPF_MEMBER="+s.opts.Cluster.Name())
		}
		sp.wait = s.opts.Host.Begin(spec)
		return sp, nil
	}
	member := s.opts.Cluster.Name()
	sp.wait = s.claimed(r, *r.req, func() func() (Process, error) { return s.opts.Host.Begin(spec) },
		func(c cluster.Claim) { spec.Env = append(slices.Clip(spec.Env), claimEnv(c, member)...) })
	return sp, nil
}

// output is where r's output lines go: kopf's log (log-output, within
// log-output-max) and the page's tail, and the mail (mail-to); nil for
// nowhere.
func (s *Supervisor) output(r *running, u *config.Unit) func(stream, line string) {
	var outputs []func(stream, line string)
	var logLine func(stream, line string)
	switch {
	case u.LogRaw:
		unit, title, raw := r.unit, r.title, s.opts.RawOutput
		logLine = func(stream, line string) { raw(unit, title, stream, line) }
	case u.LogOutput:
		log := s.log.With("unit", r.unit, "title", r.title)
		logLine = func(stream, line string) { log.Info(r.title+": "+line, "stream", stream) }
	}
	if logLine != nil {
		if max := u.LogOutputMax(); max > 0 {
			logLine = s.capLog(r, max, logLine)
		}
		if tail := s.opts.Output; tail != nil {
			unit, logged := r.unit, logLine
			logLine = func(stream, line string) {
				logged(stream, line)
				tail(unit, stream, line)
			}
		}
		outputs = append(outputs, logLine)
	}
	if len(u.MailTo) > 0 {
		r.mail = &runMail{unit: u, out: mail.NewOutput(0)}
		if u.MailPartialAfter > 0 {
			r.mail.next = r.start.Add(u.MailPartialAfter)
		}
		outputs = append(outputs, r.mail.out.Line)
	}
	switch len(outputs) {
	case 1:
		return outputs[0]
	case 2:
		return func(stream, line string) {
			outputs[0](stream, line)
			outputs[1](stream, line)
		}
	}
	return nil
}

// finishSpawn waits until sp's process has started, and records it.
func (s *Supervisor) finishSpawn(sp *spawning) error {
	r, argv, run := sp.r, sp.argv, sp.run
	p, err := sp.wait()
	if err != nil {
		s.ports.Release(r.ports)
		switch {
		case errors.Is(err, errStaleStart):
			s.log.Warn(fmt.Sprintf("%s: %v", r.title, errStaleStart), "unit", r.unit)
			s.record(r.start, journal.Event{Type: journal.Fenced, Unit: r.unit, Kind: r.kind(), Member: s.opts.Cluster.Name(), Reason: errStaleStart.Error()})
		case !errors.As(err, new(claimError)):
			s.record(r.start, journal.Event{Type: journal.SpawnError, Unit: r.unit, Kind: r.kind(), Argv: argv, Error: err.Error()})
		}
		return err
	}
	r.p = p
	s.alive++
	s.active[r] = struct{}{}
	if r.mail != nil && !r.mail.next.IsZero() {
		s.partials[r] = struct{}{}
	}
	s.record(r.start, journal.Event{
		Type: journal.Spawned, Unit: r.unit, Kind: r.kind(), PID: p.Pid(), StartTicks: p.StartTicks(),
		Run: p.Run(), Cgroup: p.Cgroup(), Argv: argv, Args: run.Args, Reasons: run.Reasons,
	})
	go func() {
		ex := <-p.Done()
		s.exits <- exitEvent{run: r, exit: ex}
	}()
	return nil
}

func (s *Supervisor) dir(d string) string {
	if d == "" || filepath.IsAbs(d) {
		return d
	}
	if s.opts.Dir == "" {
		return d
	}
	return filepath.Join(s.opts.Dir, d)
}

// stopRun stops r: SIGTERM, then SIGKILL after the stop-time r started
// with. cause is for the journal, why for the log.
func (s *Supervisor) stopRun(r *running, cause journal.StoppedBy, why string) {
	if r.stopSent || r.p == nil {
		return
	}
	r.stopSent, r.cause = true, cause
	grace := r.cfg.StopTime
	s.log.Info("stopping "+r.title+": "+why, "unit", r.unit, "pid", r.p.Pid(), "stop-time", grace.String())
	r.p.Stop(grace)
}

// exited handles the end of a process.
func (s *Supervisor) exited(ev exitEvent, now time.Time) {
	s.alive--
	r := ev.run
	delete(s.active, r)
	delete(s.partials, r)
	s.recordExit(r, ev.exit, now)
	s.mailOutput(r, describeEnd(r, ev.exit), ev.exit.Code != 0 || ev.exit.Signal != 0 || r.timedOut, now)
	s.ports.Release(r.ports)
	if r.ended != nil {
		close(r.ended)
	}
	s.unitEnded(r, ev.exit, now)
}

// recordExit journals the end of a process.
func (s *Supervisor) recordExit(r *running, ex proc.Exit, now time.Time) {
	end := now
	if !ex.Reaped.IsZero() {
		end = ex.Reaped // the Exit comes later when leftovers were stopped first
	}
	ev := journal.Event{
		Type: journal.Exited, Unit: r.unit, Kind: r.kind(), PID: ex.Pid,
		Seconds: end.Sub(r.start).Seconds(), StoppedBy: r.cause, Leftovers: ex.Leftovers, Kept: ex.Kept,
		UserSeconds: ex.Usage.User.Seconds(), SystemSeconds: ex.Usage.System.Seconds(), MaxRSS: ex.Usage.MaxRSS,
		OutputCut: s.logCut(r),
	}
	if ex.Signal != 0 {
		ev.Signal = unix.SignalName(ex.Signal)
	} else {
		ev.Code = &ex.Code
	}
	// Graceful: a clean exit, or an end on kopf's request that did not
	// need SIGKILL.
	ev.Graceful = ex.Signal == 0 && ex.Code == 0 || r.stopSent && ex.Signal != unix.SIGKILL
	s.record(now, ev)
}

func (s *Supervisor) logEnd(r *running, ex proc.Exit, now time.Time) {
	if !r.cfg.LogStart {
		return
	}
	msg := fmt.Sprintf("end %s: %s after %s", r.title, howEnded(ex), now.Sub(r.start).Round(time.Millisecond))
	switch {
	case ex.Leftovers > 0:
		msg += fmt.Sprintf("; stopped %s it left running", plural(ex.Leftovers, "process", "processes"))
	case ex.Kept > 0:
		msg += fmt.Sprintf("; %s it left keep running (leftovers \"keep\")", plural(ex.Kept, "process", "processes"))
	}
	s.log.Info(msg, "unit", r.unit, "pid", ex.Pid, "code", ex.Code, "signal", int(ex.Signal),
		"duration", now.Sub(r.start).String(), "leftovers", ex.Leftovers, "kept", ex.Kept)
}

// plural says n things: "1 process", "2 processes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
