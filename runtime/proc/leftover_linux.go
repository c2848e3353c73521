package proc

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// StartTicks returns when process pid started, in clock ticks after boot
// (field 22 of /proc/PID/stat). With the boot and the pid it names one
// process: a later process that reuses the pid starts later.
func StartTicks(pid int) (uint64, bool) {
	t, ok := readStat(pid)
	return t.start, ok
}

// What StopLeftovers did with a leftover run.
const (
	LeftoverGone      = "gone"       // none of its processes runs any more
	LeftoverLeftAlone = "left alone" // its pid belongs to another process now, and nothing else of it was found
	LeftoverStopped   = "stopped"    // its processes ended after SIGTERM within the grace time
	LeftoverKilled    = "killed"     // some needed SIGKILL
	LeftoverFailed    = "failed"     // some still run after SIGKILL; Reason says which
)

// killWait is how long StopLeftovers waits for processes after SIGKILL.
const killWait = 5 * time.Second

// A Leftover is a run that an earlier daemon on the same journal started
// and did not see end, as its journal recorded it.
type Leftover struct {
	Unit, Kind string
	PID        int    // the run's process; 0 for a run found by a scan
	StartTicks uint64 // its start time, clock ticks after boot
	Run        string // the run's name (Process.Run); "" if unknown
	Cgroup     string // the run's cgroup; "" when it had none
}

// Found is one process of a leftover run.
type Found struct {
	PID     int    `json:"pid"`
	Command string `json:"command"` // its command line, cut at 200 bytes
}

// Cleanup is what StopLeftovers did with one leftover run.
type Cleanup struct {
	Leftover        // as recorded; for a run found by a scan, its unit and cgroup
	Action   string // LeftoverGone, LeftoverStopped, …
	Found    []Found
	Reason   string // why, in words
}

// group is one leftover run and the processes found of it.
type group struct {
	c        Cleanup
	cg       cgroupDir // "" for a run tracked by session
	reused   bool      // its pid names another process now: match no session
	leader   bool      // its pid still names its process, so its session is its
	members  map[int]task
	deadline time.Time
	killed   bool
	done     bool
}

// StopLeftovers stops every process of the runs an earlier daemon left,
// before this Host starts anything: the runs recorded, and those found by
// a scan — the cgroups below the Host's own, and processes whose KOPF_RUN
// names one of this Host's runs (Options.Name). A recorded run with a
// cgroup is that cgroup; one without is its session and process group (if
// its pid still names the process that started at StartTicks, or is free)
// and every process that descends from them. All get SIGTERM at once;
// each run then has grace(unit) to end before SIGKILL (cgroup.kill where
// it has a cgroup). A pid that names another process now is never
// signalled. The cgroups are removed. It returns one Cleanup per run, the
// recorded ones first in their order.
func (h *Host) StopLeftovers(recorded []Leftover, grace func(unit string) time.Duration) []Cleanup {
	var groups []*group
	byRun := map[string]*group{} // by run name (the cgroup's base name, KOPF_RUN's last part)
	for _, l := range recorded {
		g := &group{c: Cleanup{Leftover: l}, members: map[int]task{}}
		groups = append(groups, g)
		if l.Run != "" {
			byRun[l.Run] = g
		}
		switch {
		case l.Cgroup != "" && h.isRunCgroup(l.Cgroup):
			g.cg = cgroupDir(l.Cgroup)
			byRun[filepath.Base(l.Cgroup)] = g
			continue
		case l.Cgroup != "":
			// A journal edited by hand, or damaged: a cgroup that is not a
			// run's of this Host's name may hold anything.
			g.c.Reason = "the journal names " + l.Cgroup + " as its cgroup, which is not one of kopf's runs; it was left alone"
		}
		if l.PID <= 1 || l.PID == os.Getpid() {
			continue
		}
		if t, ok := readStat(l.PID); ok && t.running() {
			g.reused, g.leader = t.start != l.StartTicks, t.start == l.StartTicks
		}
	}
	if c, ok := h.track.(*cgroups); ok {
		entries, _ := os.ReadDir(string(c.dir))
		for _, e := range entries {
			if !e.IsDir() || byRun[e.Name()] != nil {
				continue
			}
			dir := filepath.Join(string(c.dir), e.Name())
			if dir == h.sweeper {
				continue // the guard's own run: it is the one sweeping
			}
			g := &group{c: Cleanup{Leftover: scanned(e.Name(), dir)}, cg: cgroupDir(dir), members: map[int]task{}}
			groups = append(groups, g)
			byRun[e.Name()] = g
		}
	}
	groups = h.findLeftovers(groups, byRun)
	now := time.Now()
	for _, g := range groups {
		for _, t := range g.members {
			g.c.Found = append(g.c.Found, Found{PID: t.pid, Command: commandLine(t.pid)})
		}
		slices.SortFunc(g.c.Found, func(a, b Found) int { return cmp.Compare(a.PID, b.PID) })
		g.deadline = now.Add(grace(g.c.Unit))
		g.signal(unix.SIGTERM)
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 20*time.Millisecond) {
		pending := false
		now := time.Now()
		for _, g := range groups {
			if !g.done {
				g.step(now)
				pending = pending || !g.done
			}
		}
		if !pending {
			break
		}
		time.Sleep(wait)
	}
	out := make([]Cleanup, len(groups))
	for i, g := range groups {
		out[i] = g.c
	}
	return out
}

// Sweep stops every run a Host named name left — the runs below its
// cgroup dir ("" for a Host without cgroups), and the processes
// that carry a KOPF_RUN of its name, with their sessions' and their
// descendants — giving each grace between SIGTERM and SIGKILL. It is what
// the next daemon's StopLeftovers does with no journal: kopf's guard calls
// it the moment its daemon dies, so that a dead daemon's runs do not wait
// for the next start. The calling process is never among them.
func Sweep(name, dir string, grace time.Duration) []Cleanup {
	h := &Host{name: name, track: sessions{started: func(int) bool { return false }}}
	if dir != "" {
		h.track = &cgroups{dir: cgroupDir(dir)}
		h.sweeper, _ = OwnCgroup()
	}
	return h.StopLeftovers(nil, func(string) time.Duration { return grace })
}

// isRunCgroup reports whether dir may be a run's cgroup of a Host of this
// one's name: a directory of a cgroup v2 file system named as runs are,
// in one named as the Host.
func (h *Host) isRunCgroup(dir string) bool {
	_, ok := parseCgroupName(filepath.Base(dir))
	return ok && filepath.IsAbs(dir) && filepath.Base(filepath.Dir(dir)) == h.name && isCgroup2(filepath.Dir(dir))
}

// scanned is the Leftover of a run found by a scan, with the unit its
// name tells.
func scanned(name, cgroup string) Leftover {
	l := Leftover{Run: name, Cgroup: cgroup}
	if label, ok := parseCgroupName(name); ok {
		l.Kind, l.Unit, _ = strings.Cut(label, "-")
	}
	return l
}

// findLeftovers fills the groups' members: from the cgroups, and from one
// scan of /proc for the sessions, process groups and KOPF_RUN markers of
// the runs, with their descendants.
func (h *Host) findLeftovers(groups []*group, byRun map[string]*group) []*group {
	self := os.Getpid()
	for _, g := range groups {
		if g.cg == "" {
			continue
		}
		for _, pid := range g.cg.procs() {
			if t, ok := readStat(pid); ok && t.running() && pid != self {
				g.members[pid] = t
			}
		}
	}
	all := tasks()
	owner := map[int]*group{}
	for _, g := range groups {
		for pid := range g.members {
			owner[pid] = g
		}
	}
	prefix := h.name + "/"
	leaders := map[int]*group{} // runs tracked by session, by their process's pid
	for _, g := range groups {
		if g.cg == "" && g.c.PID > 1 && !g.reused {
			leaders[g.c.PID] = g
		}
	}
	for _, t := range all {
		if t.pid == self || owner[t.pid] != nil {
			continue
		}
		env, _ := os.ReadFile("/proc/" + strconv.Itoa(t.pid) + "/environ")
		name, marked := strings.CutPrefix(markerOf(env), prefix)
		// A session or process group is the run's while its leader lives:
		// once the leader is gone and so is the rest of it, the number can
		// name a new session; a process in it is the run's only if it
		// carries a KOPF_RUN of this Host's.
		var g *group
		for _, id := range []int{t.sid, t.pgrp} {
			if r := leaders[id]; r != nil && r.inSession(t) && (r.leader || marked) {
				g = r
				break
			}
		}
		if marked {
			switch m := byRun[name]; {
			case g != nil && m == nil:
				byRun[name] = g // the run's other processes join its record
			case g == nil && m != nil:
				g = m
			case g == nil:
				g = &group{c: Cleanup{Leftover: scanned(name, "")}, members: map[int]task{}}
				groups = append(groups, g)
				byRun[name] = g
			}
		}
		if g != nil {
			g.members[t.pid] = t
			owner[t.pid] = g
		}
	}
	// Descendants: a process forked by one of a run's is the run's.
	kids := map[int][]task{}
	for _, t := range all {
		kids[t.ppid] = append(kids[t.ppid], t)
	}
	var queue []int
	for pid := range owner {
		queue = append(queue, pid)
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, k := range kids[pid] {
			if owner[k.pid] == nil && k.pid != self {
				owner[k.pid] = owner[pid]
				owner[pid].members[k.pid] = k
				queue = append(queue, k.pid)
			}
		}
	}
	return groups
}

// inSession reports whether t is in the session or process group of the
// group's recorded process, and started after it.
func (g *group) inSession(t task) bool {
	return g.cg == "" && !g.reused && g.c.PID != 0 && t.start >= g.c.StartTicks && (t.sid == g.c.PID || t.pgrp == g.c.PID)
}

// signal sends sig to the group's processes that still are the ones found.
func (g *group) signal(sig unix.Signal) {
	for _, t := range g.members {
		signalIf(t.pid, sig, func() bool { return same(t) })
	}
}

// same reports whether t's pid still names the running process t.
func same(t task) bool {
	now, ok := readStat(t.pid)
	return ok && now.start == t.start && now.running()
}

// alive reports whether a process of the group still runs.
func (g *group) alive() bool {
	if g.cg != "" && g.cg.populated() {
		return true
	}
	for _, t := range g.members {
		if same(t) {
			return true
		}
	}
	return false
}

// step moves the group on at now: done once nothing of it runs; SIGKILL
// once its grace has passed; failed when that did not end it either.
func (g *group) step(now time.Time) {
	if !g.alive() {
		g.finish()
		return
	}
	if !now.After(g.deadline) {
		return
	}
	if !g.killed {
		g.killed, g.deadline = true, now.Add(killWait)
		g.addForked()
		if g.cg != "" {
			g.cg.kill()
		}
		g.signal(unix.SIGKILL)
		return
	}
	var still []string
	for _, t := range g.members {
		if same(t) {
			still = append(still, strconv.Itoa(t.pid))
		}
	}
	slices.Sort(still)
	g.done, g.c.Action = true, LeftoverFailed
	g.c.Reason = fmt.Sprintf("still running %s after SIGKILL: pids %s", killWait, strings.Join(still, " "))
	if g.cg != "" {
		g.c.Reason += "; cgroup " + string(g.cg) + " stays"
	}
}

// addForked adds the processes forked by the group's since it was found,
// and those that joined its session or process group.
func (g *group) addForked() {
	all := tasks()
	for added := true; added; {
		added = false
		for _, t := range all {
			_, in := g.members[t.pid]
			parent, ok := g.members[t.ppid]
			if !in && t.pid != os.Getpid() && (ok && t.start >= parent.start || g.leader && g.inSession(t)) {
				g.members[t.pid] = t
				added = true
			}
		}
	}
}

// finish settles a group whose processes have all ended.
func (g *group) finish() {
	g.done = true
	switch {
	case g.killed:
		g.c.Action, g.c.Reason = LeftoverKilled, "still running after SIGTERM and its stop-time, so killed"
	case len(g.c.Found) > 0:
		g.c.Action, g.c.Reason = LeftoverStopped, "ended after SIGTERM"
	case g.reused:
		g.c.Action, g.c.Reason = LeftoverLeftAlone, "the pid belongs to another process now (its start time differs)"
	case g.c.Reason != "":
		g.c.Action = LeftoverLeftAlone
	default:
		g.c.Action, g.c.Reason = LeftoverGone, "no process of it runs any more"
	}
	if g.cg != "" {
		if err := g.cg.remove(); err != nil {
			g.c.Reason += "; " + err.Error()
		}
	}
}

// commandLine returns pid's command line, its arguments joined by spaces,
// cut at 200 bytes; for a kernel thread or a process gone, its name.
func commandLine(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		b, _ = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		b = bytes.TrimSpace(b)
	}
	s := strings.ReplaceAll(string(b), "\x00", " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
