package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of kopf run's live reload: real directories, real
// processes. kopf applies a change once the files have been quiet for its
// debounce window (250ms); the tests poll for the effect, and to show that
// something did NOT happen they make a later change as a barrier and wait
// for that instead of sleeping: changes are applied in order.

// logs returns the messages of kopf's JSON log.
func (d *daemon) logs() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(d.stderr.String()))
	for sc.Scan() {
		var rec struct{ Msg string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			out = append(out, rec.Msg)
		}
	}
	return out
}

// starts counts how often kopf started the unit name.
func (d *daemon) starts(name string) int {
	n := 0
	for _, m := range d.logs() {
		if m == "start "+name {
			n++
		}
	}
	return n
}

// logged reports whether a log message contains s.
func (d *daemon) logged(s string) bool {
	for _, m := range d.logs() {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// service is a services file for a proc that writes its pid to pidFile;
// extra is more JSON members, like `"env": {"V": "2"}`.
func service(pidFile, extra string) string {
	if extra != "" {
		extra = ", " + extra
	}
	return fmt.Sprintf(`{"command": ["kopftest", "pid", %q]%s}`, pidFile, extra)
}

func mustWrite(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// atomicSave saves text to path the way editors do: write a temporary file
// beside it, then rename it over the original.
func atomicSave(t *testing.T, path, text string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	mustWrite(t, tmp, text, 0o644)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitStarted waits until name's pid file holds a live pid other than old.
func waitStarted(t *testing.T, d *daemon, name, pidFile string, old int) int {
	t.Helper()
	var p int
	// The pid checked is the one returned: the file read again could be
	// in the middle of its next write, and name no one.
	waitFor(t, name+" to start", d, func() bool { p = readPid(pidFile); return p != 0 && p != old && alive(p) })
	return p
}

func TestServicesDirectoryLive(t *testing.T) {
	root := t.TempDir()
	svc := filepath.Join(root, "etc", "kopf", "services") // not there yet, nor its parents
	pid := func(name string) string { return filepath.Join(root, name+".pid") }
	d := startKopfWith(t, "--services", svc)
	waitFor(t, "kopf to report the missing directory", d, func() bool { return d.logged("does not exist") })

	// The directory appears with a service in it.
	mustWrite(t, filepath.Join(svc, "a.json"), service(pid("a"), ""), 0o644)
	a := waitStarted(t, d, "a", pid("a"), 0)
	mustWrite(t, filepath.Join(svc, "b.json"), service(pid("b"), ""), 0o644)
	b := waitStarted(t, d, "b", pid("b"), 0)

	// An editor's save of new content restarts that service, once.
	atomicSave(t, filepath.Join(svc, "a.json"), service(pid("a"), `"env": {"V": "2"}`))
	a = waitStarted(t, d, "a", pid("a"), a)

	// Saving the same content, a touch, and an editor's leftovers restart
	// nothing.
	atomicSave(t, filepath.Join(svc, "b.json"), service(pid("b"), ""))
	now := time.Now()
	if err := os.Chtimes(filepath.Join(svc, "a.json"), now, now); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(svc, "b.json~"), service(pid("x"), ""), 0o644)
	mustWrite(t, filepath.Join(svc, "c.json"), service(pid("c"), ""), 0o644) // the barrier
	waitStarted(t, d, "c", pid("c"), 0)
	if got := [2]int{d.starts("a"), d.starts("b")}; got != [2]int{2, 1} {
		t.Errorf("a started %d times, b %d, want 2 and 1; log:\n%s", got[0], got[1], d.stderr)
	}
	if readPid(pid("a")) != a || readPid(pid("b")) != b || !alive(a) || !alive(b) {
		t.Errorf("a or b was restarted by a change of nothing")
	}

	// A file that becomes invalid is reported and its service keeps
	// running; the fix applies.
	mustWrite(t, filepath.Join(svc, "a.json"), `{"command": ["kopftest"], "stop_time": "soon"}`, 0o644)
	waitFor(t, "the error to be reported", d, func() bool {
		return d.logged(filepath.Join(svc, "a.json") + `:1:40: invalid duration "soon"`)
	})
	if !alive(a) || d.starts("a") != 2 {
		t.Fatalf("an invalid file stopped or restarted its running service")
	}
	mustWrite(t, filepath.Join(svc, "a.json"), service(pid("a"), `"stop_time": 1`), 0o644)
	waitStarted(t, d, "a", pid("a"), a)

	// A removed file stops its service.
	if err := os.Remove(filepath.Join(svc, "b.json")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to stop", d, func() bool { return !alive(b) })
	if !d.logged("stopping b: removed from the config") {
		t.Errorf("b's stop does not say why:\n%s", d.stderr)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if got := d.starts("a"); got != 3 {
		t.Errorf("a started %d times, want 3: once, after the new content, after the fix", got)
	}
}

// A Kubernetes ConfigMap volume holds symlinks into ..data, a symlink to a
// timestamped directory; an update writes a new directory and swaps ..data
// with a rename. kopf sees the swap and restarts only what changed.
func TestConfigMapSwap(t *testing.T) {
	root := t.TempDir()
	svc := filepath.Join(root, "services")
	pid := func(name string) string { return filepath.Join(root, name+".pid") }
	mustWrite(t, filepath.Join(svc, "..v1", "a.json"), service(pid("a"), ""), 0o644)
	mustWrite(t, filepath.Join(svc, "..v1", "b.json"), service(pid("b"), ""), 0o644)
	for _, l := range [][2]string{{"..v1", "..data"}, {"..data/a.json", "a.json"}, {"..data/b.json", "b.json"}} {
		if err := os.Symlink(l[0], filepath.Join(svc, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	d := startKopfWith(t, "--services", svc)
	a := waitStarted(t, d, "a", pid("a"), 0)
	b := waitStarted(t, d, "b", pid("b"), 0)

	mustWrite(t, filepath.Join(svc, "..v2", "a.json"), service(pid("a"), ""), 0o644)
	mustWrite(t, filepath.Join(svc, "..v2", "b.json"), service(pid("b"), `"title": "bee"`), 0o644)
	if err := os.Symlink("..v2", filepath.Join(svc, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(svc, "..data_tmp"), filepath.Join(svc, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(svc, "..v1")); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, d, "b", pid("b"), b)
	if readPid(pid("a")) != a || !alive(a) {
		t.Errorf("a, unchanged by the swap, was restarted")
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// Scripts (cronmon's layout): every executable is a proc. The directory
// itself is a symlink that an operator swaps to a new version.
func TestScriptsDirectoryLive(t *testing.T) {
	root := t.TempDir()
	pid := func(name string) string { return filepath.Join(root, name+".pid") }
	script := func(name string) string { return fmt.Sprintf("#!/bin/sh\nexec kopftest pid %q\n", pid(name)) }
	v1, v2 := filepath.Join(root, "v1"), filepath.Join(root, "v2")
	mustWrite(t, filepath.Join(v1, "a"), script("a"), 0o755)
	mustWrite(t, filepath.Join(v1, "b"), script("b"), 0o644) // not executable: not a script
	scripts := filepath.Join(root, "scripts")
	if err := os.Symlink("v1", scripts); err != nil {
		t.Fatal(err)
	}
	d := startKopfWith(t, "--scripts", scripts)
	a := waitStarted(t, d, "a", pid("a"), 0)

	// A file that becomes executable is a new script.
	if err := os.Chmod(filepath.Join(v1, "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := waitStarted(t, d, "b", pid("b"), 0)

	// The directory swapped for a version where a is unchanged, b has new
	// content and c is new.
	mustWrite(t, filepath.Join(v2, "a"), script("a"), 0o755)
	mustWrite(t, filepath.Join(v2, "b"), script("b")+"# new\n", 0o755)
	mustWrite(t, filepath.Join(v2, "c"), script("c"), 0o755)
	if err := os.Symlink("v2", filepath.Join(root, "scripts.tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "scripts.tmp"), scripts); err != nil {
		t.Fatal(err)
	}
	waitStarted(t, d, "c", pid("c"), 0)
	waitStarted(t, d, "b", pid("b"), b)
	if readPid(pid("a")) != a || !alive(a) {
		t.Errorf("a, unchanged by the swap, was restarted")
	}
	// Changes inside the new directory are seen.
	if err := os.Remove(filepath.Join(v2, "c")); err != nil {
		t.Fatal(err)
	}
	c := readPid(pid("c"))
	waitFor(t, "c to stop", d, func() bool { return !alive(c) })
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// The config file is watched too, per job: no SIGHUP needed, and only the
// changed unit restarts.
func TestConfigFileWatched(t *testing.T) {
	dir := t.TempDir()
	aPid, bPid := filepath.Join(dir, "a.pid"), filepath.Join(dir, "b.pid")
	conf := func(bTitle string) string {
		return fmt.Sprintf(`{"procs": {"a": {"command": ["kopftest", "pid", %q]}, "b": {"command": ["kopftest", "pid", %q], "title": %q}}}`, aPid, bPid, bTitle)
	}
	cfg := writeConfig(t, dir, "kopf.json", conf("b"))
	d := startKopf(t, cfg)
	a := waitStarted(t, d, "a", aPid, 0)
	b := waitStarted(t, d, "b", bPid, 0)
	atomicSave(t, cfg, conf("bee"))
	waitStarted(t, d, "b", bPid, b)
	if readPid(aPid) != a || !alive(a) {
		t.Errorf("a, unchanged, was restarted")
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if got := d.starts("bee"); got != 1 {
		t.Errorf("b started %d times under its new title, want 1", got)
	}
}

// service-manager's two ways to give a command run for real: "cmd" as a
// shell command with "args" as $1..., "tool" as ./run.py TOOL ARGS... in
// root_directory.
func TestServiceCommandsRun(t *testing.T) {
	root := t.TempDir()
	record := filepath.Join(root, "record")
	svc := filepath.Join(root, "services")
	mustWrite(t, filepath.Join(root, "infra", "run.py"), fmt.Sprintf("#!/bin/sh\nexec kopftest record %q \"$@\"\n", record), 0o755)
	mustWrite(t, filepath.Join(svc, "shell.json"), fmt.Sprintf(`{
		"cmd": "exec kopftest record '%s' \"$0\" \"$1\" \"$2\"",
		"args": ["two words", "$HOME"],
		"period": "1h"
	}`, record), 0o644)
	mustWrite(t, filepath.Join(svc, "tool.json"), `{
		"name": "cleanup", "root_directory": "../infra", "tool": "infra.tools.cleanup",
		"args": ["--days", "7"], "scheduling": "every 1h", "run-on-start": true
	}`, 0o644)
	d := startKopfWith(t, "--services", svc)
	lines := func() []string {
		b, _ := os.ReadFile(record)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	waitFor(t, "both services to run", d, func() bool { return len(lines()) == 2 })
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	got := strings.Join(lines(), "\n")
	for _, want := range []string{"shell|two words|$HOME", "infra.tools.cleanup|--days|7"} {
		if !strings.Contains(got, want) {
			t.Errorf("records lack %q:\n%s", want, got)
		}
	}
}

// With no FILE and no directory, kopf runs cronmon's scripts directory
// under its own name.
func TestDefaultScriptsDirectory(t *testing.T) {
	root := t.TempDir()
	pidFile := filepath.Join(root, "a.pid")
	mustWrite(t, filepath.Join(root, "config", "kopf", "scripts", "a"), fmt.Sprintf("#!/bin/sh\nexec kopftest pid %q\n", pidFile), 0o755)
	d := startKopfEnv(t, []string{"XDG_CONFIG_HOME=" + filepath.Join(root, "config")})
	waitStarted(t, d, "a", pidFile, 0)
	if code := d.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// TestCrontabLiveEdit: a running crontab is edited as people edit one:
// a line inserted above the others, one line changed, and an environment
// line added at the end. Only the changed line's job restarts (a new
// name: stopped and started); the others keep running untouched.
func TestCrontabLiveEdit(t *testing.T) {
	dir := t.TempDir()
	tab := filepath.Join(dir, "tab")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(tab+".tmp", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tab+".tmp", tab); err != nil { // as editors save
			t.Fatal(err)
		}
	}
	write("0 1 * * * one\n0 2 * * * two\n# name: three\n0 3 * * * three\n")
	d := startKopf(t, "--crontab="+tab)
	waitFor(t, "kopf to run", d, func() bool { return d.logged("0 kept, 0 restarted, 0 stopped, 3 started") })
	write("0 0 * * * zero\n0 1 * * * one\n0 2 * * * two --now\n# name: three\n0 3 * * * three\nX=1\n")
	waitFor(t, "the reload", d, func() bool { return d.logged("2 kept, 0 restarted, 1 stopped, 2 started") })
}
