package proc

import (
	"errors"
	"fmt"
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

// What StopLeftover did.
const (
	LeftoverGone      = "gone"       // no such process any more (or only its zombie)
	LeftoverLeftAlone = "left alone" // the pid belongs to another process now
	LeftoverStopped   = "stopped"    // it ended after SIGTERM within the grace time
	LeftoverKilled    = "killed"     // it needed SIGKILL
)

// StopLeftover stops a process that an earlier kopf started and did not
// see end (kopf was SIGKILLed while the process had left its reach), if
// pid still is that process: one that started at startTicks. It sends
// SIGTERM to the process and its process group, waits up to grace, then
// sends SIGKILL. A pid that now belongs to another process is left alone.
//
// It holds a pidfd from the check of the start time on, so a process that
// ends meanwhile and whose pid is taken again is never signalled by
// mistake. The process is not kopf's child, so StopLeftover waits for it
// to end, not to be reaped.
func StopLeftover(pid int, startTicks uint64, grace time.Duration) (string, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return LeftoverGone, nil
	case err != nil:
		return "", fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	t, ok := readStat(pid)
	switch {
	case !ok || !t.running():
		return LeftoverGone, nil
	case t.start != startTicks:
		return LeftoverLeftAlone, nil
	}
	signal := func(sig unix.Signal) {
		// kopf started it as the leader of its own group; the group may
		// hold its children.
		_ = unix.Kill(-pid, sig)
		_ = unix.PidfdSendSignal(fd, sig, nil, 0)
	}
	signal(unix.SIGTERM)
	if ended(fd, grace) {
		return LeftoverStopped, nil
	}
	signal(unix.SIGKILL)
	if ended(fd, 5*time.Second) {
		return LeftoverKilled, nil
	}
	return "", fmt.Errorf("process %d did not end after SIGKILL", pid)
}

// ended waits up to d for the process of pidfd fd to end.
func ended(fd int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms < 0 {
			ms = 0
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		switch {
		case n > 0:
			return true
		case err == unix.EINTR && time.Now().Before(deadline):
			continue
		}
		return false
	}
}
