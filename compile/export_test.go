package compile

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestExportCron writes schedules of both dialects as crontab lines, or
// says why it cannot.
func TestExportCron(t *testing.T) {
	tests := []struct{ src, lines, level string }{
		{"every 2h", "0 */2 * * *", "exact"},
		{"every 10m every 1d @ 10:00-01:00", "*/10 0,10-23 * * *", "exact"},
		{"every 1d @ 04:15", "15 4 * * *", "exact"},
		{"every workday offset 8h30m", "30 8 * * 1-5", "exact"},
		{"every 1h @ 0m, 10m, 20m, 40m, 50m", "0,10,20,40,50 * * * *", "exact"},
		{"0 9 1 * mon", "0 9 1 * 1", "exact"},
		{"5,35 */2 1-10 jan,jul *", "5,35 */2 1-10 1,7 *", "exact"},
		{"every 30s", "", "impossible"},
		{"every 2w", "", "impossible"},
		{"every 1m every 1d @ 01:30-02:15", "", "impossible"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		lines, f := ExportCron(s)
		if strings.Join(lines, "|") != tt.lines || f.Level != tt.level {
			t.Errorf("%q: %q %s, want %q %s", tt.src, lines, f, tt.lines, tt.level)
		}
	}
}

// TestExportRoundTrip: random schedules of both dialects; whenever the
// report says exact, the exported lines fire where the schedule does, by
// brute force over three weeks (not by Diff, which the report used).
func TestExportRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	gen := func() string {
		if r.IntN(2) == 0 {
			return fmt.Sprintf("%s %s * * %s", pick("0", "*/5", "15,45", "0-10", "*"), pick("*", "3", "*/6", "8-17", "1,13"), pick("*", "1-5", "0,6", "3"))
		}
		return pick("every 2h", "every 15m", "every 1h @ 5m", "every 1d @ 07:45", "every 30m every 1d @ 09:00-17:00",
			"every workday @ 08:00", "every 3h @ 1h", "every 20m every 1d @ 22:00-02:00", "every 1m every 1d @ 01:00-01:10")
	}
	after := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	exact := 0
	for range 60 {
		src := gen()
		s, err := Parse(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		lines, f := ExportCron(s)
		if f.Level != "exact" {
			continue
		}
		exact++
		var back []*Schedule
		for _, l := range lines {
			b, err := Parse(l)
			if err != nil {
				t.Fatalf("%q exported %q: %v", src, l, err)
			}
			back = append(back, b)
		}
		want, got := fires(s, after, 21), fires(Union(back...), after, 21)
		if len(want) != len(got) {
			t.Errorf("%q as %q: %d fires in three weeks, want %d", src, lines, len(got), len(want))
			continue
		}
		for at := range want {
			if !got[at] {
				t.Errorf("%q as %q: misses %s", src, lines, time.Unix(at, 0).UTC())
				break
			}
		}
	}
	if exact < 40 {
		t.Errorf("only %d of 60 exports were exact", exact)
	}
}

// TestExportSystemd writes OnCalendar expressions: seconds, weekday names
// and ranges, steps, and cron's day OR as two lines.
func TestExportSystemd(t *testing.T) {
	tests := []struct{ src, lines string }{
		{"every workday offset 8h30m", "Mon..Fri *-*-* 8:30:0 UTC"},
		{"every 30s", "*-*-* *:*:0,30 UTC"},
		{"every 10m every 1d @ 10:00-01:00", "*-*-* 0,10..23:0/10:0 UTC"},
		{"0 9 1 * mon", "Mon *-*-* 9:0:0 UTC|*-*-1 9:0:0 UTC"},
		{"0 0 1,15 jan,jul sat,sun", "Sat,Sun *-1,7-* 0:0:0 UTC|*-1,7-1,15 0:0:0 UTC"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		lines, f := ExportSystemd(s)
		if strings.Join(lines, "|") != tt.lines || f.Level != "exact" {
			t.Errorf("%q: %q %s, want %q exact", tt.src, lines, f, tt.lines)
		}
	}
	s, _ := Parse("every 2d")
	if _, f := ExportSystemd(s); f.Level != "impossible" {
		t.Errorf("every 2d: %s, want impossible", f)
	}
}
