package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxLine is the longest line handed to Output; longer ones are split.
	maxLine = 64 << 10
	// outputGrace is how long Exit waits, after the reap, for the output
	// pipes to reach end of file: a daemonized grandchild may hold them for
	// ever.
	outputGrace = 200 * time.Millisecond
)

// Process is one process started by Host.Start, and the run it leads:
// everything it forks.
type Process struct {
	host          *Host
	pid           int
	os            *os.Process
	run           *run
	output        func(stream, line string)
	done          chan Exit // buffered: the one send never blocks
	keep          bool      // Spec.KeepLeftovers
	leftoverGrace time.Duration

	outMu sync.Mutex // serializes calls to output

	mu        sync.Mutex
	exited    bool // reaped
	settled   bool // and what was left of the run stopped, or kept
	exit      Exit
	open      int // output streams not yet at end of file
	delivered bool
	late      *time.Timer // delivers Exit outputGrace after it settled
	kill      *time.Timer // SIGKILL to the run, after a stop's grace
	killAt    time.Time
}

// Pid returns the process id, which is also its session and process group
// id.
func (p *Process) Pid() int { return p.pid }

// StartTicks returns when the process started, in clock ticks after boot
// (see StartTicks).
func (p *Process) StartTicks() uint64 { return p.run.start }

// Run returns the run's name, the last part of its KOPF_RUN and the name
// of its cgroup: its Spec.Label, escaped, "@" and a number.
func (p *Process) Run() string { return p.run.name }

// Cgroup returns the directory of the run's cgroup; "" where the Host has
// no cgroups.
func (p *Process) Cgroup() string { return string(p.run.cg) }

// Done delivers the process's Exit exactly once, then is closed. Exit is
// delivered once the process is reaped, the rest of its run has ended (or
// been kept, Spec.KeepLeftovers), and its output pipes are drained, or at
// most 200 ms after the rest of the run ended; output lines after that
// still reach Output until end of file. After the Host is closed, Done
// delivers nothing.
func (p *Process) Done() <-chan Exit { return p.done }

// Signal sends sig to the process only, not to the rest of its run (a
// SIGHUP to reload is meant for the main process, as systemd's
// $MAINPID). Once the process is reaped it returns os.ErrProcessDone and
// sends nothing, since its pid may already name another process.
func (p *Process) Signal(sig syscall.Signal) error {
	h := p.host
	h.mu.Lock() // the wait loop cannot reap the pid while we hold it
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.procs[p.pid] != p {
		return os.ErrProcessDone
	}
	if err := unix.Kill(p.pid, sig); err != nil {
		return fmt.Errorf("proc: signal %d: %w", p.pid, err)
	}
	return nil
}

// Stop sends SIGTERM to every process of the run — its cgroup, or without
// cgroups its session, process group and orphans with its KOPF_RUN — and
// SIGKILL to all of them after grace unless the run has ended by then; it
// does not block. Calling it again or after the end is harmless: a second
// call sends no second SIGTERM, but a shorter grace brings the SIGKILL
// forward.
func (p *Process) Stop(grace time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.settled || p.host.isClosed() {
		return
	}
	p.stopLocked(grace)
}

// stopLocked is Stop with p.mu held.
func (p *Process) stopLocked(grace time.Duration) {
	at := time.Now().Add(grace)
	if p.kill != nil {
		if at.Before(p.killAt) {
			p.killAt = at
			p.kill.Reset(grace)
		}
		return
	}
	p.killAt = at
	t := p.host.track
	t.signal(p.run, t.members(p.run), unix.SIGTERM)
	p.kill = time.AfterFunc(grace, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.settled {
			t.kill(p.run)
		}
	})
}

// reaped is called by the wait loop, once, with the process's exit.
func (p *Process) reaped(e Exit) {
	p.os.Release()
	p.mu.Lock()
	p.exited, p.exit = true, e
	p.run.reaped = max(bootTicks(), 1)
	p.mu.Unlock()
	// Finding the run's processes may scan /proc: not on the wait loop.
	go p.settle()
}

// settle stops what is left of the run after its process ended (unless it
// is kept), waits for it to end, removes the run's cgroup, and then lets
// Exit be delivered.
func (p *Process) settle() {
	t := p.host.track
	// Most runs leave nothing: their cgroup goes at the first try, which
	// tells as much as reading who is left in it.
	released := t.tryRelease(p.run)
	var left []task
	if !released {
		left = t.members(p.run)
	}
	p.mu.Lock()
	switch {
	case len(left) == 0:
	case p.keep:
		p.exit.Kept = len(left)
	default:
		p.exit.Leftovers = len(left)
		p.stopLocked(p.leftoverGrace) // no second SIGTERM after a Stop
		giveUp := p.killAt.Add(5 * time.Second)
		p.mu.Unlock()
		// Until what was found has ended too, not only until no member is
		// found: a process SIGKILLed mid-exit has lost its memory (so its
		// environ, and its KOPF_RUN, read empty) before it is a zombie,
		// and would no longer be found while it still runs (a loaded
		// machine showed it).
		for wait := time.Millisecond; anyRunning(left) || len(t.members(p.run)) > 0; wait = min(2*wait, 20*time.Millisecond) {
			if time.Now().After(giveUp) {
				break // unkillable (uninterruptible sleep): kept, for KillOrphans
			}
			time.Sleep(wait)
		}
		p.mu.Lock()
	}
	if p.kill != nil {
		p.kill.Stop()
	}
	p.settled = true
	switch {
	case released:
		p.run.over = true
	case len(left) > 0 && len(t.members(p.run)) > 0:
		// Kept, or unkillable. A run that left nothing has nothing to
		// look for again: nobody is left in it to start anything.
		p.host.keepRun(p.run)
	default:
		p.run.over = true
		t.release(p.run)
	}
	defer p.mu.Unlock()
	if p.open == 0 {
		p.deliverLocked()
		return
	}
	p.late = time.AfterFunc(outputGrace, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.deliverLocked()
	})
}

// eof is called when one output stream reaches end of file.
func (p *Process) eof() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open--
	if p.open == 0 && p.settled {
		p.deliverLocked()
	}
}

func (p *Process) deliverLocked() {
	if p.delivered {
		return
	}
	p.delivered = true
	if p.late != nil {
		p.late.Stop()
	}
	p.done <- p.exit
	close(p.done)
}

// read hands r's lines to Output until end of file.
func (p *Process) read(stream string, r *os.File) {
	defer p.eof()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine) // grows only for long lines
	sc.Split(splitLines())
	for sc.Scan() {
		p.outMu.Lock()
		p.output(stream, sc.Text())
		p.outMu.Unlock()
	}
}

// splitLines splits at newlines and after maxLine bytes without one; a
// newline right after such a cut ends the long line, not an empty one. The
// last line needs no newline.
func splitLines() bufio.SplitFunc {
	cut := false
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			if i == 0 && cut {
				cut = false
				return 1, nil, nil
			}
			cut = false
			return i + 1, data[:i], nil
		}
		if len(data) >= maxLine {
			cut = true
			return maxLine, data[:maxLine], nil
		}
		if atEOF && len(data) > 0 {
			cut = false
			return len(data), data, nil
		}
		return 0, nil, nil
	}
}

// anyRunning reports whether a task of ts still runs (same pid, same
// start time, not a zombie).
func anyRunning(ts []task) bool {
	for _, t := range ts {
		if same(t) {
			return true
		}
	}
	return false
}
