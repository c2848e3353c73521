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
	run:      runJournal,
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
