package compile

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// everyPeriods are the periods EveryForm tries, finest first: those that
// divide a day, so that their units start at the day's start.
var everyPeriods = []int64{1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 300, 360, 600, 720, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 28800, 43200}

// EveryForm returns a line of the every-language that fires exactly when
// s does — tried from simple shapes, and kept only when Diff finds it
// equal over the whole cycle — and false when none of those shapes does
// (a union of several terms, days by date or month, …).
func EveryForm(s *Schedule) (string, bool) {
	if len(s.terms) != 1 {
		return "", false
	}
	t := &s.terms[0]
	days, ok := everyDays(&t.days)
	if !ok {
		return "", false
	}
	secs := clockSeconds(&t.clock)
	if len(secs) == 0 {
		return "", false
	}
	var candidates []string
	if len(secs) == 1 {
		point := "@ " + hms(secs[0])
		if days != "" {
			point = days + " " + point
		}
		candidates = append(candidates, point)
	}
	for _, p := range everyPeriods {
		anchors := map[int64]bool{}
		for _, x := range secs {
			anchors[x%p] = true
			if len(anchors) > 6 {
				break
			}
		}
		if len(anchors) > 6 {
			continue
		}
		line := "every " + duration(p)
		if !(len(anchors) == 1 && anchors[0]) {
			var list []string
			for a := int64(0); a < p; a++ {
				if anchors[a] {
					list = append(list, duration(a))
				}
			}
			line += " @ " + strings.Join(list, ", ")
		}
		window := hourWindow(secs)
		switch {
		case days != "" && window != "":
			line += " " + days + " @ " + window
		case days != "":
			line += " " + days
		case window != "":
			line += " every 1d @ " + window
		}
		candidates = append(candidates, line)
	}
	for _, c := range candidates {
		back, err := ParseIn(c, s.loc)
		if err != nil {
			continue
		}
		// The line carries no DST policy: a schedule under another one
		// than its default is equal except at DST changes, and has none.
		if d, err := Diff(s, back, time.Now()); err == nil && d.Relation == RelEqual {
			return c, true
		}
	}
	return "", false
}

// everyDays writes a set of days as an every-clause ("every monday",
// "every workday"), "" for every day, and false when no one clause says
// it.
func everyDays(d *days) (string, bool) {
	if d.cycle > 1 || d.leap != 0 || d.month != allMonth || d.dom != allDom {
		return "", false
	}
	switch d.dow {
	case allDow:
		return "", true
	case 0b0111110:
		return "every workday", true
	case 0b1000001:
		return "every weekend", true
	}
	if bits.OnesCount8(d.dow) == 1 {
		return "every " + strings.ToLower(weekdayNames[bits.TrailingZeros8(d.dow)]), true
	}
	return "", false
}

// clockSeconds lists a clock's seconds of the day, at most 86,400.
func clockSeconds(c *clock) []int64 {
	var out []int64
	for s, ok := c.next(0); ok; s, ok = c.next(s + 1) {
		out = append(out, s)
	}
	return out
}

// hourWindow is the window of whole hours the seconds lie in, as
// "HH:00-HH:00", when they do not cover every hour; it may wrap midnight.
func hourWindow(secs []int64) string {
	var hours uint32
	for _, s := range secs {
		hours |= 1 << (s / 3600)
	}
	if hours == 1<<24-1 {
		return ""
	}
	// The run of hours, found from the first hour after a gap.
	start := -1
	for h := range 24 {
		if hours&(1<<h) != 0 && hours&(1<<((h+23)%24)) == 0 {
			if start >= 0 {
				return "" // two runs: not one window
			}
			start = h
		}
	}
	end := start
	for hours&(1<<(end%24)) != 0 {
		end++
	}
	return fmt.Sprintf("%02d:00-%02d:00", start, end%24)
}

// duration writes seconds as the every-language does: 30s, 10m, 1h30m.
func duration(s int64) string {
	if s == 0 {
		return "0m"
	}
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		unit string
	}{{3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			fmt.Fprintf(&b, "%d%s", s/u.n, u.unit)
			s %= u.n
		}
	}
	return b.String()
}
