package conformance

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kopf/kopf/compile"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the property tests (0: $KOPF_SEED, or the fixed default)")

// propertySeed is the seed of this run: -seed, else $KOPF_SEED, else a
// fixed default so that a plain "go test" is reproducible.
func propertySeed(t *testing.T) uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if s := os.Getenv("KOPF_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("KOPF_SEED=%q: %v", s, err)
		}
		return n
	}
	return 20261101
}

// TestCronProperty compiles random crontab lines and compares every fire
// time in a window with the brute-force reference, in UTC and in New York,
// over windows chosen to cross month ends, February 29 (and 2100's missing
// one) and both DST changes of 2026.
func TestCronProperty(t *testing.T) {
	seed := propertySeed(t)
	r := rand.New(rand.NewPCG(seed, 0x6b6f7066))
	ny := newYork(t)
	zones := []*time.Location{ny}
	for _, name := range strangeZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("LoadLocation: %v", err)
		}
		zones = append(zones, loc)
	}
	cases := 3000
	if testing.Short() {
		cases = 150
	}
	t.Logf("seed %d (rerun with KOPF_SEED=%d), %d cases", seed, seed, cases)
	failures := 0
	for i := range cases {
		w := genWindow(r, ny, zones)
		line := genLine(r, w.dst)
		src, loc := line, w.loc
		switch r.IntN(5) {
		case 0:
			src = "CRON_TZ=" + zoneName(loc) + " " + line
			loc = time.UTC // the prefix, not the default, must set the zone
		case 1:
			src = "TZ=" + zoneName(loc) + " " + line
			loc = time.UTC
		}
		var p compile.DST
		if w.dst && r.IntN(2) == 0 {
			p = compile.DST{Gap: compile.Gap(r.IntN(3)), Overlap: compile.Overlap(r.IntN(4))}
		}
		if msg := checkLine(line, src, loc, w, p); msg != "" {
			t.Errorf("seed %d case %d: %s", seed, i, msg)
			if failures++; failures == 10 {
				t.Fatalf("stopping after %d failures", failures)
			}
		}
	}
}

// strangeZones change their offsets in ways New York does not: by 30
// minutes (Lord Howe), with "negative DST" in winter (Dublin), at midnight
// (Santiago, Havana), several times a year (Casablanca), or by a whole day
// (Apia skipped 2011-12-30).
var strangeZones = []string{
	"Australia/Lord_Howe", "Europe/Dublin", "America/Santiago", "America/Havana",
	"Africa/Casablanca", "Pacific/Apia", "Europe/Berlin",
}

// checkLine compiles src (line with perhaps a zone prefix) in loc and
// compares it with the reference for line in w.loc; it returns what went
// wrong, or "".
func checkLine(line, src string, loc *time.Location, w window, p compile.DST) string {
	sp, err := parseCron(line)
	if err != nil {
		return fmt.Sprintf("generator made a line the reference rejects: %v", err)
	}
	where := fmt.Sprintf("%q in %s after %s until %s, DST policy %s", src, zoneName(w.loc), w.after.Format(time.RFC3339), w.end.Format(time.RFC3339), p)
	s, err := compile.ParseIn(src, loc)
	if err != nil {
		if errors.Is(err, compile.ErrNever) && refNever(sp) {
			return ""
		}
		return fmt.Sprintf("%s: compile error %v", where, err)
	}
	if refNever(sp) {
		return fmt.Sprintf("%s: compiled, but no day in 400 years matches", where)
	}
	rp := sp.cronie()
	switch p.Gap {
	case compile.GapShift:
		rp.shift = true
	case compile.GapSkip:
		rp.shift = false
	}
	if p.Overlap != compile.OverlapCronie {
		rp.overlap = p.Overlap.String()
	}
	want := refFiresWith(sp, rp, w.loc, w.after, w.end, w.limit)
	got, err := collect(s.WithDST(p), w.after, w.end, w.limit)
	if err != nil {
		return fmt.Sprintf("%s: %v", where, err)
	}
	wt, gt := trimEqual(want, got)
	if diff := cmp.Diff(wt, gt); diff != "" {
		return fmt.Sprintf("%s: fire times differ from the reference (-want +got, equal runs trimmed):\n%s", where, diff)
	}
	return ""
}

// refNever reports whether no day of a whole 400-year Gregorian cycle
// matches the line's day fields; the calendar repeats after that.
func refNever(sp *cronSpec) bool {
	m := &wallMatcher{sp: sp}
	first := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	for d := first; d < first+146097; d++ {
		if m.dayMatches(d) {
			return false
		}
	}
	return true
}

func zoneName(loc *time.Location) string { return loc.String() }

// window is the span a case compares: fire times after after and not after
// end, at most limit of them (0: all). dst says the window crosses a DST
// change, so lines get hours near it more often.
type window struct {
	loc        *time.Location
	after, end time.Time
	limit      int
	dst        bool
}

func genWindow(r *rand.Rand, ny *time.Location, zones []*time.Location) window {
	sec := func(from, to string) time.Time { // a random instant in [from, to)
		a, b := mustTime(from).Unix(), mustTime(to).Unix()
		return time.Unix(a+r.Int64N(b-a), 0).UTC()
	}
	weeks := func(n int) time.Duration { return time.Duration(n) * 7 * 24 * time.Hour }
	w := window{loc: time.UTC}
	switch k := r.IntN(17); {
	case k < 3: // anywhere in 2024-2030
		w.after = sec("2024-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
		w.end = w.after.Add(weeks(5))
	case k < 5: // over February 29, or over 2100's March 1
		year := []int{2024, 2028, 2100}[r.IntN(3)]
		w.after = time.Date(year, 2, 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(86400)) * time.Second)
		w.end = w.after.Add(weeks(4))
	case k < 7: // over a month end
		m := time.Date(2024+r.IntN(7), time.Month(1+r.IntN(12)), 1, 0, 0, 0, 0, time.UTC)
		w.after = m.AddDate(0, 1, -1-r.IntN(4)).Add(time.Duration(r.Int64N(86400)) * time.Second)
		w.end = w.after.Add(weeks(3))
	case k < 10: // New York over the spring-forward gap, some from inside the day
		w.loc, w.dst = ny, true
		w.after = sec("2026-03-03T00:00:00Z", "2026-03-08T09:00:00Z")
		w.end = w.after.Add(weeks(2))
	case k < 13: // New York over the fall-back overlap
		w.loc, w.dst = ny, true
		w.after = sec("2026-10-27T00:00:00Z", "2026-11-01T08:00:00Z")
		w.end = w.after.Add(weeks(2))
	case k < 14: // New York anywhere
		w.loc = ny
		w.after = sec("2024-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
		w.end = w.after.Add(weeks(5))
	case k < 15: // days before some offset change of 2000-2040, New York's or a stranger zone's
		w.loc, w.dst = zones[r.IntN(len(zones))], true
		from := sec("2000-01-01T00:00:00Z", "2040-01-01T00:00:00Z")
		if w.loc.String() == "Pacific/Apia" && r.IntN(3) == 0 {
			from = sec("2011-12-25T00:00:00Z", "2011-12-30T09:00:00Z") // before the lost day
		}
		_, change := from.In(w.loc).ZoneBounds()
		if change.IsZero() {
			change = mustTime("2040-01-01T00:00:00Z")
		}
		w.after = change.Add(-time.Duration(r.Int64N(3*86400)) * time.Second).UTC()
		w.end = w.after.Add(weeks(1))
	default: // the next few fire times, however far: rare lines fire too
		if r.IntN(2) == 0 {
			w.loc = ny
		}
		w.after = sec("2024-01-01T00:00:00Z", "2101-01-01T00:00:00Z")
		w.end = w.after.AddDate(9, 0, 0)
		w.limit = 5
	}
	return w
}

// genLine writes a random valid crontab time specification: one to five
// fields of lists, ranges, steps, "*", "*/n", names in month and day of
// week (any case), 7 for Sunday and leading zeros, separated by spaces or
// tabs.
func genLine(r *rand.Rand, dst bool) string {
	n := 5
	if r.IntN(4) == 0 {
		n = 1 + r.IntN(4)
	}
	var b strings.Builder
	if r.IntN(10) == 0 {
		b.WriteString(" ")
	}
	for k := range n {
		if k > 0 {
			b.WriteString([]string{" ", " ", " ", "  ", "\t"}[r.IntN(5)])
		}
		if r.IntN(100) < starPercent[k] {
			b.WriteString("*")
			continue
		}
		items := 1
		if x := r.IntN(10); x >= 9 {
			items = 3
		} else if x >= 6 {
			items = 2
		}
		for i := range items {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(genItem(r, k, dst))
		}
	}
	return b.String()
}

// starPercent is how often each field is a plain "*", so that most lines
// fire within a few weeks: a random month or day list rarely would.
var starPercent = [5]int{15, 20, 45, 65, 45}

func genItem(r *rand.Rand, kind int, dst bool) string {
	lo, hi := refBounds[kind][0], refBounds[kind][1]
	step := func() string { return strconv.Itoa(1 + r.IntN(hi-lo+3)) }
	pair := func() (int, int) {
		a, b := genValue(r, kind, dst), genValue(r, kind, dst)
		return min(a, b), max(a, b)
	}
	switch x := r.IntN(20); {
	case x < 3:
		return "*"
	case x < 5:
		return "*/" + step()
	case x < 12:
		return writeValue(r, kind, genValue(r, kind, dst))
	case x < 17:
		a, b := pair()
		return writeValue(r, kind, a) + "-" + writeValue(r, kind, b)
	default:
		a, b := pair()
		return writeValue(r, kind, a) + "-" + writeValue(r, kind, b) + "/" + step()
	}
}

// genValue picks a value of a field, often one near an edge: the last
// minute, the hours DST moves, the days some months lack, February.
func genValue(r *rand.Rand, kind int, dst bool) int {
	lo, hi := refBounds[kind][0], refBounds[kind][1]
	var edges []int
	switch kind {
	case 0:
		edges = []int{0, 30, 59}
	case 1:
		edges = []int{0, 23}
		if dst {
			edges = []int{0, 1, 1, 2, 2, 2, 3}
		}
	case 2:
		edges = []int{1, 28, 29, 30, 31}
	case 3:
		edges = []int{2, 2, 12}
		if dst {
			edges = []int{3, 11}
		}
	case 4:
		edges = []int{0, 7}
	}
	if r.IntN(10) < 4 {
		return edges[r.IntN(len(edges))]
	}
	return lo + r.IntN(hi-lo+1)
}

// writeValue writes v as a number (sometimes with a leading zero) or, for
// months and days of the week, often as a name in random case.
func writeValue(r *rand.Rand, kind, v int) string {
	var name string
	switch {
	case kind == 3:
		name = refMonths[v-1]
	case kind == 4 && v < 7:
		name = refDays[v]
	}
	if name != "" && r.IntN(5) < 2 {
		switch r.IntN(3) {
		case 0:
			return strings.ToUpper(name)
		case 1:
			return strings.ToUpper(name[:1]) + name[1:]
		}
		return name
	}
	if v < 10 && r.IntN(10) == 0 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

// TestReferenceSelf pins the reference's own reading of the cronie rules
// that the random lines lean on, with instants worked out by hand.
func TestReferenceSelf(t *testing.T) {
	for _, tc := range []struct {
		line  string
		after string
		want  []string
	}{
		// Both day fields restricted: either. 2026-01-01 is a Thursday.
		{"0 0 13 * fri", "2026-01-01T00:00:00Z", []string{"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z"}},
		// Day of week "*/2" starts with "*": both, and it means Sun, Tue, Thu, Sat.
		{"0 0 1-10 * */2", "2025-12-31T23:59:00Z", []string{"2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-06T00:00:00Z", "2026-01-08T00:00:00Z", "2026-01-10T00:00:00Z"}},
		// 7 is Sunday; 2026-01-04 is one.
		{"0 12 * * 7", "2026-01-01T00:00:00Z", []string{"2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z"}},
		// A range with a step and names.
		{"0 9 * jan-MAR/2 Mon", "2026-02-01T00:00:00Z", []string{"2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z"}},
		// One field: minute 5 of every hour.
		{"5", "2026-01-01T23:00:00Z", []string{"2026-01-01T23:05:00Z", "2026-01-02T00:05:00Z"}},
	} {
		got := refFires(refLine(t, tc.line), time.UTC, mustTime(tc.after), mustTime(tc.after).AddDate(1, 0, 0), len(tc.want)+1)
		var want []instant
		for _, w := range tc.want {
			want = append(want, at(w))
		}
		if diff := cmp.Diff(want, got[:min(len(got), len(want))]); diff != "" {
			t.Errorf("reference for %q after %s (-want +got):\n%s", tc.line, tc.after, diff)
		}
	}
}

// Rare schedules make one Next walk through years of DST changes, which the
// compiler skips over with a binary search through its offset table; these
// check that skipping against the reference, fire by fire, over decades.
func TestRareSchedulesAcrossYearsOfDST(t *testing.T) {
	lines := []string{
		"30 1 1 11 *",   // fixed, in the overlap when November 1 is the first Sunday
		"*/30 1 1 11 *", // the same as a wildcard: twice in those years
		"30 2 8 3 *",    // fixed, in the gap when March 8 is the second Sunday
		"* 2 8-14 3 0",  // wildcard inside the gap: lost on the change day
		"30 2 * 3 0",    // every Sunday of March at 02:30
		"0 1 1-7 11 0",  // the first Sunday of November at 01:00
		"0 0 29 2 *",    // every four years, eight across 2100
		"15 3 29 2 1",   // either rule: February 29 or any Monday, at 03:15
		"0 0 29 2 */7",  // both rules: a February 29 that is a Sunday
	}
	zones := []*time.Location{newYork(t)}
	for _, name := range []string{"Europe/Berlin", "Australia/Lord_Howe", "America/Santiago"} {
		if loc, err := time.LoadLocation(name); err == nil {
			zones = append(zones, loc)
		}
	}
	after := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)
	if testing.Short() {
		end = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	for _, loc := range zones {
		for _, line := range lines {
			if msg := checkLine(line, line, loc, window{loc: loc, after: after, end: end, limit: 400}, compile.DST{}); msg != "" {
				t.Error(msg)
			}
		}
	}
}
