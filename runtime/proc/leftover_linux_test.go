package proc_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/proc"
)

// StopLeftover is for processes of an earlier kopf; here they are this
// Host's children, which it reaps, while StopLeftover only watches them
// end through a pidfd.
func TestStopLeftover(t *testing.T) {
	h := newHost(t)
	// launch starts a helper that does the steps first (setting signals
	// up), then writes its pid and sleeps; it returns the process with its
	// start time.
	launch := func(t *testing.T, first ...string) (*proc.Process, uint64) {
		t.Helper()
		out := newLines()
		p := start(t, h, helperSpec(out, append(first, "pid", "p", "sleep", "1m")...))
		out.waitForPid(t, "p")
		n, ok := proc.StartTicks(p.Pid())
		if !ok || n == 0 {
			t.Fatalf("StartTicks(%d) = %d, %v", p.Pid(), n, ok)
		}
		return p, n
	}

	t.Run("stopped by SIGTERM", func(t *testing.T) {
		p, n := launch(t)
		got, err := proc.StopLeftover(p.Pid(), n, 10*time.Second)
		if err != nil || got != proc.LeftoverStopped {
			t.Fatalf("StopLeftover = %q, %v; want stopped", got, err)
		}
		if e := wait(t, p); e.Signal != syscall.SIGTERM {
			t.Errorf("exit %+v, want killed by SIGTERM", e)
		}
	})
	t.Run("killed when it ignores SIGTERM", func(t *testing.T) {
		p, n := launch(t, "ignoreterm")
		got, err := proc.StopLeftover(p.Pid(), n, 100*time.Millisecond)
		if err != nil || got != proc.LeftoverKilled {
			t.Fatalf("StopLeftover = %q, %v; want killed", got, err)
		}
		if e := wait(t, p); e.Signal != syscall.SIGKILL {
			t.Errorf("exit %+v, want killed by SIGKILL", e)
		}
	})
	t.Run("a reused pid is left alone", func(t *testing.T) {
		p, n := launch(t)
		got, err := proc.StopLeftover(p.Pid(), n-1, 10*time.Millisecond)
		if err != nil || got != proc.LeftoverLeftAlone {
			t.Fatalf("StopLeftover with another start time = %q, %v; want left alone", got, err)
		}
		select {
		case e := <-p.Done():
			t.Fatalf("the process with the reused pid ended: %+v", e)
		case <-time.After(50 * time.Millisecond):
		}
	})
	t.Run("gone", func(t *testing.T) {
		p := start(t, h, helperSpec(nil, "exit", "0"))
		wait(t, p)
		got, err := proc.StopLeftover(p.Pid(), 1, time.Second)
		if err != nil || got != proc.LeftoverGone {
			t.Fatalf("StopLeftover of an ended process = %q, %v; want gone", got, err)
		}
	})
}
