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
	"embed"
	"errors"
	"fmt"
	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/daemon"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
// subcommand (kopf run) is one more entry. The command line is
// spf13/cobra's, with GNU flags (--flag, -n2, -n 2), suggestions and shell
// completion; the help texts and exit statuses are kopf's own.
type command struct {
	name     string
	synopsis string // the arguments after "kopf NAME"
	summary  string // one line for kopf's own usage
	// run defines the command's flags on fs and returns what runs it with
	// the positional arguments once they are parsed. That returns nil for
	// success, a usageError, errFailed once it has printed why it failed,
	// or any other error for kopf to print; dispatch turns that into the
	// exit status.
	run func(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error
}

// helpTexts are what "kopf help NAME" prints after the synopsis, one
// file per command, kept as text so that they read (and diff) as what the
// user sees; {{socket}} stands for the client commands' --socket flags.
//
//go:embed help/*.txt
var helpTexts embed.FS

// helpText is the help of command name.
func helpText(name string) string {
	b, err := helpTexts.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic("kopf: no help text for " + name) // TestEveryCommandHasHelp
	}
	socket, _ := helpTexts.ReadFile("help/socket.txt")
	return strings.ReplaceAll(string(b), "{{socket}}", string(socket))
}

var commands = []*command{nextCmd, checkCmd, diffCmd, explainCmd, exportCmd, runCmd, importCmd, journalCmd, statusCmd, triggerCmd, startCmd, stopCmd, restartCmd, reloadCmd, versionCmd, clusterCmd}

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
	// messages collects kopf check's messages for --json; nil prints
	// them.
	messages *[]checkMessage
}

// Main runs kopf with the process's arguments and streams and returns the
// exit status.
func Main() int {
	if status, ok := daemon.GuardMain(); ok {
		return status // this kopf is a daemon's guard, which kopf run started
	}
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
	if args[0] == "--version" {
		args[0] = "version"
	}
	root := e.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var c *command
	if cmd != nil {
		c = lookup(cmd.Name())
	}
	if c == nil {
		// kopf's own errors: an unknown command, or kopf help's.
		who := "kopf"
		if cmd != nil && cmd.HasParent() {
			who = "kopf " + cmd.Name()
		}
		var ue *usageError
		switch {
		case err == nil:
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(e.stderr, "%s: %s\n", who, ue.msg)
			mainUsage(e.stderr)
			return exitUsage
		}
		fmt.Fprintf(e.stderr, "%s: %v\n", who, err)
		return exitError
	}
	return exitStatus(e, c, err)
}

// rootCommand is kopf's command tree for this run.
func (e *env) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kopf",
		SilenceErrors: true,
		SilenceUsage:  true,
		// kopf alone, or an unknown command: cobra's own words would say
		// less than kopf's usage.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q", args[0])
			var names []string
			for _, c := range cmd.Commands() {
				names = append(names, c.Name())
			}
			if c := lang.Closest(args[0], names); c != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", c)
			}
			return &usageError{msg: msg}
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(&cobra.Command{
		Use: "help [COMMAND]", Short: "help about a command",
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			for _, c := range commands {
				names = append(names, c.name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error { return help(e, args) },
	})
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) {
		if c := lookup(cmd.Name()); c != nil {
			commandHelp(e.stdout, c)
			return
		}
		switch cmd.Name() {
		case "kopf", "help":
			mainUsage(e.stdout)
		default: // completion and its shells
			fmt.Fprintln(e.stdout, cmd.Long)
		}
	})
	for _, c := range commands {
		cc := &cobra.Command{Use: c.name, Short: c.summary, Args: cobra.ArbitraryArgs, DisableFlagsInUseLine: true}
		runner := c.run(e, cc.Flags())
		cc.RunE = func(cmd *cobra.Command, pos []string) error { return runner(cmd.Context(), pos) }
		e.completions(c, cc)
		root.AddCommand(cc)
	}
	return root
}

// flagError makes pflag's errors kopf's usage errors, with the closest
// flag for an unknown one.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		if c := lang.Closest(name, names); c != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", c)
		}
	}
	return &usageError{msg: msg}
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
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "kopf %s: %s\n", c.name, ue.msg)
		fmt.Fprintf(e.stderr, "usage: kopf %s %s\nRun 'kopf help %s' for details.\n", c.name, c.synopsis, c.name)
		return exitUsage
	case errors.Is(err, errFailed):
		return exitError
	case errors.Is(err, errSchedule):
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "kopf %s: %v\n", c.name, err)
	return exitError
}

// help prints kopf's usage, or one command's, on stdout: it was asked for.
func help(e *env, args []string) error {
	switch len(args) {
	case 0:
		mainUsage(e.stdout)
		return nil
	case 1:
		if c := lookup(args[0]); c != nil {
			commandHelp(e.stdout, c)
			return nil
		}
		switch args[0] {
		case "help":
			fmt.Fprint(e.stdout, "usage: kopf help [COMMAND]\n\nPrints kopf's usage, or with COMMAND that command's flags and exit\nstatuses. \"kopf COMMAND -h\" and \"kopf COMMAND --help\" print the same.\n")
			return nil
		case "completion":
			fmt.Fprint(e.stdout, helpText("completion"))
			return nil
		}
		return &usageError{msg: fmt.Sprintf("unknown command %q", args[0])}
	}
	return &usageError{msg: fmt.Sprintf("expected at most one command, got %d", len(args))}
}

func mainUsage(w io.Writer) {
	fmt.Fprintf(w, "kopf compiles schedules, previews when they fire, lints them, and runs jobs\nand procs on them.\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  kopf %s %s\n", c.name, c.synopsis)
	}
	fmt.Fprintf(w, "  kopf completion bash|zsh|fish|powershell\n  kopf help [COMMAND]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "completion", "print a shell's completion script for kopf")
	fmt.Fprintf(w, "\nRun 'kopf help COMMAND' for a command's flags and exit statuses.\n")
}

func commandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: kopf %s %s\n\n%s", c.name, c.synopsis, helpText(c.name))
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
