package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kopf/kopf/runtime/proc"
)

// The guard is a small process kopf run starts beside itself (a re-exec
// of kopf, Config.Guard): when the daemon dies — SIGKILL, the OOM killer,
// a crash — it stops every run the daemon left, at once, instead of
// leaving them to the next start. Its Pdeathsig is SIGTERM: the kernel
// tells it when the daemon's thread that started it ends, which is the
// daemon's death but for a moment may look like it (the thread ends
// first, the guard passes to another of the daemon's threads): the guard
// then watches for its parent to change. The daemon's clean stop ends it
// with SIGUSR1.

// guardEnv names, in the guard's environment, what it guards (guardSpec
// as JSON); a kopf started with it set is a guard (GuardMain).
const guardEnv = "KOPF_GUARD"

// guardSpec is what the guard needs of its daemon.
type guardSpec struct {
	Daemon int    `json:"daemon"` // the daemon's pid: its parent while the daemon lives
	Name   string `json:"name"`   // the daemon's Host's name (proc.Options.Name)
	Cgroup string `json:"cgroup"` // the Host's cgroup directory; "" without cgroups
}

// guardGrace is what a dead daemon's runs get between SIGTERM and SIGKILL:
// not their stop-time — their daemon is gone, and in a cluster another
// member is about to run their units.
const guardGrace = 250 * time.Millisecond

// GuardMain runs kopf's guard when this process is one, and returns its
// exit status; ok is false for any other kopf. kopf's main calls it first.
func GuardMain() (status int, ok bool) {
	v, ok := os.LookupEnv(guardEnv)
	if !ok {
		return 0, false
	}
	var g guardSpec
	if err := json.Unmarshal([]byte(v), &g); err != nil || g.Daemon <= 1 || g.Name == "" {
		fmt.Fprintf(os.Stderr, "kopf guard: $%s is not what kopf run sets: %q\n", guardEnv, v)
		return 2, true
	}
	return guard(g, os.Getppid, proc.Sweep), true
}

// guard waits for its daemon's death — its parent no longer being the
// daemon, looked at every second, and closely after each SIGTERM — and
// then sweeps the daemon's runs. SIGUSR1 ends it without a sweep.
func guard(g guardSpec, parent func() int, sweep func(name, dir string, grace time.Duration) []proc.Cleanup) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGUSR1)
	defer signal.Stop(sig)
	if parent() != g.Daemon {
		return 0 // the daemon died before the guard ran: its next start sweeps
	}
	every := time.Second
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGUSR1 {
				return 0 // the daemon stops cleanly, and stops its runs itself
			}
			every = 20 * time.Millisecond // the daemon may be dying: look closely
		case <-time.After(every):
		}
		if parent() != g.Daemon {
			sweep(g.Name, g.Cgroup, guardGrace)
			return 0
		}
		if every < time.Second {
			every = min(2*every, time.Second)
		}
	}
}

// startGuard starts the guard, after the previous daemon's leftovers are
// stopped and before any run starts.
func (d *daemon) startGuard(context.Context) error {
	if d.cfg.Guard == "" {
		return nil
	}
	spec, _ := json.Marshal(guardSpec{Daemon: os.Getpid(), Name: hostName(d.cfg.Journal), Cgroup: d.host.Tracking().Dir})
	p, err := d.host.Start(proc.Spec{
		Argv: []string{d.cfg.Guard}, Env: append(childEnviron(), guardEnv+"="+string(spec)),
		Label: "guard", DeathSignal: syscall.SIGTERM, LeftoverGrace: time.Second,
	})
	if err != nil {
		// Not fatal: without a guard a dead daemon's runs are stopped at
		// its next start, as before.
		d.log.Warn(fmt.Sprintf("kopf's guard did not start: %v; the runs of a kopf that dies are stopped only at its next start", err))
		return nil
	}
	d.guard = p
	return nil
}

// stopGuard ends the guard (SIGUSR1), and waits for it.
func (d *daemon) stopGuard(context.Context) {
	if d.guard == nil {
		return
	}
	if err := d.guard.Signal(syscall.SIGUSR1); err != nil {
		d.guard.Stop(time.Second)
	}
	select {
	case <-d.guard.Done():
	case <-time.After(5 * time.Second):
		d.guard.Stop(0)
		<-d.guard.Done()
	}
}
