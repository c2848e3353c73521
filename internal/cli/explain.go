package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kopf/kopf/compile"
)

var explainCmd = &command{
	name:     "explain",
	synopsis: "[--tz ZONE] [--at TIME] SCHEDULE",
	summary:  "say in words when a schedule fires, and why it does or not at a time",
	help: `Says in words when SCHEDULE fires, one clause per part, then its crontab form
when one says exactly the same (checked with kopf diff), and what the DST
changes of ZONE's coming year do to it:
  kopf explain --tz Europe/Berlin '30 9-16 * * mon-fri'
  at minute 30 past every hour from 09:00 to 16:59, Monday to Friday, in Europe/Berlin
  crontab: 30 9-16 * * 1-5
With --at TIME, it also says whether the schedule fires at that instant,
and if not, which part excludes it, with the fires just before and after:
  kopf explain --tz Europe/Berlin --at 2026-12-05T10:30:00+01:00 '30 9-16 * * mon-fri'
  …
  at 2026-12-05T10:30:00+01:00: no: 2026-12-05 is a Saturday; it fires Monday to Friday
  before: 2026-12-04T16:30:00+01:00
  after:  2026-12-07T09:30:00+01:00

Flags:
  --tz ZONE   the zone of a schedule that names none (default UTC)
  --at TIME   an RFC 3339 instant to ask about

Exit status: 0, 1 when --at is not a fire, 2 for a usage error or an
invalid schedule.
`,
	run: runExplain,
}

func runExplain(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	tz := fs.String("tz", "UTC", "")
	at := fs.String("at", "", "")
	return func(_ context.Context, pos []string) error {
		if len(pos) != 1 {
			return usagef("expected one SCHEDULE, got %d arguments; quote a schedule that has spaces", len(pos))
		}
		loc, err := compile.LoadLocation(*tz)
		if err != nil {
			return usagef("unknown zone %q for --tz; expected an IANA name like America/New_York, UTC or Local", *tz)
		}
		var when time.Time
		if *at != "" {
			if when, err = time.Parse(time.RFC3339, *at); err != nil {
				return usagef("--at %q is not an RFC 3339 time like 2026-03-07T12:00:00Z", *at)
			}
		}
		s := e.lint("", pos[0], loc, "")
		if s == nil {
			return errSchedule
		}
		ex := compile.Explain(s, e.now())
		w := e.stdout
		fmt.Fprintln(w, ex.Sentence)
		if len(ex.Crontab) > 0 {
			fmt.Fprintln(w, "crontab: "+strings.Join(ex.Crontab, "; "))
		}
		for _, n := range ex.DST {
			fmt.Fprintln(w, "DST: "+n)
		}
		if when.IsZero() {
			return nil
		}
		when = when.In(s.Location())
		fires := s.FiresAt(when)
		if fires {
			fmt.Fprintf(w, "at %s: yes\n", when.Format(time.RFC3339))
		} else {
			fmt.Fprintf(w, "at %s: no: %s\n", when.Format(time.RFC3339), s.WhyNot(when))
		}
		if p, ok := s.Prev(when); ok {
			fmt.Fprintf(w, "before: %s\n", p.Format(time.RFC3339))
		}
		if n, ok := s.Next(when); ok {
			fmt.Fprintf(w, "after:  %s\n", n.Format(time.RFC3339))
		}
		if !fires {
			return errFailed
		}
		return nil
	}
}
