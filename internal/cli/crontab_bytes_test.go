package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
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
	mustWrite(t, filepath.Join(crond, "app"), "MAILTO=\"\"\n"+
		"# Sicherung f\xfcr die Datenbank\n"+
		"# name: good\n"+
		"0 0 1 1 * "+me.Username+" kopftest record "+record+" good\n"+
		"# name: bad\n"+
		bad+"\x00b\n", 0o644)
	app := filepath.Join(crond, "app")
	nul := fmt.Sprintf("%s:6:%d: a NUL byte: no command, variable or field can hold one, and cron would cut the line there; the line is left out", app, len(bad)+1)

	check := exec.Command("kopf", "check", "--cron-dir", crond)
	var stderr strings.Builder
	check.Stderr = &stderr
	if err := check.Run(); check.ProcessState.ExitCode() != 1 {
		t.Errorf("kopf check: %v, want exit 1", err)
	}
	want := app + ":2:14: warning: invalid UTF-8 (byte 0xfc) in a comment: kopf reads a crontab as UTF-8 (is this file in another encoding, like Latin-1?)\n" + nul + "\n"
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
