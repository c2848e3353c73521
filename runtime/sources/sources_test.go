package sources

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/config"
)

type fixture struct {
	t                        *testing.T
	root, file, svc, scripts string
	log                      *bytes.Buffer
	set                      *Set
}

func newFixture(t *testing.T) *fixture {
	root := t.TempDir()
	f := &fixture{
		t: t, root: root, log: &bytes.Buffer{},
		file:    filepath.Join(root, "kopf.json"),
		svc:     filepath.Join(root, "services"),
		scripts: filepath.Join(root, "scripts"),
	}
	f.set = New(Spec{File: f.file, Services: []string{f.svc}, Scripts: []string{f.scripts}},
		slog.New(slog.NewTextHandler(f.log, nil)))
	f.write(f.file, `{}`, 0o644)
	return f
}

func (f *fixture) write(path, text string, mode os.FileMode) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		f.t.Fatal(err)
	}
}

// names lists a config's units as "job NAME" and "proc NAME".
func names(cfg *config.Config) []string {
	var out []string
	for _, j := range cfg.Jobs {
		out = append(out, "job "+j.Name)
	}
	for _, p := range cfg.Procs {
		out = append(out, "proc "+p.Name)
	}
	return out
}

func (f *fixture) load() *config.Config {
	f.t.Helper()
	cfg, err := f.set.Load(context.Background())
	if err != nil {
		f.t.Fatalf("Load: %v\nlog:\n%s", err, f.log)
	}
	return cfg
}

func (f *fixture) wantRescan(want ...string) *config.Config {
	f.t.Helper()
	cfg, _ := f.set.Rescan(context.Background())
	switch {
	case want == nil && cfg != nil:
		f.t.Fatalf("Rescan returned %v, want nothing (no change)", names(cfg))
	case want != nil && cfg == nil:
		f.t.Fatalf("Rescan returned nothing, want %v; log:\n%s", want, f.log)
	case want != nil && !slices.Equal(names(cfg), want):
		f.t.Fatalf("Rescan returned %v, want %v", names(cfg), want)
	}
	return cfg
}

func TestAllSourcesTogether(t *testing.T) {
	f := newFixture(t)
	f.write(f.file, `{"jobs": {"report": {"command": "r"}}}`, 0o644)
	f.write(filepath.Join(f.svc, "web.json"), `{"cmd": "httpd", "trigger": "report"}`, 0o644)
	f.write(filepath.Join(f.scripts, "tor"), "#!/bin/sh\nexec tor\n", 0o755)
	cfg := f.load()
	if got, want := names(cfg), []string{"job report", "job web", "proc tor"}; !slices.Equal(got, want) {
		t.Fatalf("Load = %v, want %v", got, want)
	}
	if got := cfg.Jobs[1].Triggers; len(got) != 1 || got[0].Job != "report" {
		t.Errorf("web's trigger to a job of the config file = %v", got)
	}
	tor := cfg.Procs[0]
	if want := filepath.Join(f.scripts, "tor"); tor.Command[0] != want || tor.Dir != f.scripts {
		t.Errorf("script runs %v in %q, want %s in its directory", tor.Command, tor.Dir, want)
	}
	f.wantRescan() // nothing changed
}

func TestScriptsChangeAndTouch(t *testing.T) {
	f := newFixture(t)
	tor := filepath.Join(f.scripts, "tor")
	f.write(tor, "#!/bin/sh\nexec tor\n", 0o755)
	before := f.load().Procs[0].Fingerprint()

	// A touch changes the times, not the content.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(tor, later, later); err != nil {
		t.Fatal(err)
	}
	f.wantRescan()

	f.write(tor, "#!/bin/sh\nexec tor -f other.rc\n", 0o755)
	after := f.wantRescan("proc tor").Procs[0].Fingerprint()
	if after == before {
		t.Error("a script with new content has the same fingerprint")
	}

	// Not executable: not a script any more; executable again: a new one.
	if err := os.Chmod(tor, 0o644); err != nil {
		t.Fatal(err)
	}
	f.wantRescan([]string{}...)
	if err := os.Chmod(tor, 0o700); err != nil {
		t.Fatal(err)
	}
	f.wantRescan("proc tor")
}

func TestIgnoredNames(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"web.json~", ".web.json.swp", "#web.json#", "web.json.bak", "web.json.dpkg-old", "notes.txt"} {
		f.write(filepath.Join(f.svc, name), `{"cmd": "x"}`, 0o644)
	}
	for _, name := range []string{"tor~", ".tor.swp", "tor.orig", "README"} {
		mode := os.FileMode(0o755)
		if name == "README" {
			mode = 0o644
		}
		f.write(filepath.Join(f.scripts, name), "#!/bin/sh\n", mode)
	}
	if err := os.Mkdir(filepath.Join(f.scripts, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.write(filepath.Join(f.svc, "web.json"), `{"cmd": "httpd"}`, 0o644)
	if got, want := names(f.load()), []string{"proc web"}; !slices.Equal(got, want) {
		t.Errorf("Load = %v, want only %v", got, want)
	}
}

func TestInvalidThenFixed(t *testing.T) {
	f := newFixture(t)
	web := filepath.Join(f.svc, "web.json")
	f.write(web, `{"cmd": "httpd", "stop_time": 5}`, 0o644)
	f.load()

	f.write(web, `{"cmd": "httpd", "stop_time": 5,, }`, 0o644)
	f.wantRescan() // the running version stays
	if want := web + ":1:33: expected a key in double quotes, found ','"; !strings.Contains(f.log.String(), want) {
		t.Errorf("log does not say where the error is (%s):\n%s", want, f.log)
	}
	f.log.Reset()
	cfg, problems := f.set.Rescan(context.Background())
	if f.log.Len() != 0 {
		t.Errorf("an unchanged invalid file is reported again:\n%s", f.log)
	}
	// but Rescan still says what is wrong, for kopf reload to answer.
	if cfg != nil || problems == nil || !strings.Contains(problems.Error(), web+":1:33: expected a key in double quotes, found ','") {
		t.Errorf("Rescan of an unchanged invalid file = %v, %v; want no config and the file's error", cfg, problems)
	}

	f.write(web, `{"cmd": "httpd", "stop_time": 7}`, 0o644)
	if got := f.wantRescan("proc web").Procs[0].StopTime; got != 7*time.Second {
		t.Errorf("the fixed file's stop_time = %v, want 7s", got)
	}
	if _, problems := f.set.Rescan(context.Background()); problems != nil {
		t.Errorf("problems after the fix: %v", problems)
	}
}

func TestConfigFile(t *testing.T) {
	f := newFixture(t)
	f.write(f.file, `{"jobs": {"a": {"command": "x"`, 0o644)
	if _, err := f.set.Load(context.Background()); err == nil || !strings.Contains(err.Error(), f.file+":1:") {
		t.Fatalf("Load of an invalid config file = %v, want its error with a position", err)
	}
	f.write(f.file, `{"jobs": {"a": {"command": "x"}}}`, 0o644)
	f.load()

	f.write(f.file, `{"jobs": {"a": {"command": 5}}}`, 0o644)
	f.wantRescan()
	if err := os.Remove(f.file); err != nil {
		t.Fatal(err)
	}
	f.wantRescan()
	if !strings.Contains(f.log.String(), f.file+": no such file; keeping its last valid version") {
		t.Errorf("a removed config file is not reported:\n%s", f.log)
	}
	f.write(f.file, `{"jobs": {"a": {"command": "y"}}}`, 0o644)
	if got := f.wantRescan("job a").Jobs[0].Command; got[2] != "y" {
		t.Errorf("command = %v", got)
	}
}

func TestNameDefinedTwice(t *testing.T) {
	f := newFixture(t)
	f.write(f.file, `{"procs": {"web": {"command": "x"}}}`, 0o644)
	f.load()
	f.write(filepath.Join(f.svc, "web.json"), `{"cmd": "y"}`, 0o644)
	f.wantRescan()
	if want := `is also defined at ` + f.file + ":1:12"; !strings.Contains(f.log.String(), want) {
		t.Errorf("log does not name both places (%s):\n%s", want, f.log)
	}
	// Renaming the service resolves it: the new file is read again.
	f.write(filepath.Join(f.svc, "web.json"), `{"name": "web2", "cmd": "y"}`, 0o644)
	f.wantRescan("proc web", "proc web2")
	if _, err := New(f.set.spec, nil).Load(context.Background()); err != nil {
		t.Errorf("Load after the fix: %v", err)
	}
}

func TestMissingDirectoryAppears(t *testing.T) {
	f := newFixture(t)
	if got := names(f.load()); len(got) != 0 {
		t.Fatalf("Load without directories = %v", got)
	}
	if !strings.Contains(f.log.String(), "directory "+f.svc+" does not exist") {
		t.Errorf("a missing directory is not reported:\n%s", f.log)
	}
	f.log.Reset()
	f.wantRescan()
	if f.log.Len() != 0 {
		t.Errorf("a directory still missing is reported again:\n%s", f.log)
	}
	f.write(filepath.Join(f.svc, "web.json"), `{"cmd": "y"}`, 0o644)
	f.wantRescan("proc web")
	if err := os.RemoveAll(f.svc); err != nil {
		t.Fatal(err)
	}
	f.wantRescan([]string{}...)
}

func TestSymlinkedDirectorySwap(t *testing.T) {
	f := newFixture(t)
	v1, v2 := filepath.Join(f.root, "v1"), filepath.Join(f.root, "v2")
	f.write(filepath.Join(v1, "web.json"), `{"cmd": "httpd"}`, 0o644)
	f.write(filepath.Join(v1, "db.json"), `{"cmd": "db"}`, 0o644)
	f.write(filepath.Join(v2, "web.json"), `{"cmd": "httpd"}`, 0o644)
	f.write(filepath.Join(v2, "db.json"), `{"cmd": "db --new"}`, 0o644)
	if err := os.Symlink("v1", f.svc); err != nil {
		t.Fatal(err)
	}
	before := f.load()
	tmp := filepath.Join(f.root, "tmp")
	if err := os.Symlink("v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.svc); err != nil {
		t.Fatal(err)
	}
	after := f.wantRescan("proc db", "proc web")
	if before.Procs[1].Fingerprint() != after.Procs[1].Fingerprint() {
		t.Error("web is the same in both versions but its fingerprint changed")
	}
	if before.Procs[0].Fingerprint() == after.Procs[0].Fingerprint() {
		t.Error("db changed but its fingerprint did not")
	}
}

// The config file may sit in the services directory; it is read as the
// config file only.
func TestConfigFileInsideServicesDirectory(t *testing.T) {
	f := newFixture(t)
	file := filepath.Join(f.svc, "kopf.json")
	f.write(file, `{"jobs": {"a": {"command": "x"}}}`, 0o644)
	f.write(filepath.Join(f.svc, "web.json"), `{"cmd": "httpd"}`, 0o644)
	set := New(Spec{File: file, Services: []string{f.svc}}, nil)
	cfg, err := set.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := names(cfg), []string{"job a", "proc web"}; !slices.Equal(got, want) {
		t.Errorf("Load = %v, want %v", got, want)
	}
}

// A file saved over a running config that would cost the daemon its
// memory — aliases that multiply, or more than config.MaxFileSize bytes —
// is refused with its position, and its last valid version keeps running.
func TestOversizedFilesKeepTheRunningConfig(t *testing.T) {
	root := t.TempDir()
	file, svc := filepath.Join(root, "kopf.yaml"), filepath.Join(root, "services")
	var log bytes.Buffer
	f := &fixture{t: t, root: root, file: file, svc: svc, log: &log,
		set: New(Spec{File: file, Services: []string{svc}}, slog.New(slog.NewTextHandler(&log, nil)))}
	f.write(file, "jobs:\n  a: {command: x, schedule: every 1h}\n", 0o644)
	if got := names(f.load()); !slices.Equal(got, []string{"job a"}) {
		t.Fatalf("Load = %v", got)
	}
	bomb := "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 9; i++ {
		bomb += strings.ReplaceAll(strings.ReplaceAll("aN: &aN [*aM, *aM, *aM, *aM, *aM, *aM, *aM, *aM, *aM]\n", "N", string(rune('0'+i))), "M", string(rune('0'+i-1)))
	}
	f.write(file, bomb, 0o644)
	f.wantRescan()
	if want := file + ":5:10: the alias *a3 expands the file past"; !strings.Contains(log.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, &log)
	}
	if err := os.Truncate(file, 64<<20); err != nil {
		t.Fatal(err)
	}
	f.wantRescan()
	if want := file + ":1:1: the file is larger than 32 MiB"; !strings.Contains(log.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, &log)
	}
	f.write(filepath.Join(svc, "web.json"), "", 0o644)
	if err := os.Truncate(filepath.Join(svc, "web.json"), 64<<20); err != nil {
		t.Fatal(err)
	}
	f.wantRescan()
	if want := filepath.Join(svc, "web.json") + ":1:1: the file is larger than 32 MiB"; !strings.Contains(log.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, &log)
	}
}
