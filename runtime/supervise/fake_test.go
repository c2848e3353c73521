package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/proc"
)

// The tests run the supervisor in a testing/synctest bubble: time.Now and
// timers are the bubble's fake clock, and fakeHost's processes are
// goroutines that sleep. A minute of schedules runs in microseconds.

var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // synctest's clock starts here

// behaviour is how a fake process behaves.
type behaviour struct {
	run        time.Duration // how long it runs before exiting; 0 runs until stopped
	code       int
	ignoreTerm bool     // SIGTERM does nothing; only the SIGKILL after grace ends it
	output     []string // lines it writes to stdout as it starts
	startErr   error
	leftovers  int // processes of the run left when it exits by itself
	usage      proc.Usage
	reapedLate time.Duration // the Exit comes this long after the reap (leftovers stopped)
}

type startRecord struct {
	at   time.Duration // since the epoch
	spec proc.Spec
	argv []string
	env  []string
	dir  string
	pid  int
}

type fakeHost struct {
	mu      sync.Mutex
	nextPid int
	starts  []startRecord
	stops   []string // "pid@seconds"
	signals []string // "pid SIGNAL@seconds"
	orphans int      // KillOrphans calls
	// how decides a process's behaviour from its argv; nil runs for ever.
	how func(argv []string) behaviour
	// kept are the runs whose leftovers run on; StopKept removes those of
	// its label and records "label grace".
	kept      []proc.KeptRun
	stopsKept []string
}

func (h *fakeHost) Start(s proc.Spec) (Process, error) {
	b := behaviour{}
	if h.how != nil {
		b = h.how(s.Argv)
	}
	if b.startErr != nil {
		return nil, b.startErr
	}
	h.mu.Lock()
	h.nextPid++
	p := &fakeProc{host: h, pid: 1000 + h.nextPid, done: make(chan proc.Exit, 1), stop: make(chan time.Duration, 1)}
	h.starts = append(h.starts, startRecord{at: time.Since(epoch), spec: s, argv: s.Argv, env: s.Env, dir: s.Dir, pid: p.pid})
	h.mu.Unlock()
	for _, line := range b.output {
		if s.Output != nil {
			s.Output("stdout", line)
		}
	}
	go p.live(b)
	return p, nil
}

// Begin starts at once, in the order of the calls, as proc's spawner
// does; the run gets its process only when the loop waits, as with the
// real Host.
func (h *fakeHost) Begin(s proc.Spec) func() (Process, error) {
	p, err := h.Start(s)
	return func() (Process, error) { return p, err }
}

func (h *fakeHost) Kept() []proc.KeptRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.kept)
}

func (h *fakeHost) StopKept(label string, grace time.Duration) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	h.kept = slices.DeleteFunc(h.kept, func(k proc.KeptRun) bool {
		if k.Label == label {
			n += len(k.Processes)
		}
		return k.Label == label
	})
	h.stopsKept = append(h.stopsKept, fmt.Sprintf("%s %s", label, grace))
	return n
}

func (h *fakeHost) KillOrphans(time.Duration) {
	h.mu.Lock()
	h.orphans++
	h.mu.Unlock()
}

// startsOf returns "argv@seconds" for every start so far.
func (h *fakeHost) startsOf() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, s := range h.starts {
		out = append(out, fmt.Sprintf("%s@%g", strings.Join(s.argv, " "), s.at.Seconds()))
	}
	return out
}

type fakeProc struct {
	host *fakeHost
	pid  int
	done chan proc.Exit
	stop chan time.Duration
	once sync.Once
}

func (p *fakeProc) Pid() int               { return p.pid }
func (p *fakeProc) StartTicks() uint64     { return uint64(p.pid) * 10 }
func (p *fakeProc) Run() string            { return fmt.Sprintf("run@%d", p.pid) }
func (p *fakeProc) Cgroup() string         { return "" }
func (p *fakeProc) Done() <-chan proc.Exit { return p.done }

func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.host.mu.Lock()
	defer p.host.mu.Unlock()
	p.host.signals = append(p.host.signals, fmt.Sprintf("%d %s@%g", p.pid, unix.SignalName(sig), time.Since(epoch).Seconds()))
	return nil
}

func (p *fakeProc) Stop(grace time.Duration) {
	p.once.Do(func() {
		p.host.mu.Lock()
		p.host.stops = append(p.host.stops, fmt.Sprintf("%d@%g", p.pid, time.Since(epoch).Seconds()))
		p.host.mu.Unlock()
		p.stop <- grace
	})
}

func (p *fakeProc) live(b behaviour) {
	var timeout <-chan time.Time
	if b.run > 0 {
		timeout = time.After(b.run)
	}
	select {
	case <-timeout:
		reaped := time.Now()
		time.Sleep(b.reapedLate)
		p.done <- proc.Exit{Pid: p.pid, Code: b.code, Leftovers: b.leftovers, Reaped: reaped, Usage: b.usage}
	case grace := <-p.stop:
		if b.ignoreTerm {
			time.Sleep(grace)
			p.done <- proc.Exit{Pid: p.pid, Code: 128 + 9, Signal: syscall.SIGKILL}
		} else {
			p.done <- proc.Exit{Pid: p.pid, Code: 128 + 15, Signal: syscall.SIGTERM}
		}
	}
	close(p.done)
}

// ---- building configs ----

func sched(t *testing.T, key, src string, args ...string) config.Schedule {
	t.Helper()
	s, err := compile.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return config.Schedule{Key: key, Source: src, Args: args, Compiled: s}
}

func settings(name string, command ...string) config.Unit {
	return config.Unit{Name: name, Title: name, Command: command, LogStart: true, StopTime: 10 * time.Second}
}

func cfgOf(jobs []*config.Job, procs []*config.Proc) *config.Config {
	return &config.Config{File: "test.json", Jobs: jobs, Procs: procs}
}

// logBuffer collects the supervisor's log as text lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var errNoSuchFile = errors.New("exec: no such file")
