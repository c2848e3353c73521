package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
)

// stopLeftovers stops the processes of the runs that the previous daemon
// started and did not see end, before anything starts: the same service
// never runs twice. Each run gets its unit's stop-time (10s for a unit no
// longer in the config). Processes of an earlier boot are not looked for,
// and a pid that now belongs to another process is left alone.
func stopLeftovers(log *slog.Logger, record func(...journal.Event), host *proc.Host, prev *journal.Previous, cfg *config.Config) {
	boot := journal.BootID()
	var recorded []proc.Leftover
	for _, p := range prev.Running {
		if p.BootID != "" && p.BootID != boot {
			record(journal.Event{Type: journal.Leftover, Unit: p.Unit, Kind: p.Kind, PID: p.PID, StartTicks: p.StartTicks,
				Run: p.Run, Cgroup: p.Cgroup, Action: proc.LeftoverGone, Reason: "the machine has rebooted since"})
			log.Info(fmt.Sprintf("%s %s (pid %d) of the previous kopf: gone: the machine has rebooted since", p.Kind, p.Unit, p.PID), "unit", p.Unit, "pid", p.PID)
			continue
		}
		recorded = append(recorded, proc.Leftover{Unit: p.Unit, Kind: string(p.Kind), PID: p.PID, StartTicks: p.StartTicks, Run: p.Run, Cgroup: p.Cgroup})
	}
	cleanups := host.StopLeftovers(recorded, func(unit string) time.Duration {
		// The units are sorted by name: no map of 100k units for the few
		// leftovers there may be.
		byName := func(u *config.Unit, name string) int { return strings.Compare(u.Name, name) }
		if i, ok := slices.BinarySearchFunc(cfg.Jobs, unit, func(j *config.Job, n string) int { return byName(&j.Unit, n) }); ok {
			return cfg.Jobs[i].StopTime
		}
		if i, ok := slices.BinarySearchFunc(cfg.Procs, unit, func(p *config.Proc, n string) int { return byName(&p.Unit, n) }); ok {
			return cfg.Procs[i].StopTime
		}
		return 10 * time.Second
	})
	for _, c := range cleanups {
		ev := journal.Event{Type: journal.Leftover, Unit: c.Unit, Kind: journal.Kind(c.Kind), PID: c.PID, StartTicks: c.StartTicks,
			Run: c.Run, Cgroup: c.Cgroup, Action: journal.Action(c.Action), Reason: c.Reason}
		for _, f := range c.Found {
			ev.Processes = append(ev.Processes, journal.Found{PID: f.PID, Command: f.Command})
		}
		record(ev)
		what := c.Kind + " " + c.Unit
		switch {
		case c.Unit == "":
			what = "run " + c.Run
		case c.PID != 0:
			what += fmt.Sprintf(" (pid %d)", c.PID)
		}
		msg := fmt.Sprintf("%s of the previous kopf: %s", what, c.Action)
		if n := len(c.Found); n > 0 {
			msg += fmt.Sprintf(", %s", plural(n, "process", "processes"))
		}
		if c.Reason != "" {
			msg += ": " + c.Reason
		}
		level := slog.LevelInfo
		if c.Action == proc.LeftoverFailed {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, msg, "unit", c.Unit, "pid", c.PID, "cgroup", c.Cgroup)
	}
}

// plural says n things: "1 process", "2 processes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// shortHash is 12 hex digits of s's SHA-256.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
