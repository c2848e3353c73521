package cli

import (
	"context"
	"fmt"
	"github.com/kopf/kopf/runtime/journal"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kopf/kopf/compile"
)

var explainCmd = &command{
	name:     "explain",
	synopsis: "[--tz ZONE] [--at TIME] SCHEDULE | --job NAME --at TIME [--journal PATH]",
	summary:  "say in words when a schedule fires, and why it does or not at a time",
	run:      runExplain,
}

func runExplain(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	tz := fs.String("tz", "UTC", "")
	at := fs.String("at", "", "")
	job := fs.String("job", "", "")
	jnl := fs.String("journal", "", "")
	return func(_ context.Context, pos []string) error {
		if *job != "" {
			if len(pos) != 0 || *at == "" {
				return usagef("--job NAME takes --at TIME and no SCHEDULE")
			}
			when, err := time.Parse(time.RFC3339, *at)
			if err != nil {
				return usagef("--at %q is not an RFC 3339 time like 2026-03-07T12:00:00Z", *at)
			}
			path := *jnl
			if path == "" {
				path = journal.DefaultPath(e.getenv)
			}
			return e.explainJob(path, *job, when)
		}
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
		if ex.Every != "" {
			fmt.Fprintln(w, "every-language: "+ex.Every)
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

// explainJob tells from the journal what job did about its fire at when:
// the events of that fire, and of the run it started, in order.
func (e *env) explainJob(path, job string, when time.Time) error {
	var story []string
	var pid int
	found := false
	loc := when.Location()
	clock := func(t time.Time) string { return t.In(loc).Format("15:04:05.000") }
	err := journal.Read(path, 0, func(ev journal.Event, _ []byte) error {
		if ev.Unit != job {
			return nil
		}
		switch {
		case (ev.Type == journal.Fired || ev.Type == journal.CatchUp || ev.Type == journal.Missed || ev.Type == journal.Skipped) && ev.At.Equal(when):
			found = true
			switch ev.Type {
			case journal.Fired:
				s := fmt.Sprintf("fire at %s of %s", when.Format(time.RFC3339), ev.Source)
				if !ev.Start.IsZero() && !ev.Start.Equal(ev.At) {
					s += fmt.Sprintf(", jittered to %s", clock(ev.Start))
				}
				story = append(story, s)
			case journal.CatchUp:
				story = append(story, fmt.Sprintf("missed while kopf was down; run at %s to make up for it (catch-up)", clock(ev.Time)))
			case journal.Missed:
				story = append(story, "missed while kopf was down, and not run: "+ev.Reason)
			case journal.Skipped:
				story = append(story, "skipped: "+ev.Reason)
			}
		case found && pid == 0 && ev.Type == journal.Queued:
			story = append(story, "waited: "+ev.Reason)
		case found && pid == 0 && ev.Type == journal.Spawned && !ev.Time.Before(when):
			pid = ev.PID
			story = append(story, fmt.Sprintf("started %s, pid %d: %s", clock(ev.Time), ev.PID, strings.Join(ev.Reasons, "; ")))
		case found && pid == 0 && ev.Type == journal.SpawnError:
			story = append(story, fmt.Sprintf("could not start at %s: %s", clock(ev.Time), ev.Error))
			pid = -1
		case pid > 0 && ev.Type == journal.Exited && ev.PID == pid:
			story = append(story, fmt.Sprintf("ended %s: %s", clock(ev.Time), strings.TrimPrefix(ev.Summary(), fmt.Sprintf("pid %d ", pid))))
			pid = -1
		}
		return nil
	}, nil)
	if err != nil {
		return err
	}
	if !found {
		fmt.Fprintf(e.stdout, "no fire of %s at %s in %s\n", job, when.Format(time.RFC3339), path)
		return errFailed
	}
	for _, s := range story {
		fmt.Fprintln(e.stdout, s)
	}
	return nil
}
