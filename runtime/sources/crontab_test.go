package sources

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
)

func crontabSet(t *testing.T, spec Spec) (*Set, *bytes.Buffer) {
	log := &bytes.Buffer{}
	return New(spec, slog.New(slog.NewTextHandler(log, nil))), log
}

func jobNames(cfg *config.Config) []string {
	var out []string
	for _, j := range cfg.Jobs {
		out = append(out, j.Name)
	}
	return out
}

// TestCrontabSource: a crontab's jobs come and go with its lines; a save
// with a bad line leaves that line out and keeps what the last version
// ran, until a save without errors.
func TestCrontabSource(t *testing.T) {
	f := newFixture(t)
	tab := filepath.Join(f.root, "tab")
	f.write(tab, "# name: a\n0 1 * * * a\n# name: b\n0 2 * * * b\n", 0o644)
	set, log := crontabSet(t, Spec{Crontabs: []string{tab}})
	cfg, err := set.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, jobNames(cfg)); diff != "" {
		t.Fatalf("jobs (-want +got):\n%s", diff)
	}
	// b's line is broken and c is added: c runs, b keeps its last version.
	f.write(tab, "# name: a\n0 1 * * * a\n0 99 * * * b\n# name: c\n0 3 * * * c\n", 0o644)
	cfg, problems := set.Rescan(context.Background())
	if cfg == nil || problems == nil {
		t.Fatalf("rescan: %v, %v; want a config and the bad line", cfg, problems)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, jobNames(cfg)); diff != "" {
		t.Errorf("jobs after a bad save (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "keeping 1 job of its last version until it is fixed") || !strings.Contains(problems.Error(), "tab:3:3: 99 is out of range") {
		t.Errorf("log:\n%s\nproblems: %v", log, problems)
	}
	// Fixed, with b deleted: b goes.
	f.write(tab, "# name: a\n0 1 * * * a\n# name: c\n0 3 * * * c\n", 0o644)
	if cfg, problems = set.Rescan(context.Background()); cfg == nil || problems != nil {
		t.Fatalf("rescan: %v, %v", cfg, problems)
	}
	if diff := cmp.Diff([]string{"a", "c"}, jobNames(cfg)); diff != "" {
		t.Errorf("jobs after the fix (-want +got):\n%s", diff)
	}
	// The same bytes again: no change.
	f.write(tab, "# name: a\n0 1 * * * a\n# name: c\n0 3 * * * c\n", 0o644)
	if cfg, _ = set.Rescan(context.Background()); cfg != nil {
		t.Error("an identical save changed the config")
	}
}

// TestCronDir: a directory of system crontabs and a system crontab named
// itself; files cronie refuses are refused, saying why, and keep their
// last version.
func TestCronDir(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(f.root, "cron.d")
	etc := filepath.Join(f.root, "crontab")
	f.write(filepath.Join(dir, "app"), "# name: app\n0 * * * * root true\n", 0o644)
	f.write(filepath.Join(dir, "app~"), "# name: backup\n0 * * * * root true\n", 0o644)
	f.write(filepath.Join(dir, ".hidden"), "# name: hidden\n0 * * * * root true\n", 0o644)
	f.write(etc, "# name: etc\n17 * * * * root run-parts /etc/cron.hourly\n", 0o644)
	set, log := crontabSet(t, Spec{CronDirs: []string{dir, etc}})
	cfg, err := set.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"app", "etc"}, jobNames(cfg)); diff != "" {
		t.Fatalf("jobs (-want +got):\n%s", diff)
	}
	// Writable by others: refused, its last version kept.
	f.write(filepath.Join(dir, "app"), "# name: app2\n0 * * * * root true\n", 0o666)
	if cfg, _ := set.Rescan(context.Background()); cfg != nil {
		t.Errorf("a crontab anyone may write was read: %v", jobNames(cfg))
	}
	if !strings.Contains(log.String(), "is writable by its group or by others (mode 0666)") {
		t.Errorf("log does not say why:\n%s", log)
	}
	// Executable: refused as cronie does for a system crontab.
	f.write(filepath.Join(dir, "app"), "# name: app2\n0 * * * * root true\n", 0o755)
	if cfg, _ := set.Rescan(context.Background()); cfg != nil {
		t.Errorf("an executable system crontab was read: %v", jobNames(cfg))
	}
	f.write(filepath.Join(dir, "app"), "# name: app2\n0 * * * * root true\n", 0o644)
	if cfg, _ := set.Rescan(context.Background()); cfg == nil || !cmp.Equal([]string{"app2", "etc"}, jobNames(cfg)) {
		t.Errorf("the fixed file was not read")
	}
}

// TestCheckCrontabFileOwner: a crontab owned by someone other than root
// or kopf's user is refused.
func TestCheckCrontabFileOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	path := filepath.Join(t.TempDir(), "tab")
	if err := os.WriteFile(path, []byte("0 * * * * true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckCrontabFile(path, config.UserCrontab); err != nil {
		t.Errorf("root's crontab refused: %v", err)
	}
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	err := CheckCrontabFile(path, config.UserCrontab)
	if err == nil || !strings.Contains(err.Error(), "is owned by uid 4242, not by root or kopf's user (uid 0)") {
		t.Errorf("a stranger's crontab: %v", err)
	}
	geteuid = func() int { return 4242 }
	defer func() { geteuid = os.Geteuid }()
	if err := CheckCrontabFile(path, config.UserCrontab); err != nil {
		t.Errorf("kopf's own user's crontab refused: %v", err)
	}
}

// stopAfter is a context whose Err turns to context.Canceled at its nth
// call: a signal that comes while Load is under way.
type stopAfter struct {
	context.Context
	n int
}

func (c *stopAfter) Err() error {
	if c.n--; c.n <= 0 {
		return context.Canceled
	}
	return nil
}

// TestLoadStopsWhenDone: a Load whose context is done (a daemon told to
// stop while it starts) reads no further and returns the context's error;
// a file whose reading it stopped, even after its last line, logs nothing
// and is read in full by the next Load.
func TestLoadStopsWhenDone(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(f.root, "cron.d")
	f.write(filepath.Join(dir, "a"), "# name: a\n0 * * * * root true\n", 0o644)
	f.write(filepath.Join(dir, "b"), "# name: b\n0 * * * * root true\n", 0o644)
	// The context's checks: before a, at a's first line, after a's
	// parse, before b.
	for n, logged := range []string{1: "", 2: "", 3: "", 4: "/a:2:1: warning: no MAILTO"} {
		if n == 0 {
			continue
		}
		set, log := crontabSet(t, Spec{CronDirs: []string{dir}})
		if cfg, err := set.Load(&stopAfter{context.Background(), n}); !errors.Is(err, context.Canceled) || cfg != nil {
			t.Fatalf("stopped at check %d: %v, %v; want nothing and context.Canceled", n, cfg, err)
		}
		if got := log.String(); logged == "" && got != "" || logged != "" && (!strings.Contains(got, logged) || strings.Contains(got, "/b:")) {
			t.Errorf("stopped at check %d, the log has:\n%s\nwant %q alone", n, got, logged)
		}
		cfg, err := set.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"a", "b"}, jobNames(cfg)); diff != "" {
			t.Errorf("stopped at check %d, jobs of the next Load (-want +got):\n%s", n, diff)
		}
	}
}

// TestRescanStopsWhenDone: a Rescan stopped by its context (kopf stopping
// during a reload) returns no config; a changed file it had already read
// is not lost, the next Rescan returns it.
func TestRescanStopsWhenDone(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(f.root, "cron.d")
	f.write(filepath.Join(dir, "a"), "# name: a\n0 * * * * root true\n", 0o644)
	f.write(filepath.Join(dir, "b"), "# name: b\n0 * * * * root true\n", 0o644)
	set, _ := crontabSet(t, Spec{CronDirs: []string{dir}})
	if _, err := set.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.write(filepath.Join(dir, "a"), "# name: a2\n0 * * * * root true\n", 0o644)
	// Checks: before a, at a's first line, after a's parse, before b.
	if cfg, err := set.Rescan(&stopAfter{context.Background(), 4}); !errors.Is(err, context.Canceled) || cfg != nil {
		t.Fatalf("Rescan stopped before b: %v, %v; want nothing and context.Canceled", cfg, err)
	}
	cfg, err := set.Rescan(context.Background())
	if cfg == nil || err != nil {
		t.Fatalf("the next Rescan: %v, %v; want a's change", cfg, err)
	}
	if diff := cmp.Diff([]string{"a2", "b"}, jobNames(cfg)); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}
