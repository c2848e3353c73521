package statuspage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the calendar's DST test needs America/New_York anywhere

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// The timeline's axis runs from a day before testNow to 6 hours after:
// 30 hours on 900 pixels after a 180-pixel label column, 30 pixels an
// hour, so testNow is at 180+24*30 = 900.

// asked returns the names b was asked the next fires of, with their N.
func asked(b *backend) []string {
	var out []string
	for _, r := range b.requests() {
		if r.Cmd == control.CmdNext {
			out = append(out, fmt.Sprintf("%s %d", r.Name, r.N))
		}
	}
	return out
}

// TestTimeline: a row per unit with a run in the last day or a fire in
// the next 6 hours, sorted by name; runs as bars clipped to the axis and
// at least 2 pixels wide, coloured by outcome; the coming fires as ticks,
// asked for the firing units only.
func TestTimeline(t *testing.T) {
	h := func(n float64) time.Time { return testNow.Add(time.Duration(n * float64(time.Hour))) }
	b := &backend{next: map[string][]string{
		"backup": {"not a time", h(1).Format(time.RFC3339), h(5).Format(time.RFC3339), h(7).Format(time.RFC3339), h(8).Format(time.RFC3339)},
	}}
	s := New(Options{Handle: b.handle, History: NewHistory(24*time.Hour, 10), Now: func() time.Time { return testNow }})
	units := []control.Unit{
		{Name: "web", Kind: "proc", State: control.Running},
		{Name: "backup", Kind: "job", NextFire: h(1)},
		{Name: "idle", Kind: "job", NextFire: h(7)},
		{Name: "stopped", Kind: "job", State: control.Stopped},
		{Name: "a-job", Kind: "job"},
	}
	runs := []Run{
		{Unit: "a-job", Start: h(-3), End: h(-2), Outcome: "success", How: "exit 0 after 1h0m0s"},
		{Unit: "web", Start: h(-25)},
		{Unit: "a-job", Start: h(-1), End: h(-1).Add(time.Second), Outcome: "failure", How: "exit 1 after 1s"},
		{Unit: "gone", Start: h(-2), End: h(-1), Outcome: "success"},
	}
	tl := s.timeline(context.Background(), units, runs, testNow)

	if tl.Width != 1090 || tl.NowX != 900 || tl.Height != 24+3*20+8 {
		t.Errorf("width %d, now at %v, height %d; want 1090, 900, 92", tl.Width, tl.NowX, tl.Height)
	}
	var hours []string
	for _, m := range tl.Hours {
		hours = append(hours, fmt.Sprintf("%s@%v", m.Label, m.X))
	}
	if want := "13:00@210 16:00@300 19:00@390 22:00@480 01:00@570 04:00@660 07:00@750 10:00@840 13:00@930 16:00@1020"; strings.Join(hours, " ") != want {
		t.Errorf("hour marks %s\nwant %s", strings.Join(hours, " "), want)
	}
	var got []string
	for _, r := range tl.Rows {
		got = append(got, fmt.Sprintf("%s y%d", r.Name, r.Y))
		for _, b := range r.Bars {
			got = append(got, fmt.Sprintf("  bar %v+%v %q %q", b.X, b.W, b.Class, b.Tooltip))
		}
		for _, k := range r.Ticks {
			got = append(got, fmt.Sprintf("  tick %v %q", k.X, k.Tooltip))
		}
	}
	want := []string{
		"a-job y24",
		`  bar 810+30 "run success" "a-job: success, started 09:00:00, exit 0 after 1h0m0s"`,
		`  bar 870+2 "run failure" "a-job: failure, started 11:00:00, exit 1 after 1s"`,
		"backup y44",
		`  tick 930 "backup fires at 2026-12-07 13:00:00 +00:00"`,
		`  tick 1050 "backup fires at 2026-12-07 17:00:00 +00:00"`,
		"web y64",
		`  bar 180+720 "run running" "web: running, started 11:00:00"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := asked(b); !slices.Equal(got, []string{"backup 200"}) {
		t.Errorf("asked for the next fires of %q, want backup's alone", got)
	}
}

// TestTimelineHours: the hour marks start at the first whole hour after
// the axis's start, wherever now falls.
func TestTimelineHours(t *testing.T) {
	s := New(Options{Handle: (&backend{}).handle, History: NewHistory(24*time.Hour, 10)})
	now := testNow.Add(20 * time.Minute)
	tl := s.timeline(context.Background(), nil, nil, now)
	if len(tl.Hours) == 0 || tl.Hours[0].Label != "13:00" || tl.Hours[0].X != 200 || tl.NowX != 900 {
		t.Errorf("hours %+v, now at %v; want 13:00 first at 200 (40 minutes in), now at 900", tl.Hours, tl.NowX)
	}
	if len(tl.Rows) != 0 || tl.Height != 32 {
		t.Errorf("no units: rows %+v, height %d; want none, 32", tl.Rows, tl.Height)
	}
}

// TestTimelineMaxRows: the timeline has the first maxRows units by name;
// the table has them all.
func TestTimelineMaxRows(t *testing.T) {
	s := New(Options{Handle: (&backend{}).handle, History: NewHistory(24*time.Hour, 10)})
	var units []control.Unit
	var runs []Run
	for i := 149; i >= 0; i-- {
		name := fmt.Sprintf("u%03d", i)
		units = append(units, control.Unit{Name: name, Kind: "job"})
		runs = append(runs, Run{Unit: name, Start: testNow.Add(-time.Hour), End: testNow, Outcome: "success"})
	}
	tl := s.timeline(context.Background(), units, runs, testNow)
	if len(tl.Rows) != 100 || tl.Rows[0].Name != "u000" || tl.Rows[99].Name != "u099" || tl.Height != 24+100*20+8 {
		t.Errorf("%d rows, %s … %s, height %d; want 100, u000 … u099, 2032", len(tl.Rows), tl.Rows[0].Name, tl.Rows[len(tl.Rows)-1].Name, tl.Height)
	}
}

// TestCalendar: the next seven days' fires, by day from today, in order
// whichever job they are of and in kopf's zone whatever the job's;
// at most maxPerDay a day, with how many more; jobs that do not fire
// within the week are not asked.
func TestCalendar(t *testing.T) {
	var many []string
	for i := range 45 {
		many = append(many, time.Date(2026, 12, 9, 0, 10*i, 0, 0, time.UTC).Format(time.RFC3339))
	}
	b := &backend{next: map[string][]string{
		"a":    {"2026-12-07T13:00:00Z", "2026-12-08T00:00:00Z", "2026-12-13T23:59:00Z", "2026-12-14T00:00:00Z", "2026-12-15T00:00:00Z"},
		"b":    {"2026-12-07T21:30:00+09:00"},
		"many": many,
	}}
	s := New(Options{Handle: b.handle, History: NewHistory(24*time.Hour, 10)})
	units := []control.Unit{
		{Name: "a", Kind: "job", NextFire: time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)},
		{Name: "late", Kind: "job", NextFire: time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)},
		{Name: "b", Kind: "job", NextFire: time.Date(2026, 12, 7, 21, 30, 0, 0, time.FixedZone("JST", 9*3600))},
		{Name: "stopped", Kind: "job"},
		{Name: "many", Kind: "job", NextFire: time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)},
	}
	days := s.calendar(context.Background(), units, testNow)
	var got []string
	for _, d := range days {
		line := d.Date.Format("Mon 2 Jan 15:04 MST") + ":"
		for i, f := range d.Fires {
			if i < 2 || i == len(d.Fires)-1 {
				line += " " + f.At.Format("15:04 MST") + " " + f.Unit
			} else if i == 2 {
				line += " …"
			}
		}
		if d.More > 0 {
			line += fmt.Sprintf(" (%d fires, %d more)", len(d.Fires), d.More)
		}
		got = append(got, line)
	}
	want := []string{
		"Mon 7 Dec 00:00 UTC: 12:30 UTC b 13:00 UTC a",
		"Tue 8 Dec 00:00 UTC: 00:00 UTC a",
		"Wed 9 Dec 00:00 UTC: 00:00 UTC many 00:10 UTC many … 06:30 UTC many (40 fires, 5 more)",
		"Thu 10 Dec 00:00 UTC:",
		"Fri 11 Dec 00:00 UTC:",
		"Sat 12 Dec 00:00 UTC:",
		"Sun 13 Dec 00:00 UTC: 23:59 UTC a",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calendar:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := asked(b); !slices.Equal(got, []string{"a 500", "b 500", "many 500"}) {
		t.Errorf("asked for the next fires of %q, want a, b and many's", got)
	}
}

// TestCalendarDST: days are calendar days in kopf's zone, not 24 hours:
// the day that ends daylight saving time has 25 hours, and a fire in its
// last hour is on it.
func TestCalendarDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{next: map[string][]string{"a": {"2026-11-01T23:30:00-05:00", "2026-11-02T00:30:00-05:00"}}}
	s := New(Options{Handle: b.handle, History: NewHistory(24*time.Hour, 10)})
	now := time.Date(2026, 10, 31, 12, 0, 0, 0, ny)
	days := s.calendar(context.Background(), []control.Unit{{Name: "a", Kind: "job", NextFire: time.Date(2026, 11, 1, 23, 30, 0, 0, ny)}}, now)
	for i, d := range days {
		if want := time.Date(2026, 10, 31+i, 0, 0, 0, 0, ny); !d.Date.Equal(want) {
			t.Errorf("day %d is %s, want %s", i, d.Date, want)
		}
	}
	if len(days[1].Fires) != 1 || days[1].Fires[0].At.Format("Jan 2 15:04") != "Nov 1 23:30" ||
		len(days[2].Fires) != 1 || days[2].Fires[0].At.Format("Jan 2 15:04") != "Nov 2 00:30" {
		t.Errorf("Nov 1: %+v; Nov 2: %+v; want 23:30 on the first, 00:30 on the second", days[1].Fires, days[2].Fires)
	}
}

// TestCalendarMaxJobs: the calendar asks the next fires of maxCalJobs
// jobs at most, the first in the units' order.
func TestCalendarMaxJobs(t *testing.T) {
	b := &backend{}
	s := New(Options{Handle: b.handle, History: NewHistory(24*time.Hour, 10)})
	var units []control.Unit
	for i := range 210 {
		units = append(units, control.Unit{Name: fmt.Sprintf("j%03d", i), Kind: "job", NextFire: testNow.Add(time.Hour)})
	}
	s.calendar(context.Background(), units, testNow)
	got := asked(b)
	if len(got) != 200 || got[0] != "j000 500" || got[199] != "j199 500" {
		t.Errorf("asked %d jobs, %q … %q; want 200, j000 … j199", len(got), got[0], got[len(got)-1])
	}
}

// TestIndexTimelineAndCalendar: the front page draws the timeline's rows,
// bars and ticks, and the calendar's days, through the real routes.
func TestIndexTimelineAndCalendar(t *testing.T) {
	h := NewHistory(24*time.Hour, 10)
	zero := 0
	h.Observe(journal.Event{Type: journal.Spawned, Unit: "backup", PID: 5, Time: testNow.Add(-3 * time.Hour)})
	h.Observe(journal.Event{Type: journal.Exited, Unit: "backup", PID: 5, Time: testNow.Add(-2 * time.Hour), Code: &zero, Seconds: 3600})
	b := &backend{
		units: []control.Unit{{Name: "backup", Kind: "job", State: control.Waiting, NextFire: testNow.Add(time.Hour), Zone: "UTC"}},
		next:  map[string][]string{"backup": {testNow.Add(time.Hour).Format(time.RFC3339)}},
	}
	body := do(serve(b, h, ""), "GET", "/", nil, nil).Body.String()
	for _, s := range []string{
		`<svg id="timeline" role="img" aria-labelledby="timeline-title timeline-desc" width="1090" height="52" viewBox="0 0 1090 52">`,
		`<g class="row" data-unit="backup"><text x="4" y="24" dy="14">backup</text>`,
		`<rect class="run success" x="810" y="24" width="30" height="16"><title>backup: success, started 09:00:00, exit 0 after 1h0m0s</title></rect>`,
		`<line class="fire" x1="930" x2="930" y1="24" y2="40"><title>backup fires at 2026-12-07 13:00:00 &#43;00:00</title></line>`,
		`<line class="now" x1="900" x2="900" y1="14" y2="52"></line>`,
		`<th scope="col">Mon 7 Dec</th>`,
		`<th scope="col">Sun 13 Dec</th>`,
		`<td><div class="fire">13:00 <a href="/units/backup">backup</a></div></td><td>–</td>`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("the page lacks %s", s)
		}
	}
}
