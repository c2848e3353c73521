package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

var journalCmd = &command{
	name:     "journal",
	synopsis: "[--journal PATH] [--job NAME] [--since DURATION] [--json]",
	summary:  "print what kopf run did and why",
	help: `Prints the journal of kopf run, oldest first: each process it started and
saw end, each schedule that fired, each trigger, reload and warning, one
line each (docs/operations.md describes every event). It reads the rotated
files too, and takes no lock, so it works while kopf runs:
  kopf journal --job backup --since 1d
  TIME                            TYPE     UNIT    WHAT
  2026-03-07 04:15:00.012 +01:00  fired    backup  schedule "every 1d @ 04:15…
  2026-03-07 04:15:00.020 +01:00  spawned  backup  pid 4242: schedule "every…
  2026-03-07 04:15:02.310 +01:00  exited   backup  pid 4242 exit 1 after 2.29s
Times are in the machine's zone; TZ sets another.

Flags:
  --journal PATH    the journal to read (default
                    $XDG_STATE_HOME/kopf/journal.jsonl, or
                    ~/.local/state/kopf/journal.jsonl without XDG_STATE_HOME)
  --job NAME        only the events of the job or proc NAME
  --since DURATION  only the events of the last DURATION, like 90s, 1h30m
                    or 2d
  --json            the lines as stored, one JSON object each, for jq:
                      kopf journal --json | jq 'select(.type == "exited")'

A line that is not a valid event is reported on stderr as "file:line:
message", and the rest is printed. A line longer than 1 MiB is skipped the
same way, its length named; kopf writes one for an event that large (an
argv near the kernel's limit), so it is no reason to fail.

Exit status: 0 when the journal is printed, 1 when it does not exist or has
invalid lines, 2 for a usage error.
`,
	run: runJournal,
}

func runJournal(e *env, flags *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	path := flags.String("journal", "", "")
	unit := flags.String("job", "", "")
	since := flags.String("since", "", "")
	asJSON := flags.Bool("json", false, "")
	return func(ctx context.Context, pos []string) error {
		var err error
		if len(pos) > 0 {
			return usagef("unexpected argument %q", pos[0])
		}
		var from time.Time
		if *since != "" {
			// config's words for a bare number are for a config file, where
			// one means seconds.
			if _, err := strconv.ParseFloat(*since, 64); err == nil {
				return usagef("--since: invalid duration %q: a number needs a unit, like %[1]ss, %[1]sm or %[1]sh", *since)
			}
			d, err := config.ParseDuration(*since)
			if err != nil {
				return usagef("--since: %v", err)
			}
			from = e.now().Add(-d)
		}
		if *path == "" {
			*path = journal.DefaultPath(e.getenv)
		}

		w := bufio.NewWriterSize(e.stdout, 32<<10)
		var print func(ev journal.Event, raw []byte)
		var tw *tabwriter.Writer
		if *asJSON {
			print = func(_ journal.Event, raw []byte) {
				w.Write(raw) // a write error sticks; Flush reports it
				w.WriteByte('\n')
			}
		} else {
			tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
			fmt.Fprintf(tw, "TIME\tTYPE\tUNIT\tWHAT\n")
			print = func(ev journal.Event, _ []byte) {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ev.Time.In(time.Local).Format(tableTime),
					oneLine.Replace(string(ev.Type)), oneLine.Replace(ev.Unit), oneLine.Replace(what(ev)))
			}
		}
		invalid := false
		// The units the journal names, to suggest one for a --job that names
		// none of them.
		seen, known := map[string]bool{}, false
		err = journal.Read(*path, 0, func(ev journal.Event, raw []byte) error {
			if *unit != "" && ev.Unit != "" && !seen[ev.Unit] {
				seen[ev.Unit] = true
				known = known || ev.Unit == *unit
			}
			if (*unit == "" || ev.Unit == *unit) && !ev.Time.Before(from) {
				print(ev, raw)
			}
			return nil
		}, func(err error) {
			invalid = invalid || !errors.Is(err, journal.ErrLineTooLong)
			fmt.Fprintf(e.stderr, "kopf journal: %v\n", err)
		})
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no journal at %s (kopf run writes it; --journal names another)", *path)
		}
		if err != nil {
			return err
		}
		if tw != nil {
			tw.Flush()
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if *unit != "" && !known {
			msg := fmt.Sprintf("kopf journal: no job or proc named %q in %s", *unit, *path)
			if c := lang.Closest(*unit, slices.Sorted(maps.Keys(seen))); c != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", c)
			}
			fmt.Fprintln(e.stderr, msg)
			return errFailed
		}
		if invalid {
			return errFailed
		}
		return nil
	}
}

// tableTime is how the table writes a time: to the millisecond, which
// orders a process's start and end, with the offset, which tells the hour
// a DST change repeats apart.
const tableTime = "2006-01-02 15:04:05.000 -07:00"

// oneLine keeps a cell of the table in its column and its line: an error
// message may hold a newline, a name a tab.
var oneLine = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)

// what says in a few words what an event tells, for the table's last
// column. A type it does not know, from a newer kopf, shows its reason and
// error; --json has all of it.
func what(ev journal.Event) string {
	switch ev.Type {
	case journal.Acquired:
		return fmt.Sprintf("kopf pid %d took the journal", ev.PID)
	case journal.State:
		return stateSummary(ev)
	case journal.LogTruncated, journal.Queued, journal.Skipped:
		return ev.Reason
	case journal.Warning:
		return joinNonEmpty(": ", ev.Component, ev.Error)
	case journal.Quit:
		return "kopf stopped"
	case journal.Source:
		s := joinNonEmpty(" ", ev.Op, string(ev.Kind))
		if ev.File != "" {
			s += " from " + ev.File
		}
		return s
	case journal.Spawned:
		s := "pid " + strconv.Itoa(ev.PID)
		if len(ev.Args) > 0 {
			s += fmt.Sprintf(" with args %v", ev.Args)
		}
		if len(ev.Reasons) > 0 {
			s += ": " + strings.Join(ev.Reasons, "; ")
		}
		return s
	case journal.SpawnError:
		return "cannot start: " + ev.Error
	case journal.Exited:
		return exitSummary(ev)
	case journal.Leftover:
		s := fmt.Sprintf("pid %d: %s", ev.PID, ev.Action)
		if ev.PID == 0 {
			s = fmt.Sprintf("run %s: %s", ev.Run, ev.Action)
		}
		if n := len(ev.Processes); n > 0 {
			s += fmt.Sprintf(", %d processes", n)
		}
		if ev.Reason != "" {
			s += " (" + ev.Reason + ")"
		}
		return s
	case journal.Missed:
		if ev.At.IsZero() {
			return ev.Reason
		}
		s := "the fire at " + ev.At.In(time.Local).Format(tableTime)
		if ev.Source != "" {
			s += " of " + ev.Source
		}
		return s + " did not run: " + ev.Reason
	case journal.Fired:
		s := fmt.Sprintf("%s fired at %s", ev.Source, ev.At.In(time.Local).Format(tableTime))
		if ev.Count > 1 {
			s += fmt.Sprintf("; %d fires joined one run", ev.Count)
		}
		return s
	case journal.CatchUp:
		s := "makes up for the fire at " + ev.At.In(time.Local).Format(tableTime)
		if ev.Source != "" {
			s += " of " + ev.Source
		}
		return s
	case journal.Triggered:
		s := "by " + ev.By
		if len(ev.Args) > 0 {
			s += fmt.Sprintf(" with args %v", ev.Args)
		}
		return s
	case journal.Retry:
		return fmt.Sprintf("retry %d: %s", ev.Count, ev.Reason)
	case journal.GaveUp:
		return fmt.Sprintf("gave up after %d failures: %s", ev.Count, ev.Reason)
	case journal.Health:
		s := ev.Action
		if ev.Count > 1 {
			s += fmt.Sprintf(" after %d checks", ev.Count)
		}
		return joinNonEmpty(": ", s, ev.Reason)
	case journal.FileChanged:
		return joinNonEmpty(": ", ev.File+" changed", ev.Action)
	case journal.Alert:
		s := fmt.Sprintf("%s %s: %s", ev.Sink, ev.Reason, ev.Action)
		if ev.Count > 1 {
			s += fmt.Sprintf(" (attempt %d)", ev.Count)
		}
		return joinNonEmpty(": ", s, ev.Error)
	case journal.Claimed:
		s := fmt.Sprintf("fence %d on %s (epoch %d)", ev.Fence, ev.Member, ev.Epoch)
		if !ev.At.IsZero() {
			s = "instant " + ev.At.UTC().Format(time.RFC3339) + ": " + s
		}
		return s
	case journal.ClaimRefused:
		if !ev.At.IsZero() {
			return "instant " + ev.At.UTC().Format(time.RFC3339) + ": " + ev.Reason
		}
		return ev.Reason
	case journal.OwnerGained:
		s := fmt.Sprintf("%s owns it from now (epoch %d)", ev.Member, ev.Epoch)
		return joinNonEmpty(": ", s, ev.Reason)
	case journal.OwnerLost:
		return joinNonEmpty(": ", fmt.Sprintf("%s no longer owns it (epoch %d)", ev.Member, ev.Epoch), ev.Reason)
	case journal.Fenced:
		return joinNonEmpty(": ", ev.Member+" stopped acting for the cluster", ev.Reason)
	case journal.Mail:
		s := joinNonEmpty(" ", "mail", ev.Action)
		if len(ev.To) > 0 {
			s += " to " + strings.Join(ev.To, ", ")
		}
		if ev.Reason != "" {
			s += fmt.Sprintf(" (%s)", ev.Reason)
		}
		return joinNonEmpty(": ", s, ev.Error)
	}
	// A type of a newer kopf: what it says of itself.
	return joinNonEmpty(": ", ev.Reason, ev.Error)
}

func exitSummary(ev journal.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d ", ev.PID)
	switch {
	case ev.Code != nil:
		fmt.Fprintf(&b, "exit %d", *ev.Code)
	case ev.Signal != "":
		b.WriteString("killed by " + ev.Signal)
	default:
		b.WriteString("ended")
	}
	if ev.Seconds > 0 {
		d := time.Duration(ev.Seconds * float64(time.Second))
		fmt.Fprintf(&b, " after %v", d.Round(time.Millisecond))
	}
	if ev.StoppedBy != "" {
		fmt.Fprintf(&b, " (stopped by %s)", ev.StoppedBy)
	}
	switch {
	case ev.Leftovers > 0:
		fmt.Fprintf(&b, "; stopped %d processes it left", ev.Leftovers)
	case ev.Kept > 0:
		fmt.Fprintf(&b, "; %d processes it left keep running", ev.Kept)
	}
	if ev.OutputCut > 0 {
		fmt.Fprintf(&b, "; %d bytes of output not logged (log-output-max)", ev.OutputCut)
	}
	return b.String()
}

func stateSummary(ev journal.Event) string {
	procs := make([]string, len(ev.Running))
	for i, p := range ev.Running {
		procs[i] = fmt.Sprintf("%s pid %d", p.Unit, p.PID)
	}
	running, jobs := "nothing running", "no jobs"
	if len(procs) > 0 {
		running = "running " + strings.Join(procs, ", ")
	}
	if len(ev.Jobs) > 0 {
		jobs = "jobs " + strings.Join(ev.Jobs, ", ")
	}
	return running + "; " + jobs
}

// joinNonEmpty joins the parts that are not empty.
func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
