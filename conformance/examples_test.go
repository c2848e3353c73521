package conformance

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// The "scheduling" list of service-manager.md's cron task example. All
// times are UTC, as the document says.
const (
	monthly  = "every month offset 2d8h30m"         // the 3rd of each month, 08:30
	workdays = "every workday offset 8h30m"         // Monday to Friday, 08:30
	mondays  = "every monday every hour offset 30m" // Mondays, hh:30
	fiveMin  = "every 5m offset 1m"                 // minutes 1, 6, 11, …, 56
)

// Calendar used below (all UTC): 2026-11-23 and 2026-11-30 are Mondays,
// 2026-11-28 a Saturday, 2026-12-03 a Thursday.

func TestSchedulingExamples(t *testing.T) {
	for _, tc := range []struct {
		name  string
		srcs  []string // one schedule, or the union of several
		after string
		want  []string
	}{
		{"month", []string{monthly}, "2026-11-23T00:00:00Z", []string{
			"2026-12-03T08:30:00Z", "2027-01-03T08:30:00Z", "2027-02-03T08:30:00Z",
			"2027-03-03T08:30:00Z", "2027-04-03T08:30:00Z", "2027-05-03T08:30:00Z",
		}},
		{"month/at the instant", []string{monthly}, "2026-12-03T08:30:00Z", []string{
			"2027-01-03T08:30:00Z",
		}},
		{"month/a second before", []string{monthly}, "2026-12-03T08:29:59Z", []string{
			"2026-12-03T08:30:00Z",
		}},
		{"workday", []string{workdays}, "2026-11-23T00:00:00Z", []string{
			"2026-11-23T08:30:00Z", // Mon
			"2026-11-24T08:30:00Z",
			"2026-11-25T08:30:00Z",
			"2026-11-26T08:30:00Z",
			"2026-11-27T08:30:00Z", // Fri; the weekend is skipped
			"2026-11-30T08:30:00Z", // Mon
			"2026-12-01T08:30:00Z",
			"2026-12-02T08:30:00Z",
		}},
		{"monday hourly", []string{mondays}, "2026-11-23T00:00:00Z", []string{
			"2026-11-23T00:30:00Z", "2026-11-23T01:30:00Z", "2026-11-23T02:30:00Z", "2026-11-23T03:30:00Z",
			"2026-11-23T04:30:00Z", "2026-11-23T05:30:00Z", "2026-11-23T06:30:00Z", "2026-11-23T07:30:00Z",
			"2026-11-23T08:30:00Z", "2026-11-23T09:30:00Z", "2026-11-23T10:30:00Z", "2026-11-23T11:30:00Z",
			"2026-11-23T12:30:00Z", "2026-11-23T13:30:00Z", "2026-11-23T14:30:00Z", "2026-11-23T15:30:00Z",
			"2026-11-23T16:30:00Z", "2026-11-23T17:30:00Z", "2026-11-23T18:30:00Z", "2026-11-23T19:30:00Z",
			"2026-11-23T20:30:00Z", "2026-11-23T21:30:00Z", "2026-11-23T22:30:00Z", "2026-11-23T23:30:00Z",
			"2026-11-30T00:30:00Z", "2026-11-30T01:30:00Z",
		}},
		{"five minutes", []string{fiveMin}, "2026-11-23T00:00:00Z", []string{
			"2026-11-23T00:01:00Z", "2026-11-23T00:06:00Z", "2026-11-23T00:11:00Z", "2026-11-23T00:16:00Z",
			"2026-11-23T00:21:00Z", "2026-11-23T00:26:00Z", "2026-11-23T00:31:00Z", "2026-11-23T00:36:00Z",
			"2026-11-23T00:41:00Z", "2026-11-23T00:46:00Z", "2026-11-23T00:51:00Z", "2026-11-23T00:56:00Z",
			"2026-11-23T01:01:00Z", "2026-11-23T01:06:00Z",
		}},
		{"five minutes/over midnight", []string{fiveMin}, "2026-11-23T23:50:00Z", []string{
			"2026-11-23T23:51:00Z", "2026-11-23T23:56:00Z", "2026-11-24T00:01:00Z",
		}},
		{"union", []string{monthly, workdays, mondays, fiveMin}, "2026-11-23T00:00:00Z", []string{
			"2026-11-23T00:01:00Z", "2026-11-23T00:06:00Z", "2026-11-23T00:11:00Z", "2026-11-23T00:16:00Z",
			"2026-11-23T00:21:00Z", "2026-11-23T00:26:00Z",
			"2026-11-23T00:30:00Z", // Monday hh:30
			"2026-11-23T00:31:00Z", "2026-11-23T00:36:00Z", "2026-11-23T00:41:00Z", "2026-11-23T00:46:00Z",
			"2026-11-23T00:51:00Z", "2026-11-23T00:56:00Z", "2026-11-23T01:01:00Z", "2026-11-23T01:06:00Z",
			"2026-11-23T01:11:00Z",
		}},
		{"union/monday 08:30 is one fire", []string{monthly, workdays, mondays, fiveMin}, "2026-11-23T08:20:00Z", []string{
			"2026-11-23T08:21:00Z", "2026-11-23T08:26:00Z",
			"2026-11-23T08:30:00Z", // Monday hh:30 and workday 08:30
			"2026-11-23T08:31:00Z", "2026-11-23T08:36:00Z",
		}},
		{"union/3rd on a thursday is one fire", []string{monthly, workdays, mondays, fiveMin}, "2026-12-03T08:27:00Z", []string{
			"2026-12-03T08:30:00Z", // the 3rd and a workday
			"2026-12-03T08:31:00Z", "2026-12-03T08:36:00Z",
		}},
		{"union/saturday has no 08:30", []string{monthly, workdays, mondays, fiveMin}, "2026-11-28T08:27:00Z", []string{
			"2026-11-28T08:31:00Z", "2026-11-28T08:36:00Z",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var parts []*compile.Schedule
			for _, src := range tc.srcs {
				parts = append(parts, mustCompile(t, src))
			}
			s := compile.Union(parts...)
			after := mustTime(tc.after)
			got, err := collect(s, after, after.AddDate(1, 0, 0), len(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			want := make([]instant, len(tc.want))
			for i, w := range tc.want {
				want[i] = at(w)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s after %s (-want +got):\n%s", strings.Join(tc.srcs, "; "), tc.after, diff)
			}
		})
	}
}

// TestSchedulingUnion checks over two months that the union of the four
// examples is their merged fire times, each instant once and in order, and
// that instants shared by two of them do occur in the span.
func TestSchedulingUnion(t *testing.T) {
	start := mustTime("2026-11-01T00:00:00Z")
	end := start.AddDate(0, 2, 0)
	var parts []*compile.Schedule
	seen := map[instant]int{}
	for _, src := range []string{monthly, workdays, mondays, fiveMin} {
		s := mustCompile(t, src)
		parts = append(parts, s)
		times, err := collect(s, start, end, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range times {
			seen[x]++
		}
	}
	var want []instant
	shared := 0
	for x, n := range seen {
		want = append(want, x)
		if n > 1 {
			shared++
		}
	}
	slices.Sort(want)
	if shared == 0 {
		t.Fatal("no instant shared by two examples in the span; the test proves nothing")
	}
	got, err := collect(compile.Union(parts...), start, end, 0)
	if err != nil {
		t.Fatal(err)
	}
	w, g := trimEqual(want, got)
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("union of the examples (-want +got, equal runs trimmed):\n%s", diff)
	}
}

// TestLeapDay: February 29 comes every four years, except in 2100.
func TestLeapDay(t *testing.T) {
	s := mustCompile(t, "0 0 29 2 *")
	for _, tc := range []struct{ after, want string }{
		{"2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
		{"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z"},
		{"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"2028-02-28T23:59:59Z", "2028-02-29T00:00:00Z"},
	} {
		got, ok := s.Next(mustTime(tc.after))
		if diff := cmp.Diff(at(tc.want), instant(got.Unix())); diff != "" || !ok {
			t.Errorf("Next(%s) = %v, %v (-want +got):\n%s", tc.after, got, ok, diff)
		}
	}
}

// TestFebruaryMondays: with both day fields restricted cron takes either,
// so a day of month that February lacks does not stop the Mondays.
func TestFebruaryMondays(t *testing.T) {
	s := mustCompile(t, "0 0 30 2 mon")
	got, err := collect(s, mustTime("2026-01-01T00:00:00Z"), mustTime("2028-01-01T00:00:00Z"), 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []instant{
		at("2026-02-02T00:00:00Z"), at("2026-02-09T00:00:00Z"), at("2026-02-16T00:00:00Z"),
		at("2026-02-23T00:00:00Z"), at("2027-02-01T00:00:00Z"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("0 0 30 2 mon (-want +got):\n%s", diff)
	}
}

// TestNeverFires: a schedule that can never fire is an error that says so,
// at a position in the input, found at once rather than by searching.
func TestNeverFires(t *testing.T) {
	for _, src := range []string{
		"0 0 30 2 *",
		"0 0 30,31 feb *",
		"0 0 31 4,6,9,11 *",
		"0 0 30 2 */2", // "*/2" counts as "*": both day fields must match
	} {
		t.Run(src, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := compile.Parse(src)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("compile.Parse(%q) still running after 10s", src)
			}
			if err == nil {
				t.Fatalf("compile.Parse(%q) succeeded; want a never-fires error", src)
			}
			if !errors.Is(err, compile.ErrNever) {
				t.Errorf("error %q is not compile.ErrNever", err)
			}
			if !strings.Contains(err.Error(), "never fires") {
				t.Errorf("error %q does not say the schedule never fires", err)
			}
			checkErrorList(t, src, err)
		})
	}
}

// checkErrorList fails t unless err is a non-empty lang.ErrorList whose
// every entry has a message and a valid position inside src whose line and
// column agree with its byte offset (columns count runes).
func checkErrorList(t testing.TB, src string, err error) {
	t.Helper()
	list, ok := err.(lang.ErrorList)
	if !ok {
		t.Fatalf("error for %q is a %T, not a lang.ErrorList: %v", src, err, err)
	}
	if len(list) == 0 {
		t.Fatalf("empty error list for %q", src)
	}
	for _, e := range list {
		if e == nil {
			t.Fatalf("nil entry in the error list for %q", src)
		}
		if e.Msg == "" {
			t.Errorf("error without a message for %q at %v", src, e.Pos)
		}
		if !e.Pos.IsValid() {
			t.Errorf("error %q for %q has no position", e.Msg, src)
			continue
		}
		if e.Pos.Offset < 0 || e.Pos.Offset > len(src) {
			t.Errorf("error %q for %q: offset %d outside the input of %d bytes", e.Msg, src, e.Pos.Offset, len(src))
			continue
		}
		line, col := lineCol(src, e.Pos.Offset)
		if e.Pos.Line != line || e.Pos.Col != col {
			t.Errorf("error %q for %q at offset %d: position %d:%d, want %d:%d", e.Msg, src, e.Pos.Offset, e.Pos.Line, e.Pos.Col, line, col)
		}
	}
}

// lineCol is the 1-based line and rune column of byte offset off in src.
func lineCol(src string, off int) (line, col int) {
	line, col = 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
