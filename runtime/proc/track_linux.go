package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvRun is the environment variable that kopf sets in every process it
// starts, and that the process's descendants inherit: HOST/RUN, the Host's
// name (Options.Name) and the run's. Where there are no cgroups, it is how
// a restarted kopf finds the processes of an earlier run that left their
// session.
const EnvRun = "KOPF_RUN"

// Tracking says how a Host finds every process of a run.
type Tracking struct {
	// Cgroups is true when each run has a cgroup v2 of its own, below Dir,
	// into which the kernel places the child at clone time: nothing it
	// forks can leave it. False is the fallback: each run leads its own
	// session, and its processes are found by session, process group and
	// the KOPF_RUN variable, which a process can leave.
	Cgroups bool
	Dir     string // the Host's cgroup, which holds the runs'; "" without cgroups
	Why     string // why cgroups are not used; "" when they are
}

func (t Tracking) String() string {
	if t.Cgroups {
		return "cgroup v2, one cgroup per run below " + t.Dir
	}
	return "sessions and process groups, not cgroups: " + t.Why
}

// run is one process that a Host started and everything it forks.
type run struct {
	label  string    // Spec.Label
	name   string    // label@seq, as cgroupName makes it
	marker string    // EnvRun's value
	cg     cgroupDir // the run's cgroup; "" without cgroups
	rel    string    // the cgroup's path in the hierarchy, as /proc/PID/cgroup shows it
	pid    int       // the process started, which leads its own session
	start  uint64    // its start time, in clock ticks after boot
	reaped uint64    // when the process was reaped, in clock ticks after boot; 0 before
	over   bool      // the process has ended and nothing of the run was left
}

// tracker finds and signals the processes of runs: one kind with cgroups,
// one without.
type tracker interface {
	// prepare makes what holds r before its process starts, and returns
	// the descriptor that places the child there at clone time, or -1.
	prepare(r *run) (fd int, err error)
	// members returns r's running processes.
	members(r *run) []task
	// signal sends sig to each of ts that still is r's: never to a pid
	// that has been reused by another process meanwhile.
	signal(r *run, ts []task, sig unix.Signal)
	// kill sends SIGKILL to every process of r.
	kill(r *run)
	// release removes what prepare made; r has no process left.
	release(r *run) error
	// tryRelease removes what prepare made if r has no process left and
	// that can be told at once; it reports whether it did.
	tryRelease(r *run) bool
}

// cgroups tracks each run in a cgroup of its own below dir.
type cgroups struct {
	dir cgroupDir // the Host's
	rel string    // its path in the hierarchy
}

// newCgroups makes the Host's cgroup, name, below parent (the daemon's own
// cgroup when ""). It fails, saying why, where there is no cgroup v2 or
// kopf cannot write it.
func newCgroups(parent, name string) (*cgroups, error) {
	if parent == "" {
		own, err := OwnCgroup()
		if err != nil {
			return nil, err
		}
		parent = own
	} else {
		if !filepath.IsAbs(parent) {
			return nil, fmt.Errorf("cgroup %s: expected an absolute path in the cgroup v2 file system, like /sys/fs/cgroup/kopf", parent)
		}
		parent = filepath.Clean(parent)
		if !isCgroup2(parent) && isCgroup2(filepath.Dir(parent)) {
			if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("cannot create cgroup %s: %w", parent, err)
			}
		}
		if !isCgroup2(parent) {
			return nil, fmt.Errorf("%s is not a directory of a cgroup v2 file system", parent)
		}
	}
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("invalid cgroup name %q", name)
	}
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("cannot create cgroup %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		return nil, fmt.Errorf("cgroup %s has no cgroup.kill (Linux 5.14 or later has it): %w", dir, err)
	}
	if err := unix.Access(filepath.Join(dir, "cgroup.procs"), unix.W_OK); err != nil {
		return nil, fmt.Errorf("cannot write cgroup %s: %w", dir, err)
	}
	rel, err := hierarchyPath(dir)
	if err != nil {
		return nil, err
	}
	return &cgroups{dir: cgroupDir(dir), rel: rel}, nil
}

func (c *cgroups) prepare(r *run) (int, error) {
	dir := filepath.Join(string(c.dir), r.name)
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return -1, fmt.Errorf("create cgroup %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Rmdir(dir)
		return -1, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	r.cg, r.rel = cgroupDir(dir), strings.TrimSuffix(c.rel, "/")+"/"+r.name
	return fd, nil
}

func (c *cgroups) members(r *run) []task {
	// A run that left nothing behind, as most do, is told by one small
	// file; the walk of its cgroup's tree is for the others.
	if !r.cg.populated() {
		return nil
	}
	var out []task
	for _, pid := range r.cg.procs() {
		if t, ok := readStat(pid); ok && t.running() {
			out = append(out, t)
		}
	}
	return out
}

func (c *cgroups) signal(r *run, ts []task, sig unix.Signal) {
	for _, t := range ts {
		signalIf(t.pid, sig, func() bool { return holds(r.rel, t.pid) })
	}
}

func (c *cgroups) kill(r *run) { r.cg.kill() }

func (c *cgroups) release(r *run) error { return r.cg.remove() }

// tryRelease removes the run's cgroup, which the kernel allows only when
// no process is in it and no cgroup below it.
func (c *cgroups) tryRelease(r *run) bool {
	err := unix.Rmdir(string(r.cg))
	return err == nil || err == unix.ENOENT
}

// sessions tracks runs without cgroups: each run's process leads its own
// session, and a run's processes are those of its session or process
// group that started after it, the orphans kopf reaps that carry its
// KOPF_RUN, and their descendants.
type sessions struct {
	started func(pid int) bool // a run's own process, which the Host started
}

func (sessions) prepare(*run) (int, error) { return -1, nil }

func (s sessions) members(r *run) []task {
	if r.over {
		// Its session is gone, so its number may now name another one.
		return nil
	}
	all := descendants()
	self := os.Getpid()
	in := map[int]bool{}
	var out []task
	for _, t := range all {
		switch {
		case t.pid == self || t.start < r.start:
		case t.sid == r.pid || t.pgrp == r.pid:
			// Once the process is reaped, its pid is free as soon as its
			// session and group are empty, and may lead a new session: a
			// process that started since is the run's only if it carries
			// the run's KOPF_RUN.
			if r.reaped == 0 || t.start < r.reaped || hasMarker(t.pid, r.marker) {
				in[t.pid] = true
				out = append(out, t)
			}
		case t.ppid == self && !s.started(t.pid) && hasMarker(t.pid, r.marker):
			// An orphan reparented to kopf; the Host's own children are
			// each the process of another run, and need no reading.
			in[t.pid] = true
			out = append(out, t)
		}
	}
	return withDescendants(all, out, in)
}

// bootTicks returns the time since boot in the clock ticks of
// /proc/PID/stat's start time: USER_HZ, which is 100 on every Linux.
func bootTicks() uint64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return 0
	}
	return uint64(ts.Sec)*100 + uint64(ts.Nsec)/1e7
}

// withDescendants adds to out (whose pids are in) every process of all
// that descends from one of them.
func withDescendants(all, out []task, in map[int]bool) []task {
	kids := map[int][]task{}
	for _, t := range all {
		kids[t.ppid] = append(kids[t.ppid], t)
	}
	for i := 0; i < len(out); i++ {
		for _, k := range kids[out[i].pid] {
			if !in[k.pid] {
				in[k.pid] = true
				out = append(out, k)
			}
		}
	}
	return out
}

func (sessions) signal(_ *run, ts []task, sig unix.Signal) {
	for _, t := range ts {
		signalIf(t.pid, sig, func() bool {
			now, ok := readStat(t.pid)
			return ok && now.start == t.start && now.running()
		})
	}
}

func (s sessions) kill(r *run) { s.signal(r, s.members(r), unix.SIGKILL) }

func (sessions) release(*run) error { return nil }

// tryRelease never knows at once: a run's processes are found by a scan.
func (sessions) tryRelease(*run) bool { return false }

// signalIf sends sig to pid if still() holds once a pidfd pins the
// process: a process that ends and whose pid is taken again after the
// check is never signalled, since the pidfd names the one it was opened
// on.
func signalIf(pid int, sig unix.Signal, still func() bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ENOSYS { // before Linux 5.3: check, then kill
		if still() {
			unix.Kill(pid, sig)
		}
		return
	}
	if err != nil {
		return // ESRCH: gone
	}
	defer unix.Close(fd)
	if still() {
		unix.PidfdSendSignal(fd, sig, nil, 0)
	}
}

// hasMarker reports whether pid's environment, as it was exec'd, holds
// KOPF_RUN=marker.
func hasMarker(pid int, marker string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return markerOf(env) == marker
}

// markerOf returns the value of KOPF_RUN in an environ block, "" without
// one; the last of several wins, as for the process itself.
func markerOf(env []byte) string {
	var v string
	for _, kv := range bytes.Split(env, []byte{0}) {
		if m, ok := bytes.CutPrefix(kv, []byte(EnvRun+"=")); ok {
			v = string(m)
		}
	}
	return v
}
