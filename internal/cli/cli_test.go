package cli_test

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kopf/kopf/internal/cli"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/proc"
)

// TestMain registers kopf's real Main, so scripts run the CLI as users do,
// and kopftest, the program of the processes kopf run supervises in
// run_test.go.
func TestMain(m *testing.M) {
	testscript.Main(cleanupM{m}, map[string]func(){
		"kopf":     func() { os.Exit(cli.Main()) },
		"kopftest": func() { os.Exit(kopftest(os.Args[1:])) },
	})
}

// cleanupM runs the tests, then kills and removes what is left in the
// cgroup that holds the daemons' runs (see testCgroup): a test that
// SIGKILLs a daemon leaves its cgroups, as a crash would.
type cleanupM struct{ *testing.M }

func (m cleanupM) Run() int {
	code := m.M.Run()
	if dir := testCgroupMade.Load(); dir != nil {
		removeCgroupTree(*dir)
	}
	return code
}

// testCgroup is the cgroup below which the tests' daemons make theirs,
// one per test process: "" where there is no writable cgroup v2 (the
// daemons then fall back as they would).
var testCgroup = sync.OnceValue(func() string {
	own, err := proc.OwnCgroup()
	if err != nil {
		return ""
	}
	dir := filepath.Join(own, "kopf-clitest-"+strconv.Itoa(os.Getpid()))
	if os.Mkdir(dir, 0o755) != nil {
		return ""
	}
	testCgroupMade.Store(&dir)
	return dir
})

var testCgroupMade atomic.Pointer[string]

// removeCgroupTree kills every process left below dir and removes its
// cgroups, deepest first.
func removeCgroupTree(dir string) {
	os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	var dirs []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		for try := 0; try < 100 && os.Remove(dirs[i]) != nil; try++ {
			time.Sleep(10 * time.Millisecond) // the killed are being reaped
		}
	}
}

var update = flag.Bool("update", false, "rewrite the files the scripts compare output with (cmp) to what the commands printed")

// TestScripts runs testdata/script/*.txtar. Besides testscript's commands
// they have "exits CODE command [args...]", which runs the command like exec
// and fails unless it exits with CODE: kopf's statuses 1 and 2 mean
// different things, and "! exec" cannot tell them apart.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exits": exits, "waitfor": waitforCmd},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "sendmail": // the machine delivers mail as cron does
				_, ok := config.LocalMail()
				return ok, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// waitforCmd is "waitfor FILE REGEXP": it waits up to 15 seconds until FILE
// has a line that matches REGEXP, for what a background kopf run does.
func waitforCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	if err != nil {
		ts.Fatalf("waitfor: %v", err)
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(path)
			ts.Fatalf("waitfor: no line of %s matches %q after 15s; it holds:\n%s", args[0], args[1], b)
		}
	}
}

func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad exit code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
