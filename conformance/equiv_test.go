package conformance

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
)

// The table "Example equivalence with Unix Cron" of service-manager.md, less
// the user column ("chrome-bot") that belongs to a system crontab, not to
// the time specification. Every lines are written as the document writes
// them, comments included.
var equivalences = []struct {
	cron  string
	every []string
}{
	{"*/30 * * * *", []string{"every 30m"}},
	{"* * * * *", []string{"every 1m   # implicitly: @ 0m", "every 1m @ 0m"}},
	{"0-59/10 0,10-23 * * *", []string{"every 10m every 1d @ 10:00-01:00"}},
	{"0-59/10 1-9 * * *", []string{"every 10m every 1d @ 01:00-10:00"}},
	{"1-59/10 * * * *", []string{"every 10m @ 1m"}},
	{"2-59/10 * * * *", []string{"every 10m @ 2m"}},
	{"15 4 * * *", []string{`every 1d @ 04:15    # shorten to "@ 04:15" ?`, "@ 04:15"}},
	{"0 1 * * *", []string{"every 1d @ 01:00"}},
	{"00,10,20,30,40,50 * * * *", []string{"every 10m"}},
	{"06,16,26,36,46,56 * * * *", []string{"every 10m @ 6m"}},
	{"50 * * * *", []string{"every 1h @ 50m"}},
	{"*/5 * * * *", []string{"every 5m"}},
	{"* 1 * * *", []string{"every 1m every 1d @ 01:00-02:00"}},
}

// equivalenceStarts are the instants the comparisons start from: a year
// start, a second before a month end in a common year, an arbitrary instant
// off the minute, the turn into leap year 2028, and a span over 2100, which
// is not a leap year.
var equivalenceStarts = []string{
	"2024-01-01T00:00:00Z",
	"2025-02-28T23:59:59Z",
	"2027-06-15T12:34:56Z",
	"2027-12-31T23:59:59Z",
	"2099-03-01T00:00:00Z",
}

// equivalenceEnd is where a comparison from start stops: two years and a
// day later.
func equivalenceEnd(start time.Time) time.Time { return start.AddDate(2, 0, 1) }

func TestEquivalences(t *testing.T) {
	starts := equivalenceStarts
	if testing.Short() {
		starts = starts[:2]
	}
	for _, row := range equivalences {
		t.Run(row.cron, func(t *testing.T) {
			t.Parallel()
			sp := refLine(t, row.cron)
			scheds := map[string]*compile.Schedule{row.cron: mustCompile(t, row.cron)}
			for _, e := range row.every {
				scheds[e] = mustCompile(t, e)
			}
			for _, st := range starts {
				start := mustTime(st)
				end := equivalenceEnd(start)
				// The reference's cron fire times are what both lines must
				// produce; that the two lines also agree with each other
				// follows.
				want := refFires(sp, time.UTC, start, end, 0)
				if len(want) == 0 {
					t.Fatalf("reference: %q never fires after %s", row.cron, st)
				}
				for src, s := range scheds {
					got, err := collect(s, start, end, 0)
					if err != nil {
						t.Fatalf("%q: %v", src, err)
					}
					w, g := trimEqual(want, got)
					if diff := cmp.Diff(w, g); diff != "" {
						t.Errorf("%q after %s: fire times differ from cron %q (-want +got, equal runs trimmed):\n%s", src, st, row.cron, diff)
					}
				}
			}
		})
	}
}

// TestAlternativeNotEquivalent documents that the reference's alternative
// for "00,10,20,30,40,50 * * * *" leaves out minute 30: it fires at every
// instant the cron line does except the :30 ones, and at no other.
func TestAlternativeNotEquivalent(t *testing.T) {
	const cron, alt = "00,10,20,30,40,50 * * * *", "every 1h @ 0m, 10m, 20m, 40m, 50m  # alternative"
	c, a := mustCompile(t, cron), mustCompile(t, alt)
	for _, st := range equivalenceStarts[:3] {
		start := mustTime(st)
		end := equivalenceEnd(start)
		cronTimes, err := collect(c, start, end, 0)
		if err != nil {
			t.Fatal(err)
		}
		altTimes, err := collect(a, start, end, 0)
		if err != nil {
			t.Fatal(err)
		}
		onlyCron, onlyAlt := difference(cronTimes, altTimes), difference(altTimes, cronTimes)

		// Every hh:30 in the span, and nothing else, is missing.
		var wantMissing []instant
		first := start.Truncate(time.Hour).Add(30 * time.Minute)
		if !first.After(start) {
			first = first.Add(time.Hour)
		}
		for t := first; !t.After(end); t = t.Add(time.Hour) {
			wantMissing = append(wantMissing, instant(t.Unix()))
		}
		w, g := trimEqual(wantMissing, onlyCron)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("after %s: instants of %q missing from %q (-want +got, equal runs trimmed):\n%s", st, cron, alt, diff)
		}
		if diff := cmp.Diff([]instant(nil), onlyAlt); diff != "" {
			t.Errorf("after %s: %q fires where %q does not (-want +got):\n%s", st, alt, cron, diff)
		}
	}
}

// TestMacros checks cronie's nicknames against their five-field meaning.
func TestMacros(t *testing.T) {
	for _, tc := range []struct{ macro, fields string }{
		{"@yearly", "0 0 1 1 *"},
		{"@annually", "0 0 1 1 *"},
		{"@monthly", "0 0 1 * *"},
		{"@weekly", "0 0 * * 0"},
		{"@daily", "0 0 * * *"},
		{"@midnight", "0 0 * * *"},
		{"@hourly", "0 * * * *"},
	} {
		start := mustTime("2026-01-01T00:00:00Z")
		end := start.AddDate(3, 0, 0)
		want := refFires(refLine(t, tc.fields), time.UTC, start, end, 0)
		got, err := collect(mustCompile(t, tc.macro), start, end, 0)
		if err != nil {
			t.Fatal(err)
		}
		w, g := trimEqual(want, got)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s is not %q (-want +got, equal runs trimmed):\n%s", tc.macro, tc.fields, diff)
		}
	}
}

func mustCompile(t testing.TB, src string) *compile.Schedule {
	t.Helper()
	s, err := compile.Parse(src)
	if err != nil {
		t.Fatalf("compile.Parse(%q): %v", src, err)
	}
	return s
}

// trimEqual cuts the common head and tail off two long sequences, keeping
// three instants of context before the first difference and at most
// trimKeep instants after it, and writes them out, so that cmp.Diff of two
// years of minutes costs only what their differences cost and prints
// readable instants. Equal sequences come back as two nils.
func trimEqual(want, got []instant) ([]string, []string) {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	j, k := len(want), len(got)
	for j > i && k > i && want[j-1] == got[k-1] {
		j, k = j-1, k-1
	}
	if i == j && i == k {
		return nil, nil
	}
	i = max(i-3, 0)
	return instantStrings(want[i:min(j, i+trimKeep)], j > i+trimKeep),
		instantStrings(got[i:min(k, i+trimKeep)], k > i+trimKeep)
}

const trimKeep = 60

func instantStrings(xs []instant, more bool) []string {
	out := make([]string, 0, len(xs)+1)
	for _, x := range xs {
		out = append(out, x.String())
	}
	if more {
		out = append(out, "…")
	}
	return out
}

// difference returns the instants of a that are not in b; both are sorted.
func difference(a, b []instant) []instant {
	var out []instant
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			out = append(out, x)
		}
	}
	return out
}

// TestEquivalencesExactly proves each documented equivalence over the
// whole 400-year cycle with compile.Diff, and the alternative's one
// difference: a subset, missing the :30s.
func TestEquivalencesExactly(t *testing.T) {
	after := mustTime("2026-12-06T10:00:00Z")
	for _, row := range equivalences {
		c := mustCompile(t, row.cron)
		for _, e := range row.every {
			got, err := compile.Diff(mustCompile(t, e), c, after)
			if err != nil {
				t.Fatal(err)
			}
			if got.Relation != compile.RelEqual {
				t.Errorf("%q vs %q: %s %v, want equal", e, row.cron, got.Relation, got.Witnesses)
			}
		}
	}
	got, err := compile.Diff(mustCompile(t, "every 1h @ 0m, 10m, 20m, 40m, 50m"), mustCompile(t, "00,10,20,30,40,50 * * * *"), after)
	if err != nil {
		t.Fatal(err)
	}
	if got.Relation != compile.RelSubset || got.Witnesses[0].Kind != "only B" || got.Witnesses[0].At.Minute() != 30 {
		t.Errorf("the alternative: %s %v, want a subset missing the :30s", got.Relation, got.Witnesses)
	}
}
