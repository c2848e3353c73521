package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kopf/kopf/lang"
)

// durationUnits are time.ParseDuration's units plus the schedule
// language's d and w, longest first so that "ms" is not "m" then "s".
var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"ns", time.Nanosecond},
	{"us", time.Microsecond},
	{"µs", time.Microsecond}, // U+00B5
	{"μs", time.Microsecond}, // U+03BC
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
	{"d", 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
}

// parseDuration reads a duration string: one or more numbers, each with a
// unit ("90s", "1h30m", "2d", "1.5h"), as time.ParseDuration does, plus the
// schedule language's units d (24h) and w (7d). A day is always 24 hours
// here: a duration is an amount of time, not a calendar step. The problem,
// if any, is said in words for a message.
func parseDuration(s string) (time.Duration, string) {
	text := s
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "0" {
		return 0, ""
	}
	if s == "" {
		return 0, "it is empty"
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		num := s[:i]
		if num == "" || num == "." {
			return 0, "expected a number at " + strconv.Quote(s)
		}
		s = s[i:]
		unit := time.Duration(0)
		for _, u := range durationUnits {
			if strings.HasPrefix(s, u.name) {
				unit, s = u.d, s[len(u.name):]
				break
			}
		}
		if unit == 0 {
			if s == "" && text == num {
				return 0, "a number without a unit; write " + num + " (no quotes) for seconds, or " + strconv.Quote(num+"s")
			}
			return 0, "expected a unit (s, m, h, d or w) after " + strconv.Quote(num)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, "bad number " + strconv.Quote(num)
		}
		v := f * float64(unit)
		if v >= math.MaxInt64 || float64(total)+v >= math.MaxInt64 {
			return 0, "too long"
		}
		total += time.Duration(math.Round(v))
	}
	if neg && total != 0 {
		return 0, "negative"
	}
	return total, ""
}

// secondsDuration is a number of seconds as a duration.
func secondsDuration(f float64) (time.Duration, string) {
	switch v := f * float64(time.Second); {
	case math.IsNaN(f):
		return 0, "not a number"
	case f < 0:
		return 0, "negative"
	case v >= math.MaxInt64:
		return 0, "too long"
	default:
		return time.Duration(math.Round(v)), ""
	}
}

// formatDuration writes d for messages in the units config files use:
// "1h30m", "2d", or Go's form for fractions of a second.
func formatDuration(d time.Duration) string {
	if d%time.Second != 0 || d == 0 {
		return d.String()
	}
	return lang.FormatDuration(int64(d / time.Second))
}

// ParseDuration reads a duration as the config file writes one ("90s",
// "1h30m", "2d"), for flags that take the same form; the error says what
// is wrong in words.
func ParseDuration(s string) (time.Duration, error) {
	d, problem := parseDuration(s)
	if problem != "" {
		return 0, fmt.Errorf("invalid duration %q: %s", s, problem)
	}
	return d, nil
}
