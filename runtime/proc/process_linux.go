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

// Process is one process started by Host.Start.
type Process struct {
	host   *Host
	pid    int
	os     *os.Process
	output func(stream, line string)
	done   chan Exit // buffered: the one send never blocks

	outMu sync.Mutex // serializes calls to output

	mu        sync.Mutex
	exited    bool
	exit      Exit
	open      int // output streams not yet at end of file
	delivered bool
	late      *time.Timer // delivers Exit outputGrace after the reap
	kill      *time.Timer // Stop's SIGKILL
	killAt    time.Time
}

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Done delivers the process's Exit exactly once, then is closed. Exit is
// delivered once the process is reaped and its output pipes are drained, or
// at most 200 ms after it was reaped; output lines after that still reach
// Output until end of file. After the Host is closed, Done delivers nothing.
func (p *Process) Done() <-chan Exit { return p.done }

// Signal sends sig to the process's whole group. Once the process is reaped
// it returns os.ErrProcessDone and sends nothing, since its pid may already
// name another process; descendants left in the group are then orphans (see
// Host.KillOrphans).
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
	if err := unix.Kill(-p.pid, sig); err != nil {
		return fmt.Errorf("proc: signal group %d: %w", p.pid, err)
	}
	return nil
}

// Stop sends SIGTERM to the group, and SIGKILL to the group after grace
// unless the process has been reaped by then; it does not block. Calling it
// again or after exit is harmless: a second call sends no second SIGTERM,
// but a shorter grace brings the SIGKILL forward.
func (p *Process) Stop(grace time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return
	}
	at := time.Now().Add(grace)
	if p.kill != nil {
		if at.Before(p.killAt) {
			p.killAt = at
			p.kill.Reset(grace)
		}
		return
	}
	p.killAt = at
	p.Signal(syscall.SIGTERM) // fails only when the process is gone
	p.kill = time.AfterFunc(grace, func() { p.Signal(syscall.SIGKILL) })
}

// reaped is called by the wait loop, once, with the process's exit.
func (p *Process) reaped(e Exit) {
	p.os.Release()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exited, p.exit = true, e
	if p.kill != nil {
		p.kill.Stop()
	}
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
	if p.open == 0 && p.exited {
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
