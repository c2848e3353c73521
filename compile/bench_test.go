package compile_test

import (
	"testing"
	"time"

	"github.com/kopf/kopf/compile"
)

// Run with
//
//	go test ./compile -run '^$' -bench . -benchmem
//
// docs/performance.md records the figures and how they compare with the
// peer libraries measured in bench/.

// benchExprs are the schedules whose Next is measured: frequent, daily,
// cron's day OR rule, weekdays, a rare one (every four years), names and
// steps, a macro, and the every-language's window and offset forms.
var benchExprs = []struct{ name, src string }{
	{"every-minute", "* * * * *"},
	{"quarter-hour", "*/15 * * * *"},
	{"midnight", "0 0 * * *"},
	{"dom-or-dow", "30 4 1,15 * 5"},
	{"weekdays", "0 9 * * mon-fri"},
	{"feb-29", "0 0 29 2 *"},
	{"lists-steps-names", "5,35 */2 1-10 jan,jul *"},
	{"macro-hourly", "@hourly"},
	{"every-window", "every 10m every 1d @ 10:00-01:00"},
	{"every-workday-offset", "every workday offset 8h30m"},
}

func benchZones(b *testing.B) []*time.Location {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	return []*time.Location{time.UTC, ny}
}

// BenchmarkNext measures Next as a scheduler calls it: each answer is the
// next question, so the search always starts from a fresh instant and walks
// through DST changes, month ends and leap days. The walk restarts in 2026
// once it passes 2096, which keeps feb-29 from running off towards year
// 10000 and matches bench/, whose peers give up on the eight-year gap
// between the leap days around 2100.
func BenchmarkNext(b *testing.B) {
	for _, loc := range benchZones(b) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
		horizon := time.Date(2096, 1, 1, 0, 0, 0, 0, loc)
		for _, e := range benchExprs {
			b.Run(loc.String()+"/"+e.name, func(b *testing.B) {
				s, err := compile.ParseIn(e.src, loc)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				t := start
				for b.Loop() {
					n, ok := s.Next(t)
					if !ok {
						b.Fatalf("%q: no fire time after %v", e.src, t)
					}
					if n.After(horizon) {
						n = start
					}
					t = n
				}
			})
		}
	}
}

// BenchmarkNextScattered asks Next from instants spread over ten years
// rather than from its own previous answer: a scheduler that starts, or a
// preview from an arbitrary date. Spread, not sequential, so no answer is
// near the last one.
func BenchmarkNextScattered(b *testing.B) {
	const n = 1024
	for _, loc := range benchZones(b) {
		var afters [n]time.Time
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Unix()
		for i := range afters {
			// A fixed multiplicative walk: deterministic, covers every
			// time of day and the DST days, no math/rand needed.
			afters[i] = time.Unix(base+int64(i)*308_027_557%(10*365*86400), 0).In(loc)
		}
		for _, e := range benchExprs {
			b.Run(loc.String()+"/"+e.name, func(b *testing.B) {
				s, err := compile.ParseIn(e.src, loc)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, ok := s.Next(afters[i%n]); !ok {
						b.Fatalf("%q: no fire time after %v", e.src, afters[i%n])
					}
					i++
				}
			})
		}
	}
}

// BenchmarkParse measures lexing, parsing and compiling one line, which is
// what loading a config costs per schedule.
func BenchmarkParse(b *testing.B) {
	for _, e := range []struct{ name, src string }{
		{"crontab", "5,35 */2 1-10 jan,jul *"},
		{"crontab-simple", "*/15 * * * *"},
		{"every", "every 10m every 1d @ 10:00-01:00"},
		{"every-offset", "every workday offset 8h30m"},
		{"macro", "@hourly"},
	} {
		b.Run(e.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compile.Parse(e.src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// everyExamples are the every-language lines of docs/language.md and
// service-manager.md that compile (the docs show some that do not, with
// their errors).
var everyExamples = []string{
	"every 10d", "every 10m @ 1m", "every 10m @ 2m", "every 10m @ 6m", "every 10m every 1d @ 01:00-10:00",
	"every 10m every 1d @ 10:00-01:00", "every 10m", "every 1d @ 01:00",
	"every 1d @ 02:30", "every 1d @ 04:15", "every 1d @ 10:00-11:00", "every 1h @ 0m, 10m, 20m, 40m, 50m",
	"every 1h @ 10m offset 5m", "every 1h @ 50m", "every 1h in Asia/Tokyo", "every 1m every 1d @ 01:00-02:00",
	"every 1m", "every 1w", "every 2d", "every 2h", "every 2w", "every 30m every monday @ 23:00-01:00",
	"every 30m", "every 5m offset 1m", "every 5m", "every 7d", "every 7m", "every monday every hour offset 30m",
	"every monday", "every month offset 2d8h30m", "every month offset 30d", "every month", "every week offset 2d12h",
	"every workday every 1d @ 04:15", "every workday offset 8h30m", "every year offset 59d", "@ 04:15",
}

// BenchmarkParseEvery measures each of the every-language examples.
func BenchmarkParseEvery(b *testing.B) {
	for _, src := range everyExamples {
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compile.Parse(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
