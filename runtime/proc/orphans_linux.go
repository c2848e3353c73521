package proc

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// pollOrphans is how often KillOrphans looks whether its orphans are gone.
const pollOrphans = 10 * time.Millisecond

// task is one process as /proc/<pid>/stat shows it. start (clock ticks since
// boot) tells a process from a later one that reuses its pid.
type task struct {
	pid, ppid int
	pgrp, sid int // process group and session
	state     byte
	start     uint64
}

// readStat reads /proc/<pid>/stat; ok is false when there is no such process.
func readStat(pid int) (t task, ok bool) {
	var buf [512]byte
	b, err := readSmall("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if err != nil {
		return task{}, false
	}
	// The command name, in parentheses, may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return task{}, false
	}
	f := bytes.Fields(b[i+1:]) // from field 3, state
	if len(f) < 20 || len(f[0]) != 1 {
		return task{}, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgrp, err2 := strconv.Atoi(string(f[2]))
	sid, err3 := strconv.Atoi(string(f[3]))
	start, err4 := strconv.ParseUint(string(f[19]), 10, 64) // field 22
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return task{}, false
	}
	return task{pid: pid, ppid: ppid, pgrp: pgrp, sid: sid, state: f[0][0], start: start}, true
}

// readSmall reads a small file of /proc or of the cgroup file system into
// buf, or into a larger buffer when it does not fit. It uses the system
// calls themselves: os.ReadFile asks the file's size first and offers
// each file to the network poller, which refuses it, three calls more
// for every start and end of a run.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
}

// tasks lists every running (not zombie) process that /proc shows.
func tasks() []task {
	d, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make([]task, 0, len(d))
	for _, e := range d {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if t, ok := readStat(pid); ok && t.running() {
			out = append(out, t)
		}
	}
	return out
}

// children lists the running (not zombie) children of this process.
func children() []task {
	if kids, ok := childPIDs(os.Getpid()); ok {
		return stats(kids)
	}
	self := os.Getpid()
	return slices.DeleteFunc(tasks(), func(t task) bool { return t.ppid != self })
}

// descendants lists the running processes below this one. kopf is a child
// subreaper, so every process a run starts stays below it, whatever
// becomes of its parents (a process leaves its session only for one of
// its own, and a session's processes all descend from its leader): the
// processes of a run's session are found among kopf's descendants, not
// among every process of the machine. Without the kernel's children
// files (CONFIG_PROC_CHILDREN), it is every process.
func descendants() []task {
	pids, ok := childPIDs(os.Getpid())
	if !ok {
		return tasks()
	}
	// A pid freed and taken again during the walk could repeat one.
	seen := make(map[int]bool, len(pids))
	for i := 0; i < len(pids); i++ {
		kids, _ := childPIDs(pids[i])
		for _, k := range kids {
			if !seen[k] {
				seen[k] = true
				pids = append(pids, k)
			}
		}
	}
	return stats(pids)
}

// stats reads the processes of pids that still run.
func stats(pids []int) []task {
	out := make([]task, 0, len(pids))
	for _, pid := range pids {
		if t, ok := readStat(pid); ok && t.running() {
			out = append(out, t)
		}
	}
	return out
}

// childPIDs lists the children of process pid, from the children file of
// each of its threads (a child belongs to the thread that forked it). ok
// is false when the kernel has no children files.
func childPIDs(pid int) (pids []int, ok bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tids, err := threadIDs(dir)
	if err != nil {
		return nil, hasChildrenFiles()
	}
	var buf [256]byte
	for _, tid := range tids {
		b, err := readSmall(dir+tid+"/children", buf[:])
		if err != nil {
			continue // the thread ended
		}
		for f := range bytes.FieldsSeq(b) {
			if n, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids, hasChildrenFiles()
}

// threadIDs lists the entries of a /proc/PID/task directory.
func threadIDs(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// hasChildrenFiles reports whether the kernel has /proc/PID/task/TID/children.
var hasChildrenFiles = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/children")
	return err == nil
})

func (t task) running() bool { return t.state != 'Z' && t.state != 'X' }

// orphans lists the running children that the Host did not start.
func (h *Host) orphans() []task {
	// Scan without the locks, filter with them: a spawner holds forking
	// from fork to registration, so a child seen by the scan is registered
	// by now if the Host started it.
	cs := children()
	h.forking.Lock()
	defer h.forking.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.DeleteFunc(cs, func(t task) bool { return h.procs[t.pid] != nil })
}

// Orphans returns the pids, ascending, of processes reparented to kopf that
// it did not start, still running.
func (h *Host) Orphans() []int {
	var pids []int
	for _, t := range h.orphans() {
		pids = append(pids, t.pid)
	}
	slices.Sort(pids)
	return pids
}

// KillOrphans sends SIGTERM to every orphan, then SIGKILL after grace to
// those still alive, and returns when they are gone (reaped) or grace+1s has
// passed. Orphans that appear meanwhile (children of dying orphans) are
// found at grace and whenever all earlier ones are gone, and get the signal
// of the moment: SIGTERM before grace, SIGKILL after.
// A pid that was reaped and reused in between is never signalled.
//
// With cgroups, it also ends what is left in the cgroups of runs whose
// leftovers were kept (Spec.KeepLeftovers): SIGTERM to their processes,
// cgroup.kill after grace.
func (h *Host) KillOrphans(grace time.Duration) {
	killAt := time.Now().Add(grace)
	giveUp := killAt.Add(time.Second)
	kept := h.keptRuns()
	for _, r := range kept {
		h.track.signal(r, h.track.members(r), unix.SIGTERM)
	}
	defer h.sweepKept(true)
	keptAlive := func() bool {
		return slices.ContainsFunc(kept, func(r *run) bool { return r.cg.populated() })
	}
	var list []task
	killed := false
	for {
		if len(list) == 0 {
			if list = h.orphans(); len(list) == 0 && !keptAlive() {
				return
			}
			if killed {
				signalAll(list, unix.SIGKILL)
			} else {
				signalAll(list, unix.SIGTERM)
			}
		}
		now := time.Now()
		if !killed && !now.Before(killAt) {
			list = append(list, h.orphans()...) // duplicates are harmless
			signalAll(list, unix.SIGKILL)
			for _, r := range kept {
				h.track.kill(r)
			}
			killed = true
		}
		if !now.Before(giveUp) {
			return
		}
		time.Sleep(pollOrphans)
		list = slices.DeleteFunc(list, gone)
	}
}

// gone reports whether t has been reaped (a zombie is not gone yet).
func gone(t task) bool {
	now, ok := readStat(t.pid)
	return !ok || now.start != t.start || now.ppid != os.Getpid()
}

func signalAll(ts []task, sig unix.Signal) {
	for _, t := range ts {
		signalTask(t, sig)
	}
}

// signalTask signals t unless its pid now names another process: the pidfd
// pins the process it was opened on, and the check after opening it tells
// whether that is still t.
func signalTask(t task, sig unix.Signal) {
	fd, err := unix.PidfdOpen(t.pid, 0)
	if err == unix.ENOSYS { // before Linux 5.3: check, then kill
		if !gone(t) {
			unix.Kill(t.pid, sig)
		}
		return
	}
	if err != nil {
		return // ESRCH: reaped
	}
	defer unix.Close(fd)
	if !gone(t) {
		unix.PidfdSendSignal(fd, sig, nil, 0)
	}
}
