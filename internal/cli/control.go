package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// The client commands: each sends one request to the daemon's control
// socket (docs/control.md) and prints the answer.

var statusCmd = &command{
	name:     "status",
	synopsis: "[--socket PATH] [--json]",
	summary:  "show every job and proc of the running kopf",
	run:      runStatus,
}

var triggerCmd = &command{
	name:     "trigger",
	synopsis: "[--socket PATH] JOB [ARG...]",
	summary:  "run a job now, as a trigger from another job would",
	run:      runClient(control.CmdTrigger),
}

var startCmd = &command{
	name:     "start",
	synopsis: "[--socket PATH] NAME",
	summary:  "start a proc, or run a job now",
	run:      runClient(control.CmdStart),
}

var stopCmd = &command{
	name:     "stop",
	synopsis: "[--socket PATH] NAME",
	summary:  "stop a job or proc until kopf start",
	run:      runClient(control.CmdStop),
}

var restartCmd = &command{
	name:     "restart",
	synopsis: "[--socket PATH] NAME",
	summary:  "stop a job or proc's process and start it again",
	run:      runClient(control.CmdRestart),
}

var reloadCmd = &command{
	name:     "reload",
	synopsis: "[--socket PATH]",
	summary:  "make the running kopf read its config again",
	run:      runClient(control.CmdReload),
}

// socketFlag adds --socket to fs.
func socketFlag(fs *pflag.FlagSet) *string {
	return fs.String("socket", "", "")
}

// clientSocket adds --socket and --journal to a client command and
// returns what the socket is once the flags are parsed: --socket, else
// where a daemon holding --journal listens, else the default.
func (e *env) clientSocket(fs *pflag.FlagSet) func() string {
	socket := socketFlag(fs)
	jnl := fs.String("journal", "", "")
	return func() string {
		if *socket != "" || *jnl == "" {
			return e.socketPath(*socket)
		}
		return control.DefaultPath(e.getenv, *jnl)
	}
}

// socketPath is the socket a client command talks to.
func (e *env) socketPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return control.DefaultPath(e.getenv, journal.DefaultPath(e.getenv))
}

// call sends req to the daemon and returns its answer; a refusal is an
// error with the daemon's words.
func (e *env) call(ctx context.Context, socket string, req control.Request) (control.Response, error) {
	// stop and restart wait for a process to end, which takes up to its
	// stop-time; the rest answer at once.
	timeout := 30 * time.Second
	if req.Cmd == control.CmdStop || req.Cmd == control.CmdRestart {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := control.Call(ctx, e.socketPath(socket), req)
	if err != nil {
		return resp, err
	}
	if !resp.OK {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

// runClient is the run of a client command that names its unit: it
// parses the flags and NAME (a trigger's JOB ARG...; nothing for reload),
// sends the request and prints the daemon's message.
func runClient(cmd control.Command) func(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	return func(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
		socket := e.clientSocket(fs)
		// Flags come before NAME: what follows the job's name are its
		// arguments, as they are, even "--full".
		fs.SetInterspersed(false)
		return func(ctx context.Context, pos []string) error {
			req := control.Request{Cmd: cmd}
			switch {
			case cmd == control.CmdReload && len(pos) != 0:
				return usagef("unexpected arguments: %s", strings.Join(pos, " "))
			case cmd == control.CmdReload:
			case cmd == control.CmdTrigger && len(pos) == 0:
				return usagef("missing JOB")
			case cmd == control.CmdTrigger:
				req.Name, req.Args = pos[0], pos[1:]
			case len(pos) != 1:
				return usagef("expected one NAME, got %d arguments", len(pos))
			default:
				req.Name = pos[0]
			}
			resp, err := e.call(ctx, socket(), req)
			if resp.Message != "" {
				fmt.Fprintln(e.stdout, resp.Message)
			}
			return err
		}
	}
}

func runStatus(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	socket := e.clientSocket(fs)
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 0 {
			return usagef("unexpected arguments: %s", strings.Join(pos, " "))
		}
		resp, err := e.call(ctx, socket(), control.Request{Cmd: control.CmdStatus})
		if err != nil {
			return err
		}
		// A member of a cluster shows the cluster too; another daemon
		// answers that it is in none (or, older, that it does not know
		// the command).
		var clusterStatus json.RawMessage
		if cl, err := e.call(ctx, socket(), control.Request{Cmd: control.CmdCluster}); err == nil {
			clusterStatus = cl.Cluster
		}
		if *asJSON {
			units := resp.Units
			if units == nil {
				units = []control.Unit{}
			}
			b, err := json.MarshalIndent(struct {
				Units    []control.Unit  `json:"units"`
				Tracking string          `json:"tracking,omitempty"`
				Cluster  json.RawMessage `json:"cluster,omitempty"`
			}{units, resp.Tracking, clusterStatus}, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, string(b))
			return nil
		}
		printStatus(e, resp.Units)
		if resp.Tracking != "" {
			fmt.Fprintf(e.stdout, "\nprocesses tracked by %s\n", resp.Tracking)
		}
		var st cluster.Status
		if clusterStatus != nil && json.Unmarshal(clusterStatus, &st) == nil {
			fmt.Fprintln(e.stdout)
			printCluster(e, st)
		}
		return nil
	}
}

// printStatus prints units as a table for people.
func printStatus(e *env, units []control.Unit) {
	now := e.now()
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSTATE\tPID\tPORTS\tSINCE\tHEALTH\tLAST EXIT\tNEXT")
	for _, u := range units {
		pid := "-"
		if u.PID != 0 {
			pid = fmt.Sprint(u.PID)
		}
		since := "-"
		if !u.Since.IsZero() {
			since = age(now.Sub(u.Since)) + " ago"
		}
		last := "-"
		if x := u.LastExit; x != nil {
			last = x.How() + ", " + age(now.Sub(x.At)) + " ago"
		}
		health := "-"
		if u.Health != "" {
			health = u.Health
			if c := u.LastCheck; c != nil {
				result := "ok"
				if c.Error != "" {
					result = "failed: " + shorten(c.Error, 40)
				}
				health += fmt.Sprintf(" (%s, %s ago)", result, age(now.Sub(c.At)))
			}
		}
		next := "-"
		switch {
		case u.State == control.Retrying:
			next = fmt.Sprintf("retry %d in %s", u.Failures, age(u.RestartAt.Sub(now)))
		case !u.RestartAt.IsZero():
			next = "restart in " + age(u.RestartAt.Sub(now))
		case !u.NextFire.IsZero():
			next = u.NextFire.Format("2006-01-02 15:04:05 -07:00") + " " + u.Zone
		}
		ports := "-"
		if len(u.Ports) > 0 {
			var list []string
			for _, name := range slices.Sorted(maps.Keys(u.Ports)) {
				list = append(list, fmt.Sprintf("%s=%d", name, u.Ports[name]))
			}
			ports = strings.Join(list, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Kind, u.State, pid, ports, since, health, last, next)
	}
	tw.Flush()
	printKept(e, units)
}

// printKept lists, below the units, the processes their ended runs left
// running (leftovers "keep"), which kopf stop UNIT ends.
func printKept(e *env, units []control.Unit) {
	var tw *tabwriter.Writer
	for _, u := range units {
		for _, k := range u.Kept {
			if tw == nil {
				fmt.Fprintln(e.stdout, "\nLeft running by ended runs (leftovers \"keep\"; kopf stop UNIT ends them):")
				tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "UNIT\tPID\tRUN\tCOMMAND")
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", u.Name, k.PID, k.Run, shorten(k.Command, 80))
		}
	}
	if tw != nil {
		tw.Flush()
	}
}

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// age writes a duration the way people read one in a table: 45s, 5m12s,
// 3h4m, 2d5h.
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}
