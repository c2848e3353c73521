package compile_test

import (
	"fmt"
	"time"

	"github.com/kopf/kopf/compile"
)

func Example() {
	s, err := compile.Parse("every workday offset 8h30m in Europe/Berlin")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) // a Friday
	for range 3 {
		t, _ = s.Next(t)
		fmt.Println(t.Format(time.RFC3339), t.Weekday())
	}
	// Output:
	// 2026-11-30T08:30:00+01:00 Monday
	// 2026-12-01T08:30:00+01:00 Tuesday
	// 2026-12-02T08:30:00+01:00 Wednesday
}

func Example_errors() {
	_, err := compile.Parse("every 1h @ 70m")
	fmt.Println(err)
	_, err = compile.Parse("0 0 30 2 *")
	fmt.Println(err)
	// Output:
	// 1:12: @ 70m is outside the unit of "every 1h": it must be less than 1h
	// 1:1: "0 0 30 2 *" never fires: day 30 does not occur in feb
}

func ExampleSchedule_Warnings() {
	s, _ := compile.Parse("0 0 1 * mon")
	for _, w := range s.Warnings() {
		fmt.Println(w)
	}
	// Output:
	// 1:9: warning: day-of-month "1" and day-of-week "mon" are both restricted: cron fires on days matching EITHER of them
}

func ExampleUnion() {
	// A service-manager "scheduling" list is the union of its entries.
	var parts []*compile.Schedule
	for _, src := range []string{"every month offset 2d8h30m", "every 5m offset 1m"} {
		s, err := compile.Parse(src)
		if err != nil {
			panic(err)
		}
		parts = append(parts, s)
	}
	u := compile.Union(parts...)
	t, _ := u.Next(time.Date(2026, 12, 3, 8, 28, 0, 0, time.UTC))
	fmt.Println(t.Format(time.RFC3339))
	t, _ = u.Next(t)
	fmt.Println(t.Format(time.RFC3339))
	// Output:
	// 2026-12-03T08:30:00Z
	// 2026-12-03T08:31:00Z
}

// Diff compares two schedules exactly, over their whole cycle.
func ExampleDiff() {
	a, _ := compile.Parse("every 1h @ 0m, 10m, 20m, 40m, 50m")
	b, _ := compile.Parse("00,10,20,30,40,50 * * * *")
	c, _ := compile.Diff(a, b, time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	fmt.Println(c.Relation)
	for _, w := range c.Witnesses {
		fmt.Println(w.At.Format(time.RFC3339), w.Kind)
	}
	// Output:
	// subset
	// 2026-12-06T10:30:00Z only B
	// 2026-12-06T10:10:00Z both
}

// ExportCron writes a schedule as crontab lines, with a computed
// fidelity.
func ExampleExportCron() {
	s, _ := compile.Parse("every 10m every 1d @ 10:00-01:00")
	lines, fidelity := compile.ExportCron(s)
	fmt.Println(lines, fidelity)
	s, _ = compile.Parse("every 2w")
	_, fidelity = compile.ExportCron(s)
	fmt.Println(fidelity)
	// Output:
	// [*/10 0,10-23 * * *] fidelity: exact
	// fidelity: impossible (it fires on a cycle of 14 days, which crontab fields cannot count)
}

// Explain says in words when a schedule fires.
func ExampleExplain() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	s, _ := compile.ParseIn("30 9-16 * * mon-fri", berlin)
	e := compile.Explain(s, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	fmt.Println(e.Sentence)
	fmt.Println(e.Crontab)
	fmt.Println(s.WhyNot(time.Date(2026, 12, 5, 10, 30, 0, 0, berlin)))
	// Output:
	// at minute 30 past every hour from 09:00 to 16:59, Monday to Friday, in Europe/Berlin
	// [30 9-16 * * 1-5]
	// 2026-12-05 is a Saturday; it fires Monday to Friday
}
