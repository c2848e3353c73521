package proc

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The walk of the children files finds exactly the processes below this
// one that a scan of all of /proc finds by their parents: children,
// grandchildren, one in a session of its own, and an orphan reparented to
// this process, the subreaper. Processes not below it are not among them.
func TestDescendantsAreTheTreeBelow(t *testing.T) {
	if !hasChildrenFiles() {
		t.Skip("this kernel has no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN): descendants scans all of /proc")
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `sleep 30 & (sleep 30 &); setsid sleep 30 & sh -c 'sleep 30 & wait' & wait`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range below(tasks(), os.Getpid()) {
			unix.Kill(pid, unix.SIGKILL)
		}
	})
	// sh; under it a sleep, a sleep in its own session, an inner sh and
	// its sleep; the orphan.
	var want []int
	for end := time.Now().Add(10 * time.Second); len(want) < 6; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the tree did not form: %v", want)
		}
		want = below(tasks(), os.Getpid())
	}
	orphan := slices.ContainsFunc(tasks(), func(x task) bool { return x.ppid == os.Getpid() && x.pid != cmd.Process.Pid })
	if !orphan {
		t.Fatal("no orphan was reparented to the test process")
	}
	var got []int
	for _, x := range descendants() {
		got = append(got, x.pid)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("descendants() = %v; the scan of /proc finds %v", got, want)
	}
	if slices.Contains(got, 1) || slices.Contains(got, os.Getppid()) {
		t.Errorf("descendants() = %v holds processes above this one", got)
	}
	var kids []int
	for _, x := range children() {
		kids = append(kids, x.pid)
	}
	slices.Sort(kids)
	var direct []int
	for _, x := range tasks() {
		if x.ppid == os.Getpid() {
			direct = append(direct, x.pid)
		}
	}
	slices.Sort(direct)
	if !slices.Equal(kids, direct) || len(kids) != 2 {
		t.Errorf("children() = %v; want the shell and the orphan, %v", kids, direct)
	}
}

// below lists, sorted, the pids of ts that descend from pid, by parent.
func below(ts []task, pid int) []int {
	var out []int
	in := map[int]bool{pid: true}
	for changed := true; changed; {
		changed = false
		for _, x := range ts {
			if in[x.ppid] && !in[x.pid] {
				in[x.pid] = true
				out = append(out, x.pid)
				changed = true
			}
		}
	}
	slices.Sort(out)
	return out
}
