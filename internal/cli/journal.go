package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"io"
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
		if len(pos) > 0 {
			return usagef("unexpected argument %q", pos[0])
		}
		from, err := sinceFlag(e, *since)
		if err != nil {
			return err
		}
		if *path == "" {
			*path = journal.DefaultPath(e.getenv)
		}
		w := bufio.NewWriterSize(e.stdout, 32<<10)
		print, flush := journalPrinter(w, *asJSON)
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
		flush()
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

// sinceFlag is the time --since DURATION means; zero without it.
func sinceFlag(e *env, since string) (time.Time, error) {
	if since == "" {
		return time.Time{}, nil
	}
	// config's words for a bare number are for a config file, where one
	// means seconds.
	if _, err := strconv.ParseFloat(since, 64); err == nil {
		return time.Time{}, usagef("--since: invalid duration %q: a number needs a unit, like %[1]ss, %[1]sm or %[1]sh", since)
	}
	d, err := config.ParseDuration(since)
	if err != nil {
		return time.Time{}, usagef("--since: %v", err)
	}
	return e.now().Add(-d), nil
}

// journalPrinter prints events to w: as stored (--json), or as the table
// for people, which flush ends.
func journalPrinter(w io.Writer, asJSON bool) (print func(ev journal.Event, raw []byte), flush func()) {
	if asJSON {
		return func(_ journal.Event, raw []byte) {
			w.Write(raw) // a write error sticks; Flush reports it
			w.Write([]byte{'\n'})
		}, func() {}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "TIME\tTYPE\tUNIT\tWHAT\n")
	return func(ev journal.Event, _ []byte) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ev.Time.In(time.Local).Format(journal.TimeFormat),
			oneLine.Replace(string(ev.Type)), oneLine.Replace(ev.Unit), oneLine.Replace(ev.Summary()))
	}, func() { tw.Flush() }
}

// oneLine keeps a cell of the table in its column and its line: an error
// message may hold a newline, a name a tab.
var oneLine = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)
