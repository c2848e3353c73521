package cli

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kopf/kopf/runtime/control"
)

// completions sets up the shell completion of c's arguments and flag
// values on cc.
func (e *env) completions(c *command, cc *cobra.Command) {
	flags := cc.Flags()
	values := map[string][]string{
		"log-format":  {"text", "json"},
		"log-level":   {"debug", "info", "warn", "error"},
		"format":      {"yaml", "json"},
		"dst-gap":     {"skip", "shift"},
		"dst-overlap": {"first", "second", "both"},
		"crontab-env": {"cron", "inherit"},
	}
	for name, list := range values {
		if flags.Lookup(name) != nil {
			cc.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(list, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	if flags.Lookup("tz") != nil {
		cc.RegisterFlagCompletionFunc("tz", func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
			zones := slices.DeleteFunc(zoneNames(), func(z string) bool { return !strings.HasPrefix(z, prefix) })
			return zones, cobra.ShellCompDirectiveNoFileComp
		})
	}
	if flags.Lookup("job") != nil {
		cc.RegisterFlagCompletionFunc("job", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return e.daemonUnits(flags, c.name == "next"), cobra.ShellCompDirectiveNoFileComp
		})
	}
	switch c.name {
	case "trigger":
		cc.ValidArgsFunction = func(_ *cobra.Command, pos []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(pos) > 0 {
				return nil, cobra.ShellCompDirectiveDefault // the job's own arguments
			}
			return e.daemonUnits(flags, true), cobra.ShellCompDirectiveNoFileComp
		}
	case "start", "stop", "restart":
		cc.ValidArgsFunction = func(_ *cobra.Command, pos []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(pos) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return e.daemonUnits(flags, false), cobra.ShellCompDirectiveNoFileComp
		}
	case "next", "status", "reload", "version", "journal":
		cc.ValidArgsFunction = cobra.NoFileCompletions
	case "import":
		cc.ValidArgsFunction = func(_ *cobra.Command, pos []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(pos) == 0 {
				return []cobra.Completion{"crontab"}, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveDefault
		}
	}
}

// daemonUnits asks the running kopf, found with the command's --socket and
// --journal, for its units' names (its jobs' only, with jobs); nothing
// when no kopf answers within a second.
func (e *env) daemonUnits(flags *pflag.FlagSet, jobs bool) []string {
	socket, journalPath := "", ""
	if f := flags.Lookup("socket"); f != nil {
		socket = f.Value.String()
	}
	if f := flags.Lookup("journal"); f != nil {
		journalPath = f.Value.String()
	}
	path := e.socketPath(socket)
	if socket == "" && journalPath != "" {
		path = control.DefaultPath(e.getenv, journalPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	resp, err := control.Call(ctx, path, control.Request{Cmd: control.CmdStatus})
	if err != nil {
		return nil
	}
	var names []string
	for _, u := range resp.Units {
		if !jobs || u.Kind == "job" {
			names = append(names, u.Name)
		}
	}
	return names
}

// zoneNames lists the zones --tz takes: UTC, Local and the IANA names of
// the system's zoneinfo database (Go's embedded copy has no list).
func zoneNames() []string {
	names := []string{"UTC", "Local"}
	root := "/usr/share/zoneinfo"
	if dir := os.Getenv("ZONEINFO"); dir != "" {
		root = dir
	}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name, _ := filepath.Rel(root, path)
		// Area/Location names only: not posix/, right/, or the files
		// beside the zones (zone.tab, leapseconds, …).
		if first, _, ok := strings.Cut(name, "/"); ok && first != "posix" && first != "right" && first != "Etc" && first[0] >= 'A' && first[0] <= 'Z' {
			names = append(names, name)
		}
		return nil
	})
	slices.Sort(names[2:])
	return names
}
