package compile

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fidelity says how well an export says what a schedule says. It is
// computed, not asserted: the exported text is compiled back (with
// kopf's crontab semantics) and compared with the schedule by Diff.
type Fidelity struct {
	// Level is "exact", "approximate" (the text fires otherwise: Why says
	// how, Witness where) or "impossible" (nothing was written: Why says
	// what the target cannot say).
	Level   string
	Why     string
	Witness *Witness
}

// String is the report's line: "fidelity: exact", "fidelity: approximate
// (subset; only A at …)", "fidelity: impossible (…)".
func (f Fidelity) String() string {
	if f.Why == "" {
		return "fidelity: " + f.Level
	}
	return fmt.Sprintf("fidelity: %s (%s)", f.Level, f.Why)
}

// ExportCron writes s as crontab lines (five fields, no command), one per
// term that needs one, in s's zone (the caller says which: CRON_TZ, a
// CronJob's timeZone, …), and reports the fidelity. A term the format
// cannot say — a clock with seconds other than :00, a cycle of days like
// every 2w, leap years only, a day of month AND a weekday — makes the
// export impossible.
func ExportCron(s *Schedule) ([]string, Fidelity) {
	var lines []string
	for i := range s.terms {
		line, why := cronLine(&s.terms[i])
		if why != "" {
			return nil, Fidelity{Level: "impossible", Why: why}
		}
		if !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	return lines, cronFidelity(s, lines)
}

// cronFidelity compiles lines back in s's zone and compares them with s.
func cronFidelity(s *Schedule, lines []string) Fidelity {
	var back []*Schedule
	for _, l := range lines {
		b, err := ParseIn(l, s.loc)
		if err != nil {
			return Fidelity{Level: "approximate", Why: fmt.Sprintf("%q does not compile back: %v", l, err)}
		}
		back = append(back, b)
	}
	c, err := Diff(s, Union(back...), time.Now())
	if err != nil {
		return Fidelity{Level: "approximate", Why: err.Error()}
	}
	if c.Relation == RelEqual {
		return Fidelity{Level: "exact"}
	}
	f := Fidelity{Level: "approximate", Why: string(c.Relation)}
	for _, w := range c.Witnesses {
		if w.Kind != "both" {
			w := w
			f.Witness = &w
			f.Why += fmt.Sprintf("; %s at %s", w.Kind, w.At.Format(time.RFC3339))
			break
		}
	}
	return f
}

// cronLine writes one term as five crontab fields, or says why it cannot.
func cronLine(t *term) (string, string) {
	hours, minutes, seconds, ok := t.clock.hours, t.clock.minutes, t.clock.seconds, t.clock.bits == nil
	if !ok {
		hours, minutes, seconds, ok = t.clock.bits.product()
	}
	switch {
	case !ok:
		return "", "its times of day are not a product of hours and minutes (a window that starts or ends inside an hour): one crontab line per hour would be needed"
	case seconds != 1:
		return "", "it fires at seconds other than :00, and a crontab line has no seconds"
	case t.days.cycle > 1:
		return "", fmt.Sprintf("it fires on a cycle of %d days, which crontab fields cannot count", t.days.cycle)
	case t.days.leap != 0:
		return "", "it fires in leap years only (or common years only), which crontab fields cannot say"
	}
	d := &t.days
	dom, dow := field(uint64(d.dom), 1, 31), field(uint64(d.dow), 0, 6)
	if !d.either && dom != "*" && dow != "*" {
		return "", "it fires on days that are both a day of the month and a weekday; a crontab line takes either"
	}
	return strings.Join([]string{field(minutes, 0, 59), field(uint64(hours), 0, 23), dom, field(uint64(d.month), 1, 12), dow}, " "), ""
}

// field writes the values of mask in [lo, hi] as a crontab field: "*" for
// all, "*/s" or "a-b/s" for a step, else a list of values and ranges.
func field(mask uint64, lo, hi int) string {
	var vals []int
	for m := mask; m != 0; m &= m - 1 {
		if v := bits.TrailingZeros64(m); v >= lo && v <= hi {
			vals = append(vals, v)
		}
	}
	if len(vals) == hi-lo+1 {
		return "*"
	}
	if len(vals) >= 3 {
		step := vals[1] - vals[0]
		regular := true
		for i := 2; i < len(vals); i++ {
			regular = regular && vals[i]-vals[i-1] == step
		}
		// A step run to the end of the range: */s from the start, else
		// a-b/s.
		if regular && step > 1 && vals[len(vals)-1]+step > hi {
			if vals[0] == lo {
				return "*/" + strconv.Itoa(step)
			}
			return fmt.Sprintf("%d-%d/%d", vals[0], hi, step)
		}
	}
	var parts []string
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, fmt.Sprintf("%d-%d", vals[i], vals[j]))
		case j > i:
			parts = append(parts, strconv.Itoa(vals[i]), strconv.Itoa(vals[j]))
		default:
			parts = append(parts, strconv.Itoa(vals[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
