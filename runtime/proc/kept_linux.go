package proc

import (
	"time"

	"golang.org/x/sys/unix"
)

// KeptRun is an ended run whose leftovers the Host keeps running
// (Spec.KeepLeftovers): its processes are still kopf's, reaped by it and
// ended by StopKept, KillOrphans or the next daemon's StopLeftovers.
type KeptRun struct {
	Label     string  // its Spec's Label
	Run       string  // its name, as Process.Run says
	Processes []Found // what of it runs now
}

// Kept lists the kept runs that still have processes, oldest first. It
// reads their processes from their cgroups, or without cgroups from a scan
// of kopf's descendants.
func (h *Host) Kept() []KeptRun {
	var out []KeptRun
	for _, r := range h.keptRuns() {
		ms := h.track.members(r)
		if len(ms) == 0 {
			continue
		}
		k := KeptRun{Label: r.label, Run: r.name}
		for _, t := range ms {
			k.Processes = append(k.Processes, Found{PID: t.pid, Command: commandLine(t.pid)})
		}
		out = append(out, k)
	}
	return out
}

// StopKept ends the kept runs of label: SIGTERM to each of their
// processes now, SIGKILL to what is left of them after grace (without
// waiting for it). It returns how many processes it signalled.
func (h *Host) StopKept(label string, grace time.Duration) int {
	n := 0
	for _, r := range h.keptRuns() {
		if r.label != label {
			continue
		}
		ms := h.track.members(r)
		if len(ms) == 0 {
			continue
		}
		n += len(ms)
		h.track.signal(r, ms, unix.SIGTERM)
		time.AfterFunc(grace, func() {
			if len(h.track.members(r)) > 0 {
				h.track.kill(r)
			}
		})
	}
	return n
}
