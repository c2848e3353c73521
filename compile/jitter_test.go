package compile_test

import (
	"testing"
	"time"

	"github.com/kopf/kopf/compile"
)

func TestJitterOffset(t *testing.T) {
	d := time.Hour
	a := compile.JitterOffset("/backup", d)
	if b := compile.JitterOffset("/backup", d); a != b {
		t.Errorf("JitterOffset is not stable: %v, then %v", a, b)
	}
	if a < 0 || a >= d || a%time.Second != 0 {
		t.Errorf("JitterOffset = %v; want whole seconds in [0, %v)", a, d)
	}
	// Spread: 1000 names over an hour fill most minutes.
	minutes := map[int]bool{}
	for i := range 1000 {
		minutes[int(compile.JitterOffset("/job-"+string(rune('a'+i%26))+string(rune('0'+i/26)), d).Minutes())] = true
	}
	if len(minutes) < 50 {
		t.Errorf("1000 names land in only %d of 60 minutes", len(minutes))
	}
	if got := compile.JitterOffset("x", 500*time.Millisecond); got != 0 {
		t.Errorf("JitterOffset under a second = %v; want 0", got)
	}
}

// A jittered fire stays in its window and before the next fire.
func TestJitter(t *testing.T) {
	for _, tc := range []struct {
		src, at string
		off     time.Duration
		want    string
	}{
		{"0 * * * *", "2026-12-04T05:00:00Z", 37 * time.Minute, "2026-12-04T05:37:00Z"},
		{"0 * * * *", "2026-12-04T05:00:00Z", 3 * time.Hour, "2026-12-04T05:59:59Z"}, // before the next fire
		{"every 10m every 1d @ 10:00-01:00", "2026-12-04T00:50:00Z", 15 * time.Minute, "2026-12-04T00:59:59Z"},
		{"every 10m every 1d @ 10:00-01:00", "2026-12-04T12:00:00Z", 3 * time.Minute, "2026-12-04T12:03:00Z"},
		{"every 10m every 1d @ 09:00-18:00", "2026-12-04T17:50:00Z", 15 * time.Minute, "2026-12-04T17:59:59Z"},
		{"every 10m every monday @ 09:00-18:00", "2026-12-07T17:50:00Z", 15 * time.Minute, "2026-12-07T17:59:59Z"},
		// A crontab line names points, not a window: only the next fire bounds it.
		{"*/10 9-17 * * *", "2026-12-04T17:50:00Z", 15 * time.Minute, "2026-12-04T18:05:00Z"},
		{"@daily", "2026-12-04T00:00:00Z", 5 * time.Hour, "2026-12-04T05:00:00Z"},
		{"0 0 * * *", "2026-12-04T00:00:00Z", 0, "2026-12-04T00:00:00Z"},
	} {
		s, err := compile.Parse(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := s.Jitter(at, tc.off).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("%q: Jitter(%s, %v) = %s; want %s", tc.src, tc.at, tc.off, got, tc.want)
		}
	}
}
