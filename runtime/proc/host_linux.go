package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	// ErrClosed is returned by Start and Signal once the Host is closed.
	ErrClosed = errors.New("proc: host is closed")
	// ErrHostOpen is returned by NewHost while another Host is open: two wait
	// loops would steal each other's exit statuses.
	ErrHostOpen = errors.New("proc: another Host is open in this process")
)

// hostOpen is set while a Host is open.
var hostOpen atomic.Bool

// Spec is one process to start.
type Spec struct {
	// Argv[0] is looked up, when it has no slash, in the PATH of Env, or in
	// kopf's own PATH when Env sets none. Relative PATH entries are skipped.
	Argv []string
	Dir  string // "" = the current directory
	// Env is the complete environment of the child: nil is an empty one,
	// not kopf's (pass os.Environ() for that). Of entries with the same
	// name, the last one wins, as in os/exec: append overrides. An entry
	// without '=' unsets its name (when it is the last of that name).
	Env []string
	// Output, when set, receives the child's stdout and stderr line by line
	// ("stdout"/"stderr", the line without its newline); lines longer than
	// 64 KiB are split. Calls for one process never overlap, and each
	// stream's lines come in order. When nil, output is discarded.
	Output func(stream, line string)
	// Stdin, when not nil, is written to the child's stdin, which is then
	// closed (a sendmail reads its message so); nil gives it /dev/null.
	Stdin []byte
	// Credential, when not nil, is the uid, gid and supplementary groups
	// the child runs as (kopf must be root to switch to another user).
	Credential *syscall.Credential
	// Label names the run, as its cgroup's name and in its KOPF_RUN
	// (kopf uses "job-NAME", "proc-NAME", "mail"); "" is "run".
	Label string
	// KeepLeftovers leaves running what is left of the run when its
	// process ends; without it those processes get SIGTERM and, after
	// LeftoverGrace, SIGKILL, and Exit waits for them.
	KeepLeftovers bool
	// LeftoverGrace is how long the processes left when the run's process
	// ends get between SIGTERM and SIGKILL; 0 is 10 seconds.
	LeftoverGrace time.Duration
	// DeathSignal is the signal the child gets when kopf dies (Pdeathsig);
	// 0 is SIGKILL. kopf's guard gets SIGTERM, to act on the death.
	DeathSignal syscall.Signal
}

// Exit is how a process ended.
type Exit struct {
	Pid    int
	Code   int            // the exit status, or 128+signal when a signal killed it
	Signal syscall.Signal // the signal that killed it; 0 for a normal exit
	// Leftovers counts the processes of the run still running when its
	// process ended, which the Host then stopped; Kept those it left
	// running (Spec.KeepLeftovers).
	Leftovers, Kept int
	// Reaped is when the wait loop reaped the process. Exit is delivered
	// later when leftovers had to be stopped first.
	Reaped time.Time
	// Usage is what the process and the descendants it waited for used,
	// from wait4's rusage.
	Usage Usage
}

// Usage is the resources a process used.
type Usage struct {
	User, System time.Duration // CPU time in user and kernel mode
	MaxRSS       int64         // the largest resident set, in bytes
}

// Options configure NewHost.
type Options struct {
	// Name is the Host's cgroup below Cgroup, which holds one cgroup per
	// run, and the first part of every KOPF_RUN; it must be the same for
	// every daemon that uses one journal, and differ between journals, so
	// that a restarted daemon finds its predecessor's leftovers and no one
	// else's. "" is "kopf".
	Name string
	// Cgroup is the cgroup v2 directory below which the Host makes its
	// own; "" is the daemon's own cgroup. A missing last element is
	// created.
	Cgroup string
	// NoCgroups makes the Host track runs by session and process group even
	// where cgroups could be had.
	NoCgroups bool
}

// Host starts and reaps processes. It is its process's one reaper: its
// wait loop reaps every child with wait4(-1), so a second Host (or any
// other code that waits for children, os/exec's Wait included) would take
// exits that belong to the first. NewHost refuses to make a second one
// while one is open (ErrHostOpen), and everything that starts processes in
// kopf — runs, health-check commands — starts them through the one Host.
type Host struct {
	// sweeper is the cgroup of the process that sweeps with this Host
	// (Sweep): the guard's own run, which it must not wait to empty.
	sweeper string
	// forking is held for reading by each spawner from fork to
	// registration, and for writing by the wait loop around each wait4: a
	// pid is always registered before it can be reaped, and the spawners
	// fork side by side.
	forking sync.RWMutex
	// mu guards procs and closed; Signal holds it so it never signals a
	// pid already reaped.
	mu     sync.Mutex
	procs  map[int]*Process // started and not yet reaped
	closed bool

	name     string
	track    tracker
	tracking Tracking
	seq      atomic.Uint64 // numbers runs
	keptMu   sync.Mutex
	kept     []*run // cgroups of ended runs whose leftovers were kept, until empty

	devnull *os.File // stdin of every child; stdout and stderr without Output
	reqs    chan startReq
	// qmu guards queueClosed, which Close sets before it stops the
	// spawners: Begin queues on reqs only while it is false.
	qmu         sync.Mutex
	queueClosed bool
	sigchld     chan os.Signal
	quit        chan struct{}

	loopDone chan struct{}
	spawning sync.WaitGroup // the spawners, until they stop taking requests
}

// spawners is how many threads fork. A fork (vfork, in Go) holds its
// thread until the child has exec'd, which is most of a start's time:
// with two, one forks while the other waits, as two goroutines calling
// os/exec do, and a thousand jobs due at one instant start twice as fast
// as with one.
const spawners = 2

type startReq struct {
	path  string
	spec  Spec
	files []*os.File
	p     *Process
	cgfd  int // the run's cgroup, or -1
	reply chan error
	st    *Starting // what the spawner finishes after the fork
}

// NewHost makes the calling process a child subreaper (PR_SET_CHILD_SUBREAPER),
// so that orphans of its children are reparented to it, and starts the one
// wait loop that reaps every child: its own, orphans, and — when it runs as
// PID 1 — every zombie of the container.
//
// It registers for SIGCHLD (signal.Notify) and starts the wait loop and
// the spawners, goroutines each locked to its OS thread. Only one Host may be
// open at a time (ErrHostOpen).
//
// It tracks runs with cgroups where it can make its cgroup (see Options);
// where it cannot, it says why in Tracking and uses sessions.
func NewHost(opts Options) (*Host, error) {
	if opts.Name == "" {
		opts.Name = "kopf"
	}
	if !hostOpen.CompareAndSwap(false, true) {
		return nil, ErrHostOpen
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		hostOpen.Store(false)
		return nil, fmt.Errorf("proc: become a child subreaper: %w", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		hostOpen.Store(false)
		return nil, fmt.Errorf("proc: %w", err)
	}
	h := &Host{
		name:     opts.Name,
		procs:    make(map[int]*Process),
		devnull:  devnull,
		reqs:     make(chan startReq, 256), // Begin queues while the spawners fork
		sigchld:  make(chan os.Signal, 1),
		quit:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	h.track, h.tracking = chooseTracker(opts, h.started)
	// Subscribe before the first reap, so no SIGCHLD falls between them.
	signal.Notify(h.sigchld, unix.SIGCHLD)
	h.spawning.Add(spawners)
	for range spawners {
		go h.spawner()
	}
	go h.waitLoop()
	return h, nil
}

func chooseTracker(opts Options, started func(pid int) bool) (tracker, Tracking) {
	if opts.NoCgroups {
		return sessions{started}, Tracking{Why: "cgroups are turned off (--cgroup none)"}
	}
	c, err := newCgroups(opts.Cgroup, opts.Name)
	if err != nil {
		return sessions{started}, Tracking{Why: err.Error()}
	}
	return c, Tracking{Cgroups: true, Dir: string(c.dir)}
}

// started reports whether pid is a process the Host started and has not
// reaped: a run's own process, never another run's orphan.
func (h *Host) started(pid int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.procs[pid] != nil
}

// Tracking says how the Host finds the processes of each run.
func (h *Host) Tracking() Tracking { return h.tracking }

// Start starts a process as the leader of its own session (Setsid), in a
// cgroup of its own where the Host has cgroups, with Pdeathsig SIGKILL, so
// a SIGKILLed kopf leaves no child behind. The fork happens on one of the
// Host's spawner threads, whatever goroutine calls Start. Its stdin is /dev/null
// unless Spec.Stdin is set. Its environment gets KOPF_RUN.
func (h *Host) Start(s Spec) (*Process, error) { return h.Begin(s).Wait() }

// Begin is Start without waiting: it prepares the process (its cgroup,
// its pipes) and hands it to the spawner threads, which take the processes
// in the order given, each forking one at a time. Wait returns the process
// once it is started. A caller that starts many processes at once (the
// fires of one instant) prepares the next while the spawners fork the
// last ones, which is most of the time a start takes. Wait must be called.
func (h *Host) Begin(s Spec) *Starting {
	st := &Starting{h: h, spec: s}
	// A closed Host may have removed its cgroup: say ErrClosed, not what
	// preparing in it would fail with.
	h.qmu.Lock()
	closed := h.queueClosed
	h.qmu.Unlock()
	if closed {
		st.err = ErrClosed
		return st
	}
	if st.err = st.prepare(); st.err != nil {
		return st
	}
	st.req = startReq{path: st.path, spec: st.spec, files: st.files, p: st.p, cgfd: st.cgfd, reply: make(chan error, 1), st: st}
	// The spawners answer every request they are given, the last ones with
	// ErrClosed once the Host is closing; none is queued after that.
	h.qmu.Lock()
	defer h.qmu.Unlock()
	if h.queueClosed {
		st.err = ErrClosed
		st.cleanup()
		return st
	}
	h.reqs <- st.req
	return st
}

// Starting is a process that Begin handed to the spawners.
type Starting struct {
	h    *Host
	spec Spec
	path string
	r    *run
	cgfd int
	p    *Process
	req  startReq
	err  error // the start failed before the spawner had it

	files        []*os.File // the child's stdin, stdout and stderr
	ours, theirs []*os.File // pipe ends: parent's, child's
	stdin        *os.File   // our end of the child's stdin, if Spec.Stdin is set
}

// Wait waits until the process is started, and returns it.
func (st *Starting) Wait() (*Process, error) {
	if st.err != nil {
		return nil, st.err
	}
	if err := <-st.req.reply; err != nil {
		return nil, err
	}
	return st.p, nil
}

// afterFork does what follows the fork (err nil) or a failed one, on the
// spawner thread, before Wait returns: the child's pipe ends and the
// cgroup's descriptor are closed, and the output is read from then on.
func (st *Starting) afterFork(err error) {
	if err != nil {
		st.cleanup()
		return
	}
	closeAll(st.theirs)
	st.closeCgroup()
	if st.stdin != nil {
		stdin, data := st.stdin, st.spec.Stdin
		go func() {
			stdin.Write(data) // a child that stops reading ends it with EPIPE
			stdin.Close()
		}()
	}
	if st.spec.Output != nil {
		go st.p.read("stdout", st.ours[0])
		go st.p.read("stderr", st.ours[1])
	}
}

// prepare does what comes before the fork: the argv, dir and cgroup
// checks, the environment, the pipes.
func (st *Starting) prepare() error {
	s, h := &st.spec, st.h
	st.cgfd = -1
	if len(s.Argv) == 0 {
		return errors.New("proc: start: empty Argv")
	}
	s.Env = dedupEnv(s.Env)
	path, err := lookPath(s.Argv[0], s.Env, s.Dir)
	if err != nil {
		return err
	}
	st.path = path
	if s.Dir != "" {
		// The child would report a missing Dir as an exec error on Argv[0].
		if fi, err := os.Stat(s.Dir); err != nil {
			return fmt.Errorf("proc: start %q: dir: %w", s.Argv[0], err)
		} else if !fi.IsDir() {
			return fmt.Errorf("proc: start %q: dir %s: %w", s.Argv[0], s.Dir, syscall.ENOTDIR)
		}
	}
	r := &run{label: s.Label, name: cgroupName(s.Label, h.seq.Add(1))}
	cgfd, err := h.track.prepare(r)
	for errors.Is(err, unix.EEXIST) { // a leftover cgroup that could not be removed
		r.name = cgroupName(s.Label, h.seq.Add(1))
		cgfd, err = h.track.prepare(r)
	}
	if err != nil {
		return fmt.Errorf("proc: start %q: %w", s.Argv[0], err)
	}
	st.r, st.cgfd = r, cgfd
	r.marker = h.name + "/" + r.name
	s.Env = append(slices.DeleteFunc(s.Env, func(kv string) bool { return strings.HasPrefix(kv, EnvRun+"=") }), EnvRun+"="+r.marker)
	if err := st.pipes(); err != nil {
		st.cleanup()
		return err
	}
	return nil
}

// closeCgroup closes the descriptor of the run's cgroup, which the fork
// used.
func (st *Starting) closeCgroup() {
	if st.cgfd >= 0 {
		unix.Close(st.cgfd)
		st.cgfd = -1
	}
}

// cleanup undoes what prepare made, for a start that failed.
func (st *Starting) cleanup() {
	closeAll(st.theirs)
	closeAll(st.ours)
	if st.stdin != nil {
		st.stdin.Close()
	}
	st.closeCgroup()
	if st.r != nil {
		st.h.track.release(st.r)
	}
}

// pipes makes the Process and the pipes of its output and input.
func (st *Starting) pipes() error {
	s, h := st.spec, st.h
	grace := s.LeftoverGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	st.p = &Process{host: h, run: st.r, output: s.Output, done: make(chan Exit, 1), keep: s.KeepLeftovers, leftoverGrace: grace}
	st.files = []*os.File{h.devnull, h.devnull, h.devnull}
	if s.Output != nil {
		for i := 1; i <= 2; i++ {
			r, w, err := os.Pipe()
			if err != nil {
				return fmt.Errorf("proc: start %q: %w", s.Argv[0], err)
			}
			st.ours, st.theirs = append(st.ours, r), append(st.theirs, w)
			st.files[i] = w
		}
		st.p.open = 2
	}
	if s.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("proc: start %q: %w", s.Argv[0], err)
		}
		st.files[0], st.stdin = r, w
		st.theirs = append(st.theirs, r)
	}
	return nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// spawner forks children from one OS thread: Pdeathsig fires when the
// thread that forked a child ends, so that thread must outlive them.
func (h *Host) spawner() {
	runtime.LockOSThread() // never unlocked; see the end
	for {
		select {
		case r := <-h.reqs:
			err := h.spawn(r)
			if r.st != nil {
				// What follows the fork is done here, at once: a child
				// that ends before its caller's Wait still has its output
				// read before its Exit is delivered.
				r.st.afterFork(err)
			}
			r.reply <- err
		case <-h.quit:
			// Begin queues nothing more: answer what it queued.
			for drained := false; !drained; {
				select {
				case r := <-h.reqs:
					r.st.afterFork(ErrClosed)
					r.reply <- ErrClosed
				default:
					drained = true
				}
			}
			h.mu.Lock()
			live := len(h.procs)
			h.mu.Unlock()
			h.spawning.Done()
			if live > 0 {
				// Ending this thread would SIGKILL the children still running,
				// and unlocking it would let any goroutine that locks it and
				// exits do the same; so it stays parked until kopf exits.
				select {}
			}
			return // the thread ends with the goroutine; no child depends on it
		}
	}
}

// spawn forks and registers r's process, on a spawner thread.
func (h *Host) spawn(r startReq) error {
	h.forking.RLock()
	defer h.forking.RUnlock()
	if h.isClosed() {
		return ErrClosed
	}
	sys := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if r.spec.DeathSignal != 0 {
		sys.Pdeathsig = r.spec.DeathSignal
	}
	if r.cgfd >= 0 {
		sys.UseCgroupFD, sys.CgroupFD = true, r.cgfd
	}
	sys.Credential = r.spec.Credential
	op, err := os.StartProcess(r.path, r.spec.Argv, &os.ProcAttr{
		Dir:   r.spec.Dir,
		Env:   r.spec.Env,
		Files: r.files,
		Sys:   sys,
	})
	if err != nil {
		return fmt.Errorf("proc: start %q: %w", r.spec.Argv[0], err)
	}
	r.p.pid, r.p.os = op.Pid, op
	// Not reaped before we release forking, so /proc still shows it, a
	// zombie at worst.
	t, _ := readStat(op.Pid)
	r.p.run.pid, r.p.run.start = op.Pid, t.start
	h.mu.Lock()
	h.procs[op.Pid] = r.p
	h.mu.Unlock()
	return nil
}

// waitLoop reaps every child, on each SIGCHLD, until Close.
func (h *Host) waitLoop() {
	defer close(h.loopDone)
	defer signal.Stop(h.sigchld)
	h.reapAll() // children that ended before NewHost subscribed
	for {
		select {
		case <-h.sigchld:
			h.sweepKept(h.reapAll())
		case <-h.quit:
			return
		}
	}
}

// reapAll reaps until no child is left to reap, and says whether one was
// an orphan (not a process the Host started). SIGCHLDs coalesce, but one
// that arrives during the pass queues another pass, so no exit waits long.
func (h *Host) reapAll() (orphans bool) {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		h.forking.Lock()
		h.mu.Lock()
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, &ru)
		var p *Process
		if err == nil && pid > 0 {
			p = h.procs[pid] // nil for an orphan: reaped and forgotten
			delete(h.procs, pid)
		}
		h.mu.Unlock()
		h.forking.Unlock()
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none ended
			return orphans
		}
		orphans = orphans || p == nil
		if p != nil {
			e := exitOf(pid, ws)
			e.Reaped = time.Now()
			e.Usage = Usage{
				User:   time.Duration(ru.Utime.Nano()),
				System: time.Duration(ru.Stime.Nano()),
				MaxRSS: ru.Maxrss * 1024, // Linux gives KiB
			}
			p.reaped(e)
		}
	}
}

func exitOf(pid int, ws unix.WaitStatus) Exit {
	if ws.Signaled() {
		return Exit{Pid: pid, Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
	}
	return Exit{Pid: pid, Code: ws.ExitStatus()}
}

func (h *Host) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// keepRun remembers an ended run that still has processes (kept, or
// unkillable): Kept lists them and StopKept ends them, and its cgroup goes
// once they are gone.
func (h *Host) keepRun(r *run) {
	h.keptMu.Lock()
	h.kept = append(h.kept, r)
	h.keptMu.Unlock()
}

// sweepKept forgets the kept runs that no process is left in, and removes
// their cgroups. Their last process is an orphan of kopf, so a SIGCHLD
// comes when it ends. Without cgroups, finding a run's processes scans
// kopf's descendants: that is done only when an orphan was reaped.
func (h *Host) sweepKept(orphanReaped bool) {
	h.keptMu.Lock()
	defer h.keptMu.Unlock()
	h.kept = slices.DeleteFunc(h.kept, func(r *run) bool {
		if r.cg == "" {
			// (r.over stays: Kept and StopKept may be reading it.)
			return orphanReaped && len(h.track.members(r)) == 0
		}
		return !r.cg.populated() && h.track.release(r) == nil
	})
}

// keptRuns returns the kept runs.
func (h *Host) keptRuns() []*run {
	h.keptMu.Lock()
	defer h.keptMu.Unlock()
	return slices.Clone(h.kept)
}

// Close stops the wait loop and the spawners; processes still running are
// not touched, but their exits are no longer delivered, and Start and
// Signal return ErrClosed. While any is running, the spawners' OS threads
// stay parked for the rest of kopf's life, since their end would fire the
// Pdeathsig of the children they forked. Another Host may be made after Close.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.qmu.Lock()
	h.queueClosed = true
	h.qmu.Unlock()
	close(h.quit)
	<-h.loopDone
	h.spawning.Wait()
	h.sweepKept(true)
	if c, ok := h.track.(*cgroups); ok {
		unix.Rmdir(string(c.dir)) // fails while a run's cgroup is left; the next Host reuses it
	}
	err := h.devnull.Close()
	hostOpen.Store(false)
	return err
}

// lookPath finds name in env's PATH, or in kopf's when env sets none. A
// name that is not there but is in dir, where the run starts, is still
// not run (a program in the working directory is not found by a shell
// either), and the error says how to run it.
func lookPath(name string, env []string, dir string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := os.Getenv("PATH")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		// An empty or relative entry means a directory that depends on where
		// kopf runs; exec.LookPath refuses those too (exec.ErrDot).
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if InDir(name, dir) {
		where := dir
		if where == "" {
			where = "kopf's working directory"
		}
		return "", fmt.Errorf("proc: start %q: %w in PATH; %s is in %s: write ./%s to run it from there", name, exec.ErrNotFound, name, where, name)
	}
	return "", fmt.Errorf("proc: start %q: %w", name, exec.ErrNotFound)
}

// InDir reports whether name, a program without a slash, is an executable
// file in dir ("" is the working directory): a command that names it runs
// it only as ./name.
func InDir(name, dir string) bool {
	if strings.Contains(name, "/") {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// dedupEnv keeps the last entry of each name, in the order of those
// entries, and drops a name whose last entry has no '=' (an unset).
// It never returns nil: os.StartProcess would pass kopf's own environment.
func dedupEnv(env []string) []string {
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		name, _, set := strings.Cut(env[i], "=")
		if !seen[name] {
			seen[name] = true
			if set {
				out = append(out, env[i])
			}
		}
	}
	slices.Reverse(out)
	return out
}
