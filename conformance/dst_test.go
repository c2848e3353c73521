package conformance

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
)

// DST in America/New_York, 2026, worked out by hand:
//
//   - Sunday 2026-03-08: at 07:00Z the clocks go from 02:00 EST (-5) to
//     03:00 EDT (-4); wall times 02:00-02:59 do not exist. 06:30Z is 01:30
//     EST, 07:00Z is 03:00 EDT, 07:30Z is 03:30 EDT.
//   - Sunday 2026-11-01: at 06:00Z the clocks go from 02:00 EDT back to
//     01:00 EST; wall times 01:00-01:59 happen twice: 05:00Z-05:59Z (EDT)
//     and 06:00Z-06:59Z (EST). 07:00Z is 02:00 EST.
//   - 2027 springs forward on 2027-03-14, so 2027-03-08 02:30 is EST (07:30Z).
//
// A fixed schedule (cron: minute and hour fields do not start with "*";
// every-language: finest period a day or longer) fires once at 07:00Z for a
// time in the gap and only on the first pass of the overlap. A wildcard one
// loses the gap and fires twice in the overlap.
var dstCases = []struct {
	src   string
	after string
	want  []string
}{
	// Spring forward.
	{"30 2 * * *", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}},
	{"0 2 * * *", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"}},
	{"0,30 2 * * *", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z"}},
	{"0 3 * * *", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T07:00:00Z"}},
	{"0 2,3 * * *", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T07:00:00Z"}},
	{"30 * * * *", "2026-03-08T05:00:00Z", []string{"2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"}},
	{"30 0-23 * * *", "2026-03-08T05:00:00Z", []string{"2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
	{"30 2 8 3 *", "2026-01-01T00:00:00Z", []string{"2026-03-08T07:00:00Z", "2027-03-08T07:30:00Z"}},
	{"* 2 8 3 *", "2026-01-01T00:00:00Z", []string{"2027-03-08T07:00:00Z", "2027-03-08T07:01:00Z"}},
	{"CRON_TZ=America/New_York 30 2 * * *", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
	{"every 1d @ 02:30", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
	{"every 1d @ 02:00", "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"}},
	{"every 1h @ 30m", "2026-03-08T05:00:00Z", []string{"2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"}},
	{"every 30m every 1d @ 02:00-03:00", "2026-03-08T00:00:00Z", []string{"2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z"}},

	// Fall back.
	{"30 1 * * *", "2026-10-31T12:00:00Z", []string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
	{"59 1 * * *", "2026-10-31T12:00:00Z", []string{"2026-11-01T05:59:00Z", "2026-11-02T06:59:00Z"}},
	{"0 2 * * *", "2026-10-31T12:00:00Z", []string{"2026-11-01T07:00:00Z", "2026-11-02T07:00:00Z"}},
	{"*/30 1 * * *", "2026-10-31T12:00:00Z", []string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:00:00Z"}},
	{"0 * * * *", "2026-11-01T04:30:00Z", []string{"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
	{"0 0-23 * * *", "2026-11-01T04:30:00Z", []string{"2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
	// Starting inside the second pass: the fixed line's 01:30 was passed.
	{"30 1 * * *", "2026-11-01T06:10:00Z", []string{"2026-11-02T06:30:00Z"}},
	{"30 1 * * *", "2026-11-01T05:40:00Z", []string{"2026-11-02T06:30:00Z"}},
	{"30 * * * *", "2026-11-01T05:40:00Z", []string{"2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"}},
	{"every 1d @ 01:30", "2026-10-31T12:00:00Z", []string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
	{"every 1d @ 01:30 in America/New_York", "2026-10-31T12:00:00Z", []string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
	{"every 30m", "2026-11-01T04:45:00Z", []string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"}},
	{"every 30m every 1d @ 01:00-02:00", "2026-11-01T00:00:00Z", []string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:00:00Z"}},
}

func TestDST(t *testing.T) {
	ny := newYork(t)
	for _, tc := range dstCases {
		t.Run(tc.src+"@"+tc.after, func(t *testing.T) {
			want := make([]instant, len(tc.want))
			for i, w := range tc.want {
				want[i] = at(w)
			}
			after := mustTime(tc.after)
			end := after.AddDate(2, 0, 0)

			s, err := compile.ParseIn(tc.src, ny)
			if err != nil {
				t.Fatalf("compile.ParseIn(%q, New York): %v", tc.src, err)
			}
			got, err := collect(s, after, end, len(want))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q in New York after %s (-want +got):\n%s", tc.src, tc.after, diff)
			}

			// The brute-force reference must agree with the hand, or the
			// property tests that trust it prove nothing.
			if line, ok := cronText(tc.src); ok {
				ref := refFires(refLine(t, line), ny, after, end, len(want))
				if diff := cmp.Diff(want, ref); diff != "" {
					t.Errorf("reference for %q in New York after %s (-want +got):\n%s", line, tc.after, diff)
				}
			}
		})
	}
}

// cronText returns the crontab fields of src, without a CRON_TZ prefix,
// and false for an every-expression.
func cronText(src string) (string, bool) {
	if _, rest, ok := strings.Cut(src, "CRON_TZ=America/New_York "); ok {
		src = rest
	}
	if strings.HasPrefix(src, "every") || strings.HasPrefix(src, "@") {
		return "", false
	}
	return src, true
}

// TestDSTUnion: two fixed lines that both land on the end of the gap fire
// once there.
func TestDSTUnion(t *testing.T) {
	ny := newYork(t)
	var parts []*compile.Schedule
	for _, src := range []string{"0 2 * * *", "0 3 * * *", "every 1d @ 02:30"} {
		s, err := compile.ParseIn(src, ny)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s)
	}
	after := mustTime("2026-03-07T12:00:00Z")
	got, err := collect(compile.Union(parts...), after, after.AddDate(0, 1, 0), 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []instant{
		at("2026-03-08T07:00:00Z"), // 02:00, 02:30 and 03:00 of the 8th, once
		at("2026-03-09T06:00:00Z"), at("2026-03-09T06:30:00Z"), at("2026-03-09T07:00:00Z"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("union across the gap (-want +got):\n%s", diff)
	}
	if loc := compile.Union(parts...).Location(); loc != ny {
		t.Errorf("union location = %v, want America/New_York", loc)
	}
}
