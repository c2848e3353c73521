// Package cli is the kopf command line: subcommand dispatch, flags, usage
// text and the rendering of compiler messages. cmd/kopf's main is one line,
//
//	func main() { os.Exit(cli.Main()) }
//
// so that tests register the same Main with testscript and run the real CLI
// in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	// A scheduler must give the same times on a machine without a zoneinfo
	// database (a container built from scratch); Go falls back to this copy
	// only when the system has none.
	_ "time/tzdata"
)

// Exit statuses, the same for every subcommand.
const (
	exitOK    = 0
	exitError = 1 // an invalid schedule, or one that never fires
	exitUsage = 2 // bad flags or arguments
)

// caretEnv names the environment variable that overrides terminal detection
// for source snippets: 1 prints them, 0 does not.
const caretEnv = "KOPF_CARET"

// command is one subcommand. The table below is the whole dispatch: a new
// subcommand (kopf run) is one more entry.
type command struct {
	name     string
	synopsis string // the arguments after "kopf NAME"
	summary  string // one line for kopf's own usage
	help     string // what "kopf help NAME" prints after the synopsis
	// run returns nil for success, a usageError, flag.ErrHelp, errFailed
	// once it has printed why it failed, or any other error for kopf to
	// print; dispatch turns that into the exit status.
	run func(ctx context.Context, e *env, args []string) error
}

var commands = []*command{nextCmd, checkCmd, runCmd, importCmd, journalCmd, statusCmd, triggerCmd, startCmd, stopCmd, restartCmd, reloadCmd, versionCmd}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// env is what a command may use of the outside world. Main fills it from the
// process; nothing below Main reads os.Stdout, os.Args or the clock itself.
type env struct {
	stdout, stderr io.Writer
	now            func() time.Time
	getenv         func(string) string
	// caret says to print the source line and a caret under the column
	// after each positioned message.
	caret bool
	// terminal says stderr is a terminal: kopf run logs text there, JSON
	// elsewhere.
	terminal bool
	// logOut is stderr as kopf run's log writes it, shared with output
	// passed through raw; set by logger.
	logOut io.Writer
	// messages collects kopf check's messages for --json; nil prints
	// them.
	messages *[]checkMessage
}

// Main runs kopf with the process's arguments and streams and returns the
// exit status.
func Main() int {
	e := &env{
		stdout: os.Stdout,
		stderr: os.Stderr,
		now:    time.Now,
		getenv: os.Getenv,
		caret:  wantCaret(os.Getenv(caretEnv), os.Stderr),
	}
	e.terminal = isTerminal(os.Stderr)
	return run(context.Background(), e, os.Args[1:])
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		mainUsage(e.stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		return help(e, args[1:])
	case "--version", "-version":
		return exitStatus(e, versionCmd, versionCmd.run(ctx, e, args[1:]))
	default:
		c := lookup(name)
		if c == nil {
			fmt.Fprintf(e.stderr, "kopf: unknown command %q\n", name)
			mainUsage(e.stderr)
			return exitUsage
		}
		return exitStatus(e, c, c.run(ctx, e, args[1:]))
	}
}

// usageError is a mistake in a command's arguments.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errFailed says a command has already printed why it failed.
var errFailed = errors.New("failed")

// exitStatus reports what c's run returned and maps it to the exit status.
// A usage error prints the synopsis, so every command words them alike.
func exitStatus(e *env, c *command, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		commandHelp(e.stdout, c)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "kopf %s: %s\n", c.name, ue.msg)
		fmt.Fprintf(e.stderr, "usage: kopf %s %s\nRun 'kopf help %s' for details.\n", c.name, c.synopsis, c.name)
		return exitUsage
	case errors.Is(err, errFailed):
		return exitError
	}
	fmt.Fprintf(e.stderr, "kopf %s: %v\n", c.name, err)
	return exitError
}

// help prints kopf's usage, or one command's, on stdout: it was asked for.
func help(e *env, args []string) int {
	switch len(args) {
	case 0:
		mainUsage(e.stdout)
		return exitOK
	case 1:
		if c := lookup(args[0]); c != nil {
			commandHelp(e.stdout, c)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "kopf help: unknown command %q\n", args[0])
	default:
		fmt.Fprintf(e.stderr, "kopf help: expected at most one command, got %d\n", len(args))
	}
	mainUsage(e.stderr)
	return exitUsage
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, "kopf compiles schedules, previews when they fire, lints them, and runs jobs\nand procs on them.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  kopf %s %s\n", c.name, c.synopsis)
	}
	fmt.Fprintf(w, "  kopf help [COMMAND]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'kopf help COMMAND' for a command's flags and exit statuses.\n")
}

func commandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: kopf %s %s\n\n%s", c.name, c.synopsis, c.help)
}

// newFlagSet returns a flag set that prints nothing itself: its errors come
// back from parseArgs as usage errors for exitStatus to print.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, which it returns in order. "--" ends the flags.
// The flag package alone stops at the first positional argument, but
// "kopf next '30 2 * * *' -n 3" is how people add a flag to a command they
// just ran.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantCaret decides whether messages get a source snippet: as the
// environment variable says when it is a boolean, otherwise when stderr is a
// terminal.
func wantCaret(setting string, stderr *os.File) bool {
	if on, err := strconv.ParseBool(strings.TrimSpace(setting)); err == nil {
		return on
	}
	return isTerminal(stderr)
}

// isTerminal reports whether f is a terminal, by asking the terminal
// driver (golang.org/x/term): a character device alone is not one —
// /dev/null is a character device too, and carets, colours and text logs
// do not belong there.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}
