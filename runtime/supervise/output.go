package supervise

import (
	"fmt"
	"sync/atomic"
)

// recordBytes is about what a log record costs besides its line and the
// unit's name and title: time, level, keys. A line of output is charged
// its own bytes and its record's against log-output-max, so that a run
// of empty lines is bounded as surely as one long line.
const recordBytes = 96

// logCap bounds what one run writes to kopf's log (log-output-max):
// lines are logged while their cost fits, and once one does not, that
// line and every later one are counted instead. A run's lines come one at
// a time (the Host serializes them); the counts are read by the loop
// when the run ends, hence atomics.
type logCap struct {
	max, perLine int64
	used         int64 // only the output's goroutine touches it
	cut          atomic.Int64
	cutLines     atomic.Int64
}

// allow charges line and reports whether it may be logged; the first
// refusal also says so (first).
func (c *logCap) allow(line string) (ok, first bool) {
	if c.cutLines.Load() == 0 {
		if c.used += int64(len(line)) + c.perLine; c.used <= c.max {
			return true, false
		}
	}
	c.cut.Add(int64(len(line)) + 1)
	return false, c.cutLines.Add(1) == 1
}

// capLog wraps logLine, the logging of r's output, in r's log-output-max.
func (s *Supervisor) capLog(r *running, max int64, logLine func(stream, line string)) func(stream, line string) {
	c := &logCap{max: max, perLine: recordBytes + int64(len(r.unit)+len(r.title))}
	r.logCap = c
	log, title, unit := s.log, r.title, r.unit
	return func(stream, line string) {
		ok, first := c.allow(line)
		if ok {
			logLine(stream, line)
			return
		}
		if first {
			log.Warn(fmt.Sprintf("%s: its output beyond log-output-max (%s) is not logged; the end of the run says how much was cut", title, bytesText(max)),
				"unit", unit, "log-output-max", max)
		}
	}
}

// logCut says, when r ended, how much of its output its cap kept out of
// the log; 0 when nothing was cut.
func (s *Supervisor) logCut(r *running) int64 {
	c := r.logCap
	if c == nil || c.cutLines.Load() == 0 {
		return 0
	}
	cut, lines := c.cut.Load(), c.cutLines.Load()
	s.log.Warn(fmt.Sprintf("%s: %s of output in %s were not logged: beyond log-output-max (%s)",
		r.title, bytesText(cut), plural(int(lines), "line", "lines"), bytesText(c.max)),
		"unit", r.unit, "output_cut", cut, "lines_cut", lines)
	return cut
}

// bytesText words a size: "4 MiB", "1.5 KiB", "300 bytes".
func bytesText(n int64) string {
	const k = 1024
	switch {
	case n >= k*k*k:
		return trimUnit(float64(n)/(k*k*k), "GiB")
	case n >= k*k:
		return trimUnit(float64(n)/(k*k), "MiB")
	case n >= k:
		return trimUnit(float64(n)/k, "KiB")
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trimUnit(f float64, unit string) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d %s", int64(f), unit)
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}
