package journal

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeFormat is how kopf journal writes a time for people: to the
// millisecond, which orders a process's start and end, with the offset,
// which tells the hour a DST change repeats apart.
const TimeFormat = "2006-01-02 15:04:05.000 -07:00"

// Summary says in a few words what the event tells, for people (kopf
// journal's WHAT column); its times are in the machine's zone. A type it
// does not know, from a newer kopf, says its reason and error.
func (ev Event) Summary() string {
	if say := summaries[ev.Type]; say != nil {
		return say(ev)
	}
	return joinNonEmpty(": ", ev.Reason, ev.Error)
}

// summaries words each type of event: the one place that knows what each
// type's fields mean to a reader.
var summaries = map[EventType]func(Event) string{
	Acquired:     func(ev Event) string { return fmt.Sprintf("kopf pid %d took the journal", ev.PID) },
	State:        stateSummary,
	LogTruncated: reason,
	Queued:       reason,
	Skipped:      reason,
	Dropped:      reason,
	Warning:      func(ev Event) string { return joinNonEmpty(": ", ev.Component, ev.Error) },
	Quit:         func(Event) string { return "kopf stopped" },
	Reloaded: func(ev Event) string {
		if ev.Error != "" {
			return "the reload failed: " + ev.Error
		}
		return "config applied: " + ev.Reason
	},
	Source: func(ev Event) string {
		s := joinNonEmpty(" ", string(ev.Op), string(ev.Kind))
		if ev.File != "" {
			s += " from " + ev.File
		}
		return s
	},
	Spawned: func(ev Event) string {
		s := "pid " + strconv.Itoa(ev.PID)
		if len(ev.Args) > 0 {
			s += fmt.Sprintf(" with args %v", ev.Args)
		}
		if len(ev.Reasons) > 0 {
			s += ": " + strings.Join(ev.Reasons, "; ")
		}
		return s
	},
	SpawnError: func(ev Event) string { return "cannot start: " + ev.Error },
	Exited:     exitSummary,
	Leftover: func(ev Event) string {
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
	},
	Missed: func(ev Event) string {
		if ev.At.IsZero() {
			return ev.Reason
		}
		return "the fire at " + local(ev.At) + of(ev.Source) + " did not run: " + ev.Reason
	},
	Fired: func(ev Event) string {
		s := fmt.Sprintf("%s fired at %s", ev.Source, local(ev.At))
		if ev.Count > 1 {
			s += fmt.Sprintf("; %d fires joined one run", ev.Count)
		}
		return s
	},
	CatchUp: func(ev Event) string { return "makes up for the fire at " + local(ev.At) + of(ev.Source) },
	Triggered: func(ev Event) string {
		s := "by " + ev.By
		if len(ev.Args) > 0 {
			s += fmt.Sprintf(" with args %v", ev.Args)
		}
		return s
	},
	Retry:  func(ev Event) string { return fmt.Sprintf("retry %d: %s", ev.Count, ev.Reason) },
	GaveUp: func(ev Event) string { return fmt.Sprintf("gave up after %d failures: %s", ev.Count, ev.Reason) },
	Health: func(ev Event) string {
		s := string(ev.Action)
		if ev.Count > 1 {
			s += fmt.Sprintf(" after %d checks", ev.Count)
		}
		return joinNonEmpty(": ", s, ev.Reason)
	},
	FileChanged: func(ev Event) string { return joinNonEmpty(": ", ev.File+" changed", string(ev.Action)) },
	Alert: func(ev Event) string {
		s := fmt.Sprintf("%s %s: %s", ev.Sink, ev.Reason, ev.Action)
		if ev.Count > 1 {
			s += fmt.Sprintf(" (attempt %d)", ev.Count)
		}
		return joinNonEmpty(": ", s, ev.Error)
	},
	Claimed: func(ev Event) string {
		return instant(ev.At) + fmt.Sprintf("fence %d on %s (epoch %d)", ev.Fence, ev.Member, ev.Epoch)
	},
	ClaimRefused: func(ev Event) string { return instant(ev.At) + ev.Reason },
	OwnerGained: func(ev Event) string {
		return joinNonEmpty(": ", fmt.Sprintf("%s owns it from now (epoch %d)", ev.Member, ev.Epoch), ev.Reason)
	},
	OwnerLost: func(ev Event) string {
		return joinNonEmpty(": ", fmt.Sprintf("%s no longer owns it (epoch %d)", ev.Member, ev.Epoch), ev.Reason)
	},
	Fenced: func(ev Event) string {
		if ev.Unit != "" { // a run stopped because it started too late
			return ev.Reason
		}
		return joinNonEmpty(": ", ev.Member+" stopped acting for the cluster", ev.Reason)
	},
	Mail: func(ev Event) string {
		s := joinNonEmpty(" ", "mail", string(ev.Action))
		if len(ev.To) > 0 {
			s += " to " + strings.Join(ev.To, ", ")
		}
		if ev.Reason != "" {
			s += fmt.Sprintf(" (%s)", ev.Reason)
		}
		return joinNonEmpty(": ", s, ev.Error)
	},
}

func reason(ev Event) string { return ev.Reason }

// local is t in the machine's zone, as kopf journal writes times.
func local(t time.Time) string { return t.In(time.Local).Format(TimeFormat) }

// of is " of SOURCE", or nothing.
func of(source string) string {
	if source == "" {
		return ""
	}
	return " of " + source
}

// instant is "instant T: " for a claim of an instant, "" for a run no
// fire started.
func instant(at time.Time) string {
	if at.IsZero() {
		return ""
	}
	return "instant " + at.UTC().Format(time.RFC3339) + ": "
}

func exitSummary(ev Event) string {
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

func stateSummary(ev Event) string {
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
