package statuspage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kopf/kopf/runtime/control"
)

// The timeline's geometry: a label column, then the time axis from a day
// ago to ahead hours on.
const (
	labelWidth = 180
	axisWidth  = 900
	rowHeight  = 20
	ahead      = 6 * time.Hour
	maxRows    = 100 // units on the timeline; the table has them all
	maxPerDay  = 40  // fires a calendar day lists
	maxCalJobs = 200 // jobs the calendar asks for fires
)

type timeline struct {
	Width, Height int
	NowX          float64
	Hours         []hourMark
	Rows          []row
}

type hourMark struct {
	X     float64
	Label string
}

type row struct {
	Name  string
	Y     int
	Bars  []bar
	Ticks []tick
}

type bar struct {
	X, W    float64
	Class   string // "run success", "run running", …
	Tooltip string
}

type tick struct {
	X       float64
	Tooltip string
}

// timeline lays out the runs of the last day and the fires of the next
// hours, one row per unit that has either.
func (s *Server) timeline(ctx context.Context, units []control.Unit, runs []Run, now time.Time) timeline {
	from, to := now.Add(-24*time.Hour), now.Add(ahead)
	x := func(t time.Time) float64 {
		return labelWidth + float64(t.Sub(from))/float64(to.Sub(from))*axisWidth
	}
	byUnit := map[string][]Run{}
	for _, r := range runs {
		byUnit[r.Unit] = append(byUnit[r.Unit], r)
	}
	var names []string
	firing := map[string]bool{} // units whose coming fires show: not stopped, with a next fire soon
	for _, u := range units {
		firing[u.Name] = !u.NextFire.IsZero() && u.NextFire.Before(to)
		if len(byUnit[u.Name]) > 0 || firing[u.Name] {
			names = append(names, u.Name)
		}
	}
	slices.Sort(names)
	if len(names) > maxRows {
		names = names[:maxRows]
	}
	tl := timeline{Width: labelWidth + axisWidth + 10, NowX: x(now)}
	for h := from.Truncate(time.Hour).Add(time.Hour); h.Before(to); h = h.Add(3 * time.Hour) {
		tl.Hours = append(tl.Hours, hourMark{X: x(h), Label: h.Format("15:04")})
	}
	for i, name := range names {
		rw := row{Name: name, Y: 24 + i*rowHeight}
		for _, r := range byUnit[name] {
			end, class := r.End, "run "+r.Outcome
			if end.IsZero() {
				end, class = now, "run running"
			}
			start := r.Start
			if start.Before(from) {
				start = from
			}
			tip := fmt.Sprintf("%s: %s, started %s", name, strings.TrimPrefix(class, "run "), r.Start.Format("15:04:05"))
			if r.How != "" {
				tip += ", " + r.How
			}
			rw.Bars = append(rw.Bars, bar{X: x(start), W: max(2, x(end)-x(start)), Class: class, Tooltip: tip})
		}
		if !firing[name] {
			tl.Rows = append(tl.Rows, rw)
			continue
		}
		for _, at := range s.next(ctx, name, 200) {
			if at.After(to) {
				break
			}
			rw.Ticks = append(rw.Ticks, tick{X: x(at), Tooltip: fmt.Sprintf("%s fires at %s", name, at.Format("2006-01-02 15:04:05 -07:00"))})
		}
		tl.Rows = append(tl.Rows, rw)
	}
	tl.Height = 24 + len(tl.Rows)*rowHeight + 8
	return tl
}

// day is one day of the calendar.
type day struct {
	Date  time.Time
	Fires []fire
	More  int // fires beyond maxPerDay
}

type fire struct {
	At   time.Time
	Unit string
}

// calendar lists the next seven days' fires, day by day in kopf's zone.
func (s *Server) calendar(ctx context.Context, units []control.Unit, now time.Time) []day {
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	days := make([]day, 7)
	for i := range days {
		days[i].Date = start.AddDate(0, 0, i)
	}
	end := start.AddDate(0, 0, 7)
	asked := 0
	for _, u := range units {
		if u.NextFire.IsZero() || !u.NextFire.Before(end) || asked >= maxCalJobs {
			continue
		}
		asked++
		for _, at := range s.next(ctx, u.Name, 500) {
			at = at.In(now.Location())
			if !at.Before(end) {
				break
			}
			// Days by the calendar, not by 24 hours: a DST day has 23 or 25.
			i := 6
			for i > 0 && at.Before(days[i].Date) {
				i--
			}
			days[i].Fires = append(days[i].Fires, fire{At: at, Unit: u.Name})
		}
	}
	for i := range days {
		d := &days[i]
		slices.SortFunc(d.Fires, func(a, b fire) int { return a.At.Compare(b.At) })
		if len(d.Fires) > maxPerDay {
			d.More, d.Fires = len(d.Fires)-maxPerDay, d.Fires[:maxPerDay]
		}
	}
	return days
}
