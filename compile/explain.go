package compile

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// Explanation is a schedule in words (Explain).
type Explanation struct {
	// Sentence says when the schedule fires, one clause per term.
	Sentence string
	// Crontab is the schedule as crontab lines when they say exactly the
	// same (ExportCron), nil otherwise.
	Crontab []string
	// Every is the schedule as a line of the every-language when one says
	// exactly the same (EveryForm), "" otherwise.
	Every string
	// DST says what the zone's DST changes of the coming year do to it.
	DST []string
}

// Explain says in words when s fires, with its crontab form when there is
// an exact one and what DST does to it in the year after from.
func Explain(s *Schedule, from time.Time) Explanation {
	var clauses []string
	for i := range s.terms {
		clauses = append(clauses, s.terms[i].words())
	}
	e := Explanation{Sentence: strings.Join(clauses, "; and ") + ", in " + s.loc.String(), DST: s.DSTNotes(from)}
	if lines, f := ExportCron(s); f.Level == "exact" {
		e.Crontab = lines
	}
	e.Every, _ = EveryForm(s)
	return e
}

// words says when one term fires.
func (t *term) words() string {
	hours, minutes, seconds, ok := t.clock.hours, t.clock.minutes, t.clock.seconds, t.clock.bits == nil
	if !ok {
		hours, minutes, seconds, ok = t.clock.bits.product()
	}
	var when string
	if !ok {
		when = fmt.Sprintf("at %d times of day from %s to %s", t.clockCount(), hms(int64(t.clock.first)), hms(int64(t.clock.last)))
	} else {
		when = timesWords(uint64(hours), minutes, seconds)
	}
	return when + daysWords(&t.days)
}

// clockCount is how many seconds of the day a bitmap clock holds.
func (t *term) clockCount() int {
	n := 0
	for _, w := range t.clock.bits.words {
		n += bits.OnesCount64(w)
	}
	return n
}

func hms(s int64) string {
	if s%60 == 0 {
		return fmt.Sprintf("%02d:%02d", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
}

// timesWords says a product of hours, minutes and seconds.
func timesWords(hours, minutes, seconds uint64) string {
	nh, nm, ns := bits.OnesCount64(hours), bits.OnesCount64(minutes), bits.OnesCount64(seconds)
	switch {
	case nh == 1 && nm == 1 && ns == 1:
		return "at " + hms(int64(bits.TrailingZeros64(hours)*3600+bits.TrailingZeros64(minutes)*60+bits.TrailingZeros64(seconds)))
	case ns == 60 && nm == 60 && nh == 24:
		return "every second"
	}
	var parts []string
	switch {
	case ns == 60:
		parts = append(parts, "every second")
	case seconds != 1:
		parts = append(parts, "at "+listWords(seconds, 0, 59, "second", "seconds"))
	}
	switch {
	case nm == 60 && len(parts) == 0:
		parts = append(parts, "every minute")
	case nm == 60:
		parts = append(parts, "of every minute")
	case len(parts) == 0 && strings.HasPrefix(field(minutes, 0, 59), "*/"):
		parts = append(parts, listWords(minutes, 0, 59, "minute", "minutes")+" of")
	case len(parts) == 0:
		parts = append(parts, "at "+listWords(minutes, 0, 59, "minute", "minutes")+" past")
	default:
		parts = append(parts, "of "+listWords(minutes, 0, 59, "minute", "minutes")+" past")
	}
	switch {
	case nh == 24 && nm == 60:
		// "every minute" needs no hour
	case nh == 24:
		parts = append(parts, "every hour")
	default:
		parts = append(parts, hoursWords(hours))
	}
	return strings.Join(parts, " ")
}

// listWords says the values of a mask: "minute 30", "minutes 0 to 10",
// "every 15th minute", "minutes 5, 35".
func listWords(mask uint64, lo, hi int, one, many string) string {
	f := field(mask, lo, hi)
	switch {
	case !strings.ContainsAny(f, ",-/*"):
		return one + " " + f
	case strings.HasPrefix(f, "*/"):
		return fmt.Sprintf("every %s %s", ordinal(f[2:]), one)
	}
	return many + " " + strings.NewReplacer("-", " to ", ",", ", ").Replace(f)
}

func ordinal(n string) string {
	switch {
	case strings.HasSuffix(n, "11"), strings.HasSuffix(n, "12"), strings.HasSuffix(n, "13"):
		return n + "th"
	case strings.HasSuffix(n, "1"):
		return n + "st"
	case strings.HasSuffix(n, "2"):
		return n + "nd"
	case strings.HasSuffix(n, "3"):
		return n + "rd"
	}
	return n + "th"
}

// hoursWords says the hours of a mask: "hour 9", "every hour from 09:00 to
// 16:59", "every 2nd hour".
func hoursWords(hours uint64) string {
	f := field(hours, 0, 23)
	if a, b, ok := strings.Cut(f, "-"); ok && !strings.ContainsAny(f, ",/") {
		var x, y int
		fmt.Sscan(a, &x)
		fmt.Sscan(b, &y)
		return fmt.Sprintf("every hour from %02d:00 to %02d:59", x, y)
	}
	if strings.HasPrefix(f, "*/") {
		return fmt.Sprintf("every %s hour", ordinal(f[2:]))
	}
	if !strings.ContainsAny(f, ",-") {
		return "hour " + f
	}
	return "hours " + strings.NewReplacer("-", " to ", ",", ", ").Replace(f)
}

var weekdayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// daysWords says a set of days, starting with a comma, or "" for every
// day.
func daysWords(d *days) string {
	var parts []string
	if d.cycle > 1 {
		if d.cycleLen == 1 {
			parts = append(parts, fmt.Sprintf("on one day in every %d", d.cycle))
		} else {
			parts = append(parts, fmt.Sprintf("on %d days in every %d", d.cycleLen, d.cycle))
		}
	}
	domAll, dowAll := d.dom == allDom, d.dow == allDow
	var domW, dowW string
	if !domAll {
		domW = "on " + strings.Replace(listWords(uint64(d.dom), 1, 31, "day", "days"), "day ", "day ", 1) + " of the month"
	}
	if !dowAll {
		var names []string
		// Monday first, so that Monday to Friday reads as a range.
		order := [...]int{1, 2, 3, 4, 5, 6, 0}
		for i := 0; i < 7; {
			if d.dow&(1<<order[i]) == 0 {
				i++
				continue
			}
			j := i
			for j+1 < 7 && d.dow&(1<<order[j+1]) != 0 {
				j++
			}
			if j-i >= 2 {
				names = append(names, weekdayNames[order[i]]+" to "+weekdayNames[order[j]])
			} else {
				for k := i; k <= j; k++ {
					names = append(names, weekdayNames[order[k]])
				}
			}
			i = j + 1
		}
		dowW = strings.Join(names, ", ")
	}
	switch {
	case domW != "" && dowW != "" && d.either:
		parts = append(parts, domW+" or on "+dowW)
	case domW != "" && dowW != "":
		parts = append(parts, domW+" if it is "+dowW)
	case domW != "":
		parts = append(parts, domW)
	case dowW != "":
		parts = append(parts, dowW)
	}
	if d.month != allMonth {
		var names []string
		for m := range 12 {
			if d.month&(1<<(m+1)) != 0 {
				names = append(names, time.Month(m+1).String())
			}
		}
		parts = append(parts, "in "+andList(names))
	}
	switch d.leap {
	case 1:
		parts = append(parts, "in leap years")
	case -1:
		parts = append(parts, "in common years")
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

// andList joins words as a sentence lists them: "a", "a and b", "a, b
// and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// FiresAt says whether s fires at the instant at (to the second).
func (s *Schedule) FiresAt(at time.Time) bool {
	n, ok := s.Next(at.Add(-time.Second))
	return ok && n.Equal(at.Truncate(time.Second))
}

// Prev returns the last fire before at, looking back at most 400 days,
// and false when there is none there.
func (s *Schedule) Prev(at time.Time) (time.Time, bool) {
	for back := 24 * time.Hour; back <= 400*24*time.Hour; back *= 2 {
		var last time.Time
		found := false
		for n, ok := s.Next(at.Add(-back)); ok && n.Before(at); n, ok = s.Next(n) {
			last, found = n, true
		}
		if found {
			return last, true
		}
	}
	return time.Time{}, false
}

// WhyNot says, when s does not fire at at, which part of it excludes
// at's day or time, in words; "" when it fires then.
func (s *Schedule) WhyNot(at time.Time) string {
	if s.FiresAt(at) {
		return ""
	}
	w := at.In(s.loc)
	day := dayNumber(int64(w.Year()), int(w.Month()), w.Day())
	sec := int64(w.Hour()*3600 + w.Minute()*60 + w.Second())
	var reasons []string
	for i := range s.terms {
		t := &s.terms[i]
		if n, ok := t.days.next(day); !ok || n != day {
			reasons = append(reasons, fmt.Sprintf("%s is a %s; it fires %s", w.Format("2006-01-02"), w.Weekday(), strings.TrimPrefix(daysWords(&t.days), ", ")))
			continue
		}
		if n, ok := t.clock.next(sec); !ok || n != sec {
			reasons = append(reasons, fmt.Sprintf("%s is not one of its times: it fires %s", w.Format("15:04:05"), t.words()))
			continue
		}
		reasons = append(reasons, "that wall-clock time is skipped or repeated by a DST change in "+s.loc.String())
	}
	return strings.Join(reasons, "; and ")
}
