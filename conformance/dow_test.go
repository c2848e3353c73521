package conformance

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
)

// A day-of-week range may end at Sunday written 0 or sun, which cronie
// reads as 7 since 2025 (get_range, its PR #200): each line fires exactly
// when its spelled-out twin does, and as the reference says.
func TestRangeEndingAtSunday(t *testing.T) {
	for _, tc := range []struct{ line, twin string }{
		{"0 0 * * sat-sun", "0 0 * * 6,0"},
		{"0 0 * * 5-0", "0 0 * * 5,6,0"},
		{"0 0 * * mon-sun/2", "0 0 * * 1,3,5,0"},
		{"0 0 * * 1-0", "0 0 * * *"},
		{"30 4 1 * fri-sun", "30 4 1 * 0,5,6"},
		{"0 0 * * 0-0", "0 0 * * 0"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			after := mustTime("2026-01-01T00:00:00Z")
			end := after.AddDate(1, 0, 0)
			a, err := compile.Parse(tc.line)
			if err != nil {
				t.Fatalf("compile.Parse(%q): %v", tc.line, err)
			}
			b := mustCompile(t, tc.twin)
			got, err := collect(a, after, end, 0)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := collect(b, after, end, 0)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q against %q (-want +got):\n%s", tc.line, tc.twin, diff)
			}
			if diff := cmp.Diff(want, refFires(refLine(t, tc.line), time.UTC, after, end, 0)); diff != "" {
				t.Errorf("reference for %q (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}
