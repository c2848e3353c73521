package cli_test

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kopf/kopf/internal/cli"
)

// TestMain registers kopf's real Main, so scripts run the CLI as users do,
// and kopftest, the program of the processes kopf run supervises in
// run_test.go.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kopf":     func() { os.Exit(cli.Main()) },
		"kopftest": func() { os.Exit(kopftest(os.Args[1:])) },
	})
}

// TestScripts runs testdata/script/*.txtar. Besides testscript's commands
// they have "exits CODE command [args...]", which runs the command like exec
// and fails unless it exits with CODE: kopf's statuses 1 and 2 mean
// different things, and "! exec" cannot tell them apart.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exits": exits},
	})
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
