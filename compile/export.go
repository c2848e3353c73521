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

// ExportSystemd writes s as systemd OnCalendar= expressions (the part
// after "OnCalendar="), one per term — two for a crontab line whose
// day-of-month and weekday both count, since systemd requires both —
// each with s's zone, and reports what it cannot say: a cycle of days,
// leap years, times of day that are not a product. Seconds it can say.
// The fidelity is the wall-clock translation's; at DST changes systemd
// follows its own rules, so a schedule with fires there is approximate.
// kopf export checks the lines with systemd-analyze when it is installed.
func ExportSystemd(s *Schedule) ([]string, Fidelity) {
	var lines []string
	add := func(l string) {
		if !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	zone := s.loc.String()
	for i := range s.terms {
		t := &s.terms[i]
		hours, minutes, seconds, ok := t.clock.hours, t.clock.minutes, t.clock.seconds, t.clock.bits == nil
		if !ok {
			hours, minutes, seconds, ok = t.clock.bits.product()
		}
		switch {
		case !ok:
			return nil, Fidelity{Level: "impossible", Why: "its times of day are not a product of hours, minutes and seconds (a window that starts or ends inside an hour)"}
		case t.days.cycle > 1:
			return nil, Fidelity{Level: "impossible", Why: fmt.Sprintf("it fires on a cycle of %d days, which OnCalendar cannot count", t.days.cycle)}
		case t.days.leap != 0:
			return nil, Fidelity{Level: "impossible", Why: "it fires in leap years only (or common years only), which OnCalendar cannot say"}
		}
		clock := fmt.Sprintf("%s:%s:%s", sysField(uint64(hours), 0, 23), sysField(minutes, 0, 59), sysField(seconds, 0, 59))
		d := &t.days
		month, dom, dow := sysField(uint64(d.month), 1, 12), sysField(uint64(d.dom), 1, 31), sysWeekdays(d.dow)
		date := fmt.Sprintf("*-%s-%s", month, dom)
		switch {
		case d.either && dom != "*" && dow != "":
			// cron's OR: the weekdays on any day, and the days on any weekday
			add(fmt.Sprintf("%s *-%s-* %s %s", dow, month, clock, zone))
			add(fmt.Sprintf("%s %s %s", date, clock, zone))
		case dow != "":
			add(fmt.Sprintf("%s %s %s %s", dow, date, clock, zone))
		default:
			add(fmt.Sprintf("%s %s %s", date, clock, zone))
		}
	}
	if notes := s.DSTNotes(time.Now()); len(notes) > 0 {
		return lines, Fidelity{Level: "approximate", Why: "at DST changes: systemd follows its own rules, not cronie's: " + notes[0]}
	}
	return lines, Fidelity{Level: "exact"}
}

// sysField is field in OnCalendar's syntax: ".." for ranges, "a/s" for a
// step to the end of the range.
func sysField(mask uint64, lo, hi int) string {
	f := field(mask, lo, hi)
	if step, ok := strings.CutPrefix(f, "*/"); ok {
		return fmt.Sprintf("%d/%s", lo, step)
	}
	if a, rest, ok := strings.Cut(f, "-"); ok && strings.Contains(rest, "/") && !strings.Contains(f, ",") {
		_, step, _ := strings.Cut(rest, "/")
		return a + "/" + step
	}
	return strings.ReplaceAll(f, "-", "..")
}

// sysWeekdays is a weekday mask as OnCalendar's names, "" for every day.
func sysWeekdays(dow uint8) string {
	if dow == allDow {
		return ""
	}
	names := [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	// Monday first, as systemd counts, so that Mon..Fri stays a range.
	order := [...]int{1, 2, 3, 4, 5, 6, 0}
	var parts []string
	for i := 0; i < 7; {
		if dow&(1<<order[i]) == 0 {
			i++
			continue
		}
		j := i
		for j+1 < 7 && dow&(1<<order[j+1]) != 0 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, names[order[i]]+".."+names[order[j]])
		case j > i:
			parts = append(parts, names[order[i]], names[order[j]])
		default:
			parts = append(parts, names[order[i]])
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
