package daemon

import (
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/proc"
)

// The guard's decisions, with its parent and its sweep injected: SIGUSR1
// is the daemon's clean stop (no sweep); a SIGTERM while its parent is
// still the daemon — a thread of the daemon ended, or a service manager
// signalled every process — is no death, until the parent changes; a
// parent that changed without any signal is found within a second.
func TestGuardDecisions(t *testing.T) {
	const daemonPid = 4242
	run := func(t *testing.T, act func(parent, sweeps *atomic.Int64)) (swept int, took time.Duration) {
		var parent atomic.Int64
		parent.Store(daemonPid)
		var sweeps atomic.Int64
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			guard(guardSpec{Daemon: daemonPid, Name: "kopf-test"}, func() int { return int(parent.Load()) },
				func(name, dir string, grace time.Duration) []proc.Cleanup {
					if name != "kopf-test" || grace != guardGrace {
						t.Errorf("sweep(%q, %q, %s)", name, dir, grace)
					}
					sweeps.Add(1)
					return nil
				})
		}()
		time.Sleep(50 * time.Millisecond) // the guard's signal handler is set
		act(&parent, &sweeps)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the guard did not end")
		}
		return int(sweeps.Load()), time.Since(start)
	}
	t.Run("clean stop", func(t *testing.T) {
		if swept, _ := run(t, func(_, _ *atomic.Int64) { syscall.Kill(syscall.Getpid(), syscall.SIGUSR1) }); swept != 0 {
			t.Errorf("swept %d times on a clean stop", swept)
		}
	})
	t.Run("SIGTERM, then the daemon dies", func(t *testing.T) {
		swept, _ := run(t, func(parent, sweeps *atomic.Int64) {
			syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
			time.Sleep(100 * time.Millisecond)
			if sweeps.Load() != 0 {
				t.Error("swept on a SIGTERM while the daemon is still its parent")
			}
			parent.Store(1)
		})
		if swept != 1 {
			t.Errorf("swept %d times after the daemon's death, want 1", swept)
		}
	})
	t.Run("death without a signal", func(t *testing.T) {
		swept, took := run(t, func(parent, _ *atomic.Int64) { parent.Store(1) })
		if swept != 1 || took > 5*time.Second {
			t.Errorf("swept %d times, %s after", swept, took)
		}
	})
}
