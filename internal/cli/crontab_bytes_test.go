package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// TestCrontabBytesInCheckAndRun: a NUL in a cron.d line is an error at the
// NUL in kopf check and in the daemon's log, and a Latin-1 comment a
// warning at its byte; the daemon leaves the NUL's line out and runs the
// others.
func TestCrontabBytesInCheckAndRun(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	crond, record := filepath.Join(dir, "cron.d"), filepath.Join(dir, "record")
	bad := "0 0 1 1 * " + me.Username + " echo a"
	// kopftest is found in the test's PATH, which cron's environment is
	// not: the crontab says so, as a crontab would.
	mustWrite(t, filepath.Join(crond, "app"), "MAILTO=\"\"\nPATH="+os.Getenv("PATH")+"\n"+
		"# Sicherung f\xfcr die Datenbank\n"+
		"# name: good\n"+
		"0 0 1 1 * "+me.Username+" kopftest record "+record+" good\n"+
		"# name: bad\n"+
		bad+"\x00b\n", 0o644)
	app := filepath.Join(crond, "app")
	nul := fmt.Sprintf("%s:7:%d: a NUL byte: no command, variable or field can hold one, and cron would cut the line there; the line is left out", app, len(bad)+1)

	check := exec.Command("kopf", "check", "--cron-dir", crond)
	var stderr strings.Builder
	check.Stderr = &stderr
	if err := check.Run(); check.ProcessState.ExitCode() != 1 {
		t.Errorf("kopf check: %v, want exit 1", err)
	}
	want := app + ":3:14: warning: invalid UTF-8 (byte 0xfc) in a comment: kopf reads a crontab as UTF-8 (is this file in another encoding, like Latin-1?)\n" + nul + "\n"
	if stderr.String() != want {
		t.Errorf("kopf check says:\n%s\nwant:\n%s", stderr.String(), want)
	}

	sock := filepath.Join(dir, "kopf.sock")
	d := startKopfWith(t, "--socket", sock, "--journal", filepath.Join(dir, "journal.jsonl"), "--cron-dir", crond)
	waitFor(t, "kopf to run", d, func() bool { return d.logged("kopf running") })
	if !d.logged(nul) {
		t.Errorf("the daemon's log does not have %q:\n%s", nul, d.stderr)
	}
	out, errs, code := client(t, sock, "status")
	if code != 0 || !strings.Contains(out, "good") || strings.Contains(out, "bad") {
		t.Errorf("kopf status: exit %d, want good and not bad:\n%s%s", code, out, errs)
	}
	if out, errs, code := client(t, sock, "trigger", "good"); code != 0 {
		t.Fatalf("trigger good: %d %s%s", code, out, errs)
	}
	waitFor(t, "good's run", d, func() bool {
		b, _ := os.ReadFile(record)
		return string(b) == "good\n"
	})
}

// TestCrontabBackgroundLives: "@reboot prog &" in a crontab starts a
// program that outlives its line, as cron lets it; kopf status lists it
// under its job, and kopf stop ends it.
func TestCrontabBackgroundLives(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "bg.pid")
	tab := filepath.Join(dir, "crontab")
	mustWrite(t, tab, "MAILTO=\"\"\nPATH="+os.Getenv("PATH")+"\n# name: bg\n@reboot kopftest pid "+pidFile+" & echo started\n", 0o600)
	d, sock := controlled(t, dir, "--crontab="+tab)
	var pid int
	waitFor(t, "the background program", d, func() bool { pid = readPid(pidFile); return pid != 0 })
	waitFor(t, "the line's end", d, func() bool {
		for _, ev := range journalEvents(t, filepath.Join(dir, "journal.jsonl")) {
			if ev.Type == journal.Exited && ev.Unit == "bg" {
				return ev.Kept == 1
			}
		}
		return false
	})
	if !alive(pid) {
		t.Fatalf("the program the line started in the background (pid %d) was stopped with its line", pid)
	}
	var units []control.Unit
	waitFor(t, "kopf status to list it", d, func() bool {
		out, _, code := client(t, sock, "status", "--json")
		var st struct{ Units []control.Unit }
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Units) != 1 {
			return false
		}
		units = st.Units
		return len(units[0].Kept) == 1 && units[0].Kept[0].PID == pid
	})
	if !strings.Contains(units[0].Kept[0].Command, "kopftest pid") {
		t.Errorf("kept process's command %q", units[0].Kept[0].Command)
	}
	out, _, _ := client(t, sock, "status")
	if !strings.Contains(out, "Left running by ended runs") || !strings.Contains(out, fmt.Sprint(pid)) {
		t.Errorf("kopf status does not list the kept process:\n%s", out)
	}
	out, errs, code := client(t, sock, "stop", "bg")
	if code != 0 || !strings.Contains(out, `stopped 1 process its earlier runs left running`) {
		t.Errorf("kopf stop bg: %d %q %q", code, out, errs)
	}
	waitFor(t, "the kept program to end", d, func() bool { return !alive(pid) })
}
