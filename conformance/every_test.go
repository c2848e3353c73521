package conformance

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
)

// everyAsCron are every-expressions beyond the reference's table that a
// union of crontab lines says exactly, per DESIGN.md: the finest clause
// gives the points, coarser clauses select spans, windows are half-open and
// wrap into the next unit. Rows not marked utcOnly also agree in New York,
// because the cron lines have the every-expression's DST policy (a finest
// period under a day is a wildcard schedule, a day or longer a fixed one).
var everyAsCron = []struct {
	every   string
	cron    []string
	utcOnly bool
}{
	{"every 2h", []string{"0 */2 * * *"}, false},
	{"every hour every workday", []string{"0 * * * mon-fri"}, false},
	{"every 15m every 1d @ 09:00-17:00", []string{"*/15 9-16 * * *"}, false},
	{"every 10m every 1d @ 01:00-03:00", []string{"*/10 1-2 * * *"}, false},
	{"every 10m every 1d @ 23:30-00:30", []string{"30-59/10 23 * * *", "0-29/10 0 * * *"}, true},
	{"every 10m every monday @ 23:00-01:00", []string{"*/10 23 * * mon", "*/10 0 * * tue"}, false},
	{"every 1h every week @ 5d-7d", []string{"0 * * * sat,sun"}, false},
	{"every 10m every month @ 2d-3d", []string{"*/10 * 3 * *"}, false},
	{"every 90m", []string{"0 */3 * * *", "30 1-23/3 * * *"}, true},
	{"every 1d @ 04:15, 16:45", []string{"15 4 * * *", "45 16 * * *"}, false},
	{"every 1d @ 02:30", []string{"30 2 * * *"}, false},
	{"every workday @ 09:00", []string{"0 9 * * mon-fri"}, false},
	{"every workday offset 8h30m", []string{"30 8 * * 1-5"}, false},
	{"every weekend offset 10h", []string{"0 10 * * sat,sun"}, false},
	{"every week @ 1d", []string{"0 0 * * tue"}, false},
	{"every 1w offset 4d12h", []string{"0 12 * * fri"}, false},
	{"every month @ 0d", []string{"0 0 1 * *"}, false},
	{"every month offset 2d8h30m", []string{"30 8 3 * *"}, false},
	{"every month offset 30d", []string{"0 0 31 * *"}, false},
	{"every monday every hour offset 30m", []string{"30 * * * mon"}, false},
	{"every 5m offset 1m", []string{"1-59/5 * * * *"}, false},
	{"@ 04:15 in UTC", []string{"15 4 * * *"}, true},
}

func TestEveryAsCron(t *testing.T) {
	ny := newYork(t)
	start := mustTime("2026-01-01T00:00:00Z") // a year over both DST changes
	end := start.AddDate(1, 0, 1)
	for _, row := range everyAsCron {
		for _, loc := range []*time.Location{time.UTC, ny} {
			if row.utcOnly && loc != time.UTC {
				continue
			}
			var want []instant
			for _, line := range row.cron {
				want = append(want, refFires(refLine(t, line), loc, start, end, 0)...)
			}
			slices.Sort(want)
			want = slices.Compact(want)
			s, err := compile.ParseIn(row.every, loc)
			if err != nil {
				t.Errorf("compile.ParseIn(%q, %s): %v", row.every, loc, err)
				continue
			}
			got, err := collect(s, start, end, 0)
			if err != nil {
				t.Fatal(err)
			}
			w, g := trimEqual(want, got)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%q in %s is not %q (-want +got, equal runs trimmed):\n%s", row.every, loc, strings.Join(row.cron, " + "), diff)
			}
		}
	}
}

// TestEveryAlignment pins, by hand, what cron cannot say: seconds, periods
// that do not divide a day (they restart at midnight), multi-day periods
// (blocks counted from Monday 1970-01-05: 2026-01-01 is day 20454 since the
// epoch, an even number of days after day 4 and 10 days into a two-week
// block), and a day of the year that is February 29 in leap years.
func TestEveryAlignment(t *testing.T) {
	for _, tc := range []struct {
		src   string
		after string
		want  []string
	}{
		{"every 30s", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z", "2026-01-01T00:01:30Z"}},
		{"every 7m", "2026-01-01T23:50:00Z", []string{"2026-01-01T23:55:00Z", "2026-01-02T00:00:00Z", "2026-01-02T00:07:00Z"}},
		{"every 7m", "2026-01-01T00:58:00Z", []string{"2026-01-01T01:03:00Z", "2026-01-01T01:10:00Z"}},
		{"every 90m", "2026-01-01T21:00:00Z", []string{"2026-01-01T22:30:00Z", "2026-01-02T00:00:00Z", "2026-01-02T01:30:00Z"}},
		{"every 2d", "2025-12-31T12:00:00Z", []string{"2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-05T00:00:00Z"}},
		{"every 2w", "2026-01-01T00:00:00Z", []string{"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-02T00:00:00Z"}},
		{"every year offset 59d", "2027-01-01T00:00:00Z", []string{"2027-03-01T00:00:00Z", "2028-02-29T00:00:00Z", "2029-03-01T00:00:00Z"}},
		{"every year @ 365d", "2026-01-01T00:00:00Z", []string{"2028-12-31T00:00:00Z", "2032-12-31T00:00:00Z"}},
		{"every 1d @ 23:59:59", "2026-01-01T00:00:00Z", []string{"2026-01-01T23:59:59Z", "2026-01-02T23:59:59Z"}},
	} {
		s := mustCompile(t, tc.src)
		after := mustTime(tc.after)
		got, err := collect(s, after, after.AddDate(8, 0, 0), len(tc.want))
		if err != nil {
			t.Fatal(err)
		}
		var want []instant
		for _, w := range tc.want {
			want = append(want, at(w))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q after %s (-want +got):\n%s", tc.src, tc.after, diff)
		}
	}
}
