package compile_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// next returns the first n fire times after the RFC 3339 instant from, in
// RFC 3339.
func next(t *testing.T, s *compile.Schedule, from string, n int) []string {
	t.Helper()
	at, err := time.Parse(time.RFC3339, from)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for range n {
		nx, ok := s.Next(at)
		if !ok {
			break
		}
		if !nx.After(at) {
			t.Fatalf("Next(%s) = %s, not after it", at, nx)
		}
		out = append(out, nx.Format(time.RFC3339))
		at = nx
	}
	return out
}

func mustParse(t *testing.T, src string) *compile.Schedule {
	t.Helper()
	s, err := compile.Parse(src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return s
}

// The every-language's rules, each against instants worked out by hand.
func TestEverySemantics(t *testing.T) {
	tests := []struct {
		name, src, from string
		want            []string
	}{
		{"finest clause gives points, coarser selects", "every monday every hour offset 30m", "2026-11-22T22:00:00Z",
			[]string{"2026-11-23T00:30:00Z", "2026-11-23T01:30:00Z", "2026-11-23T02:30:00Z"}},
		{"clause order does not matter", "every hour offset 30m every monday", "2026-11-23T22:00:00Z",
			[]string{"2026-11-23T22:30:00Z", "2026-11-23T23:30:00Z", "2026-11-30T00:30:00Z"}},
		{"window wraps into the next day of a weekday", "every 30m every monday @ 23:00-01:00", "2026-11-23T12:00:00Z",
			[]string{"2026-11-23T23:00:00Z", "2026-11-23T23:30:00Z", "2026-11-24T00:00:00Z", "2026-11-24T00:30:00Z", "2026-11-30T23:00:00Z"}},
		{"window is half-open", "every 30m every 1d @ 01:00-02:00", "2026-11-23T00:00:00Z",
			[]string{"2026-11-23T01:00:00Z", "2026-11-23T01:30:00Z", "2026-11-24T01:00:00Z"}},
		{"offset on a coarser clause shifts its span", "every 6h every monday offset 6h", "2026-11-22T00:00:00Z",
			[]string{"2026-11-23T06:00:00Z", "2026-11-23T12:00:00Z", "2026-11-23T18:00:00Z", "2026-11-24T00:00:00Z", "2026-11-30T06:00:00Z"}},
		{"same-period clauses merge", "every workday every 1d @ 04:15", "2026-11-27T00:00:00Z",
			[]string{"2026-11-27T04:15:00Z", "2026-11-30T04:15:00Z"}},
		{"weekend", "every weekend @ 10:00", "2026-11-23T00:00:00Z",
			[]string{"2026-11-28T10:00:00Z", "2026-11-29T10:00:00Z", "2026-12-05T10:00:00Z"}},
		{"anchor list", "every 1h @ 0m, 10m, 20m, 40m, 50m", "2026-11-23T00:15:00Z",
			[]string{"2026-11-23T00:20:00Z", "2026-11-23T00:40:00Z", "2026-11-23T00:50:00Z", "2026-11-23T01:00:00Z"}},
		{"anchor plus offset", "every 1h @ 10m offset 5m", "2026-11-23T00:00:00Z",
			[]string{"2026-11-23T00:15:00Z", "2026-11-23T01:15:00Z"}},
		{"seconds", "every 20s", "2026-11-23T23:59:30Z",
			[]string{"2026-11-23T23:59:40Z", "2026-11-24T00:00:00Z", "2026-11-24T00:00:20Z"}},
		{"non-dividing period restarts at midnight", "every 7m", "2026-11-23T23:50:00Z",
			[]string{"2026-11-23T23:55:00Z", "2026-11-24T00:00:00Z", "2026-11-24T00:07:00Z"}},
		{"90m alternates minutes", "every 90m", "2026-11-23T00:00:00Z",
			[]string{"2026-11-23T01:30:00Z", "2026-11-23T03:00:00Z", "2026-11-23T04:30:00Z"}},
		{"week starts on Monday", "every week", "2026-11-23T00:00:00Z",
			[]string{"2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"}},
		{"week offset", "every week offset 2d12h", "2026-11-23T00:00:00Z",
			[]string{"2026-11-25T12:00:00Z", "2026-12-02T12:00:00Z"}},
		{"7d is a week", "every 7d", "2026-11-23T00:00:00Z",
			[]string{"2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"}},
		{"month offset", "every month offset 2d8h30m", "2026-11-23T00:00:00Z",
			[]string{"2026-12-03T08:30:00Z", "2027-01-03T08:30:00Z"}},
		{"month window selects days", "every 1d @ 12:00 every month @ 0d-2d", "2026-11-23T00:00:00Z",
			[]string{"2026-12-01T12:00:00Z", "2026-12-02T12:00:00Z", "2027-01-01T12:00:00Z"}},
		{"month offset past short months", "every month offset 30d", "2027-01-01T00:00:00Z",
			[]string{"2027-01-31T00:00:00Z", "2027-03-31T00:00:00Z", "2027-05-31T00:00:00Z"}},
		{"year offset across Feb 29", "every year offset 59d", "2027-06-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2029-03-01T00:00:00Z"}},
		{"year", "every year", "2026-11-23T00:00:00Z",
			[]string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{"window on the finest clause fires at its start", "every 1d @ 10:00-11:00", "2026-11-23T10:00:00Z",
			[]string{"2026-11-24T10:00:00Z"}},
		{"window ending at midnight", "every 1h every 1d @ 22:00-24:00", "2026-11-23T21:00:00Z",
			[]string{"2026-11-23T22:00:00Z", "2026-11-23T23:00:00Z", "2026-11-24T22:00:00Z"}},
		{"shorthand", "@ 04:15", "2026-11-23T04:15:00Z",
			[]string{"2026-11-24T04:15:00Z"}},
		{"zone in the schedule", "@ 09:00 in Asia/Tokyo", "2026-11-23T00:00:00Z",
			[]string{"2026-11-24T09:00:00+09:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := next(t, mustParse(t, tt.src), tt.from, len(tt.want))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%q after %s (-want +got):\n%s", tt.src, tt.from, diff)
			}
		})
	}
}

// Multi-day periods count whole days from Monday 1970-01-05; checked here
// against that rule computed independently with the time package.
func TestMultiDayAlignment(t *testing.T) {
	epoch := time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		src  string
		days int
	}{{"every 2d", 2}, {"every 3d", 3}, {"every 2w", 14}, {"every 10d", 10}} {
		s := mustParse(t, tc.src)
		at := time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)
		for range 20 {
			nx, ok := s.Next(at)
			if !ok {
				t.Fatalf("%s: no next after %s", tc.src, at)
			}
			d := int(nx.Sub(epoch).Hours() / 24)
			if nx.Hour() != 0 || nx.Minute() != 0 || d%tc.days != 0 {
				t.Fatalf("%s: %s is not a block start (day %d since 1970-01-05)", tc.src, nx, d)
			}
			if gap := nx.Sub(at); at.Hour() == 0 && gap != time.Duration(tc.days)*24*time.Hour {
				t.Fatalf("%s: %s follows %s", tc.src, nx, at)
			}
			at = nx
		}
	}
}

// cronie's DST policy, in America/New_York around the 2026 changes:
// spring forward 2026-03-08 02:00 EST -> 03:00 EDT, fall back 2026-11-01
// 02:00 EDT -> 01:00 EST.
func TestDST(t *testing.T) {
	tests := []struct {
		name, src, from string
		want            []string
	}{
		{"fixed time in the gap fires when the gap ends", "CRON_TZ=America/New_York 30 2 * * *", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"fixed time at the gap start", "CRON_TZ=America/New_York 0 2 * * *", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"fixed times in and after the gap fire once", "CRON_TZ=America/New_York 0,30 2,3 * * *", "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"wildcard loses gap times", "CRON_TZ=America/New_York 30 * * * *", "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"}},
		{"wildcard minute in a fixed hour is lost", "CRON_TZ=America/New_York */30 2 * * *", "2026-03-07T12:00:00Z",
			[]string{"2026-03-09T02:00:00-04:00"}},
		{"fixed time in the overlap fires on the first pass only", "CRON_TZ=America/New_York 30 1 * * *", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"fixed time asked from inside the second pass", "CRON_TZ=America/New_York 45 1 * * *", "2026-11-01T01:40:00-05:00",
			[]string{"2026-11-02T01:45:00-05:00"}},
		{"wildcard fires twice in the overlap", "CRON_TZ=America/New_York 30 * * * *", "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"@hourly is a wildcard schedule", "CRON_TZ=America/New_York @hourly", "2026-11-01T00:30:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"@daily is a fixed one", "CRON_TZ=America/New_York @daily", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"}},
		{"every-language: a day or longer is fixed", "every 1d @ 02:30 in America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"every-language: under a day is a wildcard, wall-clock aligned", "every 2h in America/New_York", "2026-03-07T23:30:00-05:00",
			[]string{"2026-03-08T00:00:00-05:00", "2026-03-08T04:00:00-04:00", "2026-03-08T06:00:00-04:00"}},
		{"every-language: overlap fires twice for a wildcard", "every 1h every 1d @ 01:00-02:00 in America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-02T01:00:00-05:00"}},
		{"half-hour DST shift", "CRON_TZ=Australia/Lord_Howe 15 2 * * *", "2026-10-03T12:00:00Z",
			[]string{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}},
		{"--tz style default zone via TZ=", "TZ=Europe/Berlin 30 2 * * *", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		// A search from the last second before the gap still sees the
		// fire the gap moved to its end.
		{"from the last second before the gap", "CRON_TZ=America/New_York 30 2 * * *", "2020-03-08T06:59:59Z",
			[]string{"2020-03-08T03:00:00-04:00", "2020-03-09T02:30:00-04:00"}},
		{"from a fraction of a second before the gap", "CRON_TZ=America/New_York 30 2 * * *", "2020-03-08T06:59:59.75Z",
			[]string{"2020-03-08T03:00:00-04:00"}},
		{"from the last second, every-language", "every 1d @ 02:30 in America/New_York", "2020-03-08T06:59:59Z",
			[]string{"2020-03-08T03:00:00-04:00"}},
		{"from the last second, Berlin", "TZ=Europe/Berlin 30 2 * * *", "2026-03-29T00:59:59Z",
			[]string{"2026-03-29T03:00:00+02:00"}},
		{"from the last second, a 30-minute shift", "CRON_TZ=Australia/Lord_Howe 15 2 * * *", "2026-10-03T15:29:59Z",
			[]string{"2026-10-04T02:30:00+11:00"}},
		{"from the last second, a midnight gap", "CRON_TZ=America/Sao_Paulo 0 0 * * *", "2018-11-04T02:59:59Z",
			[]string{"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"}},
		{"the instant the gap ends is not in the past", "CRON_TZ=America/New_York 30 2 * * *", "2020-03-08T07:00:00Z",
			[]string{"2020-03-09T02:30:00-04:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := next(t, mustParse(t, tt.src), tt.from, len(tt.want))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%q after %s (-want +got):\n%s", tt.src, tt.from, diff)
			}
		})
	}
}

func TestParseInDefaultZone(t *testing.T) {
	ny, err := compile.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	s, err := compile.ParseIn("0 9 * * *", ny)
	if err != nil {
		t.Fatal(err)
	}
	got := next(t, s, "2026-11-23T00:00:00Z", 1)
	if diff := cmp.Diff([]string{"2026-11-23T09:00:00-05:00"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A zone in the schedule wins over the default.
	s, err = compile.ParseIn("0 9 * * * ", ny)
	if err != nil {
		t.Fatal(err)
	}
	if s.Location() != ny {
		t.Errorf("Location() = %v, want %v", s.Location(), ny)
	}
	s, err = compile.ParseIn("CRON_TZ=UTC 0 9 * * *", ny)
	if err != nil {
		t.Fatal(err)
	}
	if s.Location() != time.UTC {
		t.Errorf("Location() = %v, want UTC", s.Location())
	}
}

func TestNextEdges(t *testing.T) {
	s := mustParse(t, "every 1s")
	at := time.Date(2026, 11, 23, 10, 0, 0, 500_000_000, time.UTC)
	if nx, _ := s.Next(at); !nx.Equal(time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC)) {
		t.Errorf("Next(%s) = %s: fire times are whole seconds strictly after", at, nx)
	}
	// No false "never": 2100 is not a leap year.
	got := next(t, mustParse(t, "0 0 29 2 *"), "2096-03-01T00:00:00Z", 1)
	if diff := cmp.Diff([]string{"2104-02-29T00:00:00Z"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Before 1970 and before the tzdata.
	got = next(t, mustParse(t, "0 0 * * *"), "1969-12-31T12:00:00Z", 1)
	if diff := cmp.Diff([]string{"1970-01-01T00:00:00Z"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = next(t, mustParse(t, "CRON_TZ=America/New_York 0 12 * * *"), "1850-06-01T00:00:00Z", 1)
	if len(got) != 1 {
		t.Errorf("no fire time in 1850")
	}
	// A union fires once at a shared instant.
	u := compile.Union(mustParse(t, "0 * * * *"), mustParse(t, "every 30m"))
	got = next(t, u, "2026-11-23T00:00:00Z", 3)
	if diff := cmp.Diff([]string{"2026-11-23T00:30:00Z", "2026-11-23T01:00:00Z", "2026-11-23T01:30:00Z"}, got); diff != "" {
		t.Errorf("union (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("0 * * * *; every 30m", u.String()); diff != "" {
		t.Errorf("union String (-want +got):\n%s", diff)
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	for _, src := range []string{"*/15 * * * *", "30 2 * * * ", "every 10m every 1d @ 10:00-01:00 in America/New_York", "CRON_TZ=America/New_York 30 2 * * *"} {
		s := mustParse(t, src)
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		allocs := testing.AllocsPerRun(200, func() {
			nx, _ := s.Next(at)
			at = nx
		})
		if allocs != 0 {
			t.Errorf("%q: Next allocates %.1f times per call", src, allocs)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"every 1h @ 70m", `1:12: @ 70m is outside the unit of "every 1h": it must be less than 1h`},
		{"every 1h offset 1h", `1:17: offset 1h is outside the unit of "every 1h": it must be less than 1h`},
		{"every 1d @ 23:00 offset 2h", `1:12: @ 23:00 offset 2h is outside the unit of "every 1d": it must be less than 1d`},
		{"every 10m every 1d @ 10:00-10:00", `1:22: the window 10:00-10:00 is empty: it starts where it ends`},
		{"every 10m @ 5m-5m", `1:13: the window 5m-5m is empty: it starts where it ends`},
		{"every 10m every 1d @ 04:15", `1:22: @ 04:15 on "every 1d" is a point, but a coarser clause selects spans: write a window like @ 04:15-05:15`},
		{"every 36h", `1:7: a period of a day or longer must be whole days, like 2d or 1w; 36h is not`},
		{"every 1d @ 01:00 every 1d @ 02:00", `1:18: two clauses with the same period both place points (with @ or offset); keep the anchors on one of them`},
		{"every 1m every 1d @ 01:00-02:00 offset 1h", `1:40: a coarser clause takes a window or an offset, not both; write the window's times directly`},
		{"every 1d every 2d every 3d", `1:19: two multi-day periods in one schedule are not supported; keep one of them`},
		{"every 1h in Mars/Olympus", `1:13: unknown time zone "Mars/Olympus"; expected an IANA name like Europe/Berlin, UTC or Local`},
		{"0 0 30 2 *", `1:1: "0 0 30 2 *" never fires: day 30 does not occur in feb`},
		{"0 0 31 4,6,9,11 *", `1:1: "0 0 31 4,6,9,11 *" never fires: day 31 does not occur in apr, jun, sep, nov`},
		{"every 1d @ 12:00 every month @ 0d-1d every monday every month @ 1d-2d", `1:1: "every 1d @ 12:00 every month @ 0m-1d every monday every month @ 1d-2d" never fires: its clauses have no day and time in common`},
		{"every monday every tuesday", `1:1: "every monday every tuesday" never fires: its clauses have no day and time in common`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := compile.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, s)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Parse(%q) error mismatch (-want +got):\n%s", tt.in, diff)
			}
			var list lang.ErrorList
			if !errors.As(err, &list) || !list[0].Pos.IsValid() {
				t.Errorf("error without a position: %#v", err)
			}
			if strings.Contains(tt.want, "never fires") != errors.Is(err, compile.ErrNever) {
				t.Errorf("errors.Is(err, ErrNever) = %v", errors.Is(err, compile.ErrNever))
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"every 10m", nil},
		{"*/15 * * * *", nil},
		{"every 7m", []string{"1:7: warning: 7m does not divide a day: times restart at midnight, so 23:55 is followed by 00:00, 5m later"}},
		{"every 2d", []string{"1:7: warning: every 2d counts blocks of 2 days from Monday 1970-01-05 in the schedule's zone, not from today or from the start of a month"}},
		{"every 1d @ 10:00-11:00", []string{`1:12: warning: a window on the finest clause fires once, at its start (10:00); add a finer clause, like "every 10m", to fire throughout it`}},
		{"every month offset 30d", []string{"1:20: warning: 30d into a month is past the end of shorter months; those months are skipped"}},
		{"every year @ 59d", []string{"1:14: warning: 59d into a year lands one day earlier in leap years, which have February 29"}},
		{"every year @ 58d", nil},
		{"0 0 1 * 1", []string{`1:9: warning: day-of-month "1" and day-of-week "1" are both restricted: cron fires on days matching EITHER of them`}},
		{"0 0 */2 * 1", []string{`1:5: warning: day-of-month "*/2" starts with "*", so cron counts it as unrestricted and fires only on days matching BOTH it and day-of-week "1"`}},
		{"0 0 1 * */2", []string{`1:9: warning: day-of-week "*/2" starts with "*", so cron counts it as unrestricted and fires only on days matching BOTH it and day-of-month "1"`}},
		{"5,5 * * * *", []string{`1:3: warning: value 5 is already in the minute field "5,5"`}},
		{"0-5/1 * * * *", []string{"1:1: warning: step 1 in 0-5/1 changes nothing; write 0-5"}},
		{"21-21/3 * * * *", []string{"1:1: warning: range 21-21/3 holds the single value 21"}},
		{"0-5/10 * * * *", []string{"1:1: warning: step 10 is larger than the range 0-5: only 0 is selected"}},
		{"*/7 * * * *", []string{"1:1: warning: */7 does not divide the hour: after minute 56 comes 0, 4 apart instead of 7"}},
		{"0 0 31 * *", []string{"1:5: warning: day 31 does not occur in feb, apr, jun, sep, nov; cron skips those months"}},
		{"0 0 * * 0,7", nil},
		{"@weekly", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s := mustParse(t, tt.in)
			var got []string
			for _, w := range s.Warnings() {
				got = append(got, w.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Warnings(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestDSTNotes(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		src  string
		p    compile.DST
		want []string
	}{
		{"CRON_TZ=America/New_York 30 2 * * *", compile.DST{}, []string{
			"on 2026-03-08 02:30:00 does not exist in America/New_York (clocks go forward); this fire time moves to 03:00:00 EDT",
			`with dst gap "skip" instead, this fire time is skipped that day`,
		}},
		{"CRON_TZ=America/New_York 30 1 * * *", compile.DST{}, []string{
			"on 2026-11-01 01:30:00 happens twice in America/New_York (clocks go back); this schedule fires on the first pass only",
			`with dst overlap "second" instead, this schedule fires on the second pass only`,
			`with dst overlap "both" instead, this schedule fires on both passes`,
		}},
		{"CRON_TZ=America/New_York */20 * * * *", compile.DST{}, []string{
			"on 2026-03-08 the wall times from 02:00 to 03:00 do not exist in America/New_York (clocks go forward); fire times in between are skipped",
			`with dst gap "shift" instead, fire times in between fire once, at 03:00:00 EDT`,
			"on 2026-11-01 the wall times from 01:00 to 02:00 happen twice in America/New_York (clocks go back); fire times in between fire twice",
			`with dst overlap "first" instead, fire times in between fire on the first pass only`,
			`with dst overlap "second" instead, fire times in between fire on the second pass only`,
		}},
		{"CRON_TZ=America/New_York 30 2 * * *", compile.DST{Gap: compile.GapSkip}, []string{
			"on 2026-03-08 02:30:00 does not exist in America/New_York (clocks go forward); this fire time is skipped that day",
			`with dst gap "shift" instead, this fire time moves to 03:00:00 EDT`,
		}},
		{"CRON_TZ=America/New_York 30 1 * * *", compile.DST{Overlap: compile.OverlapSecond}, []string{
			"on 2026-11-01 01:30:00 happens twice in America/New_York (clocks go back); this schedule fires on the second pass only",
			`with dst overlap "first" instead, this schedule fires on the first pass only`,
			`with dst overlap "both" instead, this schedule fires on both passes`,
		}},
		{"CRON_TZ=America/New_York 0 12 * * *", compile.DST{}, nil},
		{"30 2 * * *", compile.DST{}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, mustParse(t, tt.src).WithDST(tt.p).DSTNotes(from)); diff != "" {
			t.Errorf("DSTNotes(%q) under %s (-want +got):\n%s", tt.src, tt.p, diff)
		}
	}
}

// Each DST policy, in America/New_York around the 2026 changes (spring
// forward 2026-03-08 at 07:00Z, 02:00 EST -> 03:00 EDT; fall back
// 2026-11-01 at 06:00Z, 02:00 EDT -> 01:00 EST).
func TestDSTPolicy(t *testing.T) {
	tests := []struct {
		name, src string
		p         compile.DST
		from      string
		want      []string
	}{
		{"gap skip drops a fixed time", "30 2 * * *", compile.DST{Gap: compile.GapSkip}, "2026-03-07T12:00:00Z",
			[]string{"2026-03-09T02:30:00-04:00"}},
		{"gap shift is cronie's for a fixed time", "30 2 * * *", compile.DST{Gap: compile.GapShift}, "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"gap shift fires a wildcard's lost times once", "*/30 2 * * *", compile.DST{Gap: compile.GapShift}, "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"gap shift from the last second before the gap", "*/30 2 * * *", compile.DST{Gap: compile.GapShift}, "2026-03-08T06:59:59Z",
			[]string{"2026-03-08T03:00:00-04:00"}},
		{"overlap second", "30 1 * * *", compile.DST{Overlap: compile.OverlapSecond}, "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"}},
		{"overlap second from inside the first pass", "30 1 * * *", compile.DST{Overlap: compile.OverlapSecond}, "2026-11-01T05:40:00Z",
			[]string{"2026-11-01T01:30:00-05:00"}},
		{"overlap second at the start of the overlap", "0 1 * * *", compile.DST{Overlap: compile.OverlapSecond}, "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:00:00-05:00"}},
		{"overlap second leaves a time after the overlap alone", "0 2 * * *", compile.DST{Overlap: compile.OverlapSecond}, "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T02:00:00-05:00"}},
		{"overlap both for a fixed time", "30 1 * * *", compile.DST{Overlap: compile.OverlapBoth}, "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-02T01:30:00-05:00"}},
		{"overlap first for a wildcard", "30 * * * *", compile.DST{Overlap: compile.OverlapFirst}, "2026-11-01T04:00:00Z",
			[]string{"2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:30:00-05:00"}},
		{"overlap second for a wildcard", "30 * * * *", compile.DST{Overlap: compile.OverlapSecond}, "2026-11-01T04:00:00Z",
			[]string{"2026-11-01T00:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"every-language under a policy", "every 1d @ 01:30", compile.DST{Gap: compile.GapSkip, Overlap: compile.OverlapBoth}, "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"}},
	}
	ny, err := compile.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := compile.ParseIn(tt.src, ny)
			if err != nil {
				t.Fatal(err)
			}
			got := next(t, s.WithDST(tt.p), tt.from, len(tt.want))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%q under %s after %s (-want +got):\n%s", tt.src, tt.p, tt.from, diff)
			}
		})
	}
	// WithDST makes a new schedule: the old one keeps cronie's rule.
	s := mustParse(t, "CRON_TZ=America/New_York 30 2 * * *")
	s.WithDST(compile.DST{Gap: compile.GapSkip})
	if got := next(t, s, "2026-03-07T12:00:00Z", 1); got[0] != "2026-03-08T03:00:00-04:00" {
		t.Errorf("WithDST changed the schedule it was called on: %v", got)
	}
}

func TestParseDSTPolicy(t *testing.T) {
	for _, s := range []string{"shift", "skip"} {
		if g, err := compile.ParseGap(s); err != nil || g.String() != s {
			t.Errorf("ParseGap(%q) = %v, %v", s, g, err)
		}
	}
	for _, s := range []string{"first", "second", "both"} {
		if o, err := compile.ParseOverlap(s); err != nil || o.String() != s {
			t.Errorf("ParseOverlap(%q) = %v, %v", s, o, err)
		}
	}
	if _, err := compile.ParseGap("later"); err == nil || err.Error() != `unknown gap policy "later"; expected shift or skip` {
		t.Errorf("ParseGap(later) = %v", err)
	}
	if _, err := compile.ParseOverlap(""); err == nil {
		t.Errorf("ParseOverlap of nothing succeeded")
	}
}
