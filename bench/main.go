// Command bench measures kopf's Next against robfig/cron, hashicorp/cronexpr
// and adhocore/gronx on the same crontab lines, in the same run, in UTC and
// in America/New_York, after checking that every peer gives the same answers
// as kopf. It prints Markdown tables for docs/performance.md.
//
//	go run . -benchtime 500ms -count 5
//
// It is its own module so that the peers never enter kopf's go.mod.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// exprs are the crontab lines measured: frequent, daily, cron's day OR
// rule, weekday names, a rare one (every four years), lists, steps and month
// names, and a macro. compile/bench_test.go measures the same lines (and
// every-language ones no peer can read) in kopf alone.
var exprs = []string{
	"* * * * *",
	"*/15 * * * *",
	"0 0 * * *",
	"30 4 1,15 * 5",
	"0 9 * * mon-fri",
	"0 0 29 2 *",
	"5,35 */2 1-10 jan,jul *",
	"@hourly",
}

var parseExprs = []string{"*/15 * * * *", "5,35 */2 1-10 jan,jul *", "@hourly"}

// cell is one library's figures on one expression in one zone; err is set
// when the library was not measured because it disagreed with kopf or could
// not read the line.
type cell struct {
	ns     float64 // median ns/op over the runs
	allocs int64
	err    error
	later  error // a disagreement past the measured range, which does not stop the measurement
}

// The benchmarks walk fire times from start to horizon. Answers are also
// compared up to checkHorizon, to report peers that go wrong later; the
// measured range stops before 2100, the first non-leap century year, where
// a four-year gap between 29 Februaries becomes eight.
var (
	benchStart   = func(loc *time.Location) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, loc) }
	benchHorizon = func(loc *time.Location) time.Time { return time.Date(2096, 1, 1, 0, 0, 0, 0, loc) }
	checkHorizon = func(loc *time.Location) time.Time { return time.Date(2200, 1, 1, 0, 0, 0, 0, loc) }
)

func main() {
	testing.Init()
	benchtime := flag.Duration("benchtime", 500*time.Millisecond, "target run time of each benchmark")
	count := flag.Int("count", 5, "runs of each benchmark; the table shows the median")
	flag.Parse()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := os.Stdout
	header(w, *benchtime, *count)
	var notes, later []string
	for _, loc := range []*time.Location{time.UTC, ny} {
		n, l := nextTable(w, loc, measureZone(loc, *count))
		notes, later = append(notes, n...), append(later, l...)
	}
	list(w, "Not measured: the peer disagreed with kopf between 2026 and 2096, or refused the line", notes)
	list(w, "Measured, but the peer disagrees with kopf later, before 2200", later)
	parseTable(w, *count)
}

func header(w io.Writer, benchtime time.Duration, count int) {
	fmt.Fprintf(w, "%s %s/%s, %d CPUs, GOMAXPROCS %d", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(w, ", load average %s", strings.Join(strings.Fields(string(b))[:3], " "))
	}
	fmt.Fprintf(w, "; median of %d runs of %s each\n", count, benchtime)
}

// measureZone checks and then benchmarks every library on every expression
// in loc. Runs are interleaved (all libraries, then all again) so that a
// burst of load on the shared machine hits every library alike.
func measureZone(loc *time.Location, count int) [][]cell {
	start, horizon := benchStart(loc), benchHorizon(loc)
	libs := append([]lib{kopf}, peers...)
	rows := make([][]cell, len(exprs))
	for i, expr := range exprs {
		fns := make([]nextFunc, len(libs))
		rows[i] = make([]cell, len(libs))
		for j, l := range libs {
			fn, err := l.parse(expr, loc)
			if err != nil {
				rows[i][j].err = err
				continue
			}
			if j > 0 {
				if err := agree(fns[0], fn, loc, horizon); err != nil {
					rows[i][j].err = err
					continue
				}
				rows[i][j].later = agree(fns[0], fn, loc, checkHorizon(loc))
			}
			fns[j] = fn
		}
		runs := make([][]float64, len(libs))
		for range count {
			for j, fn := range fns {
				if fn == nil {
					continue
				}
				r := testing.Benchmark(walk(fn, start, horizon))
				runs[j] = append(runs[j], float64(r.T.Nanoseconds())/float64(r.N))
				rows[i][j].allocs = r.AllocsPerOp()
			}
		}
		for j := range libs {
			if len(runs[j]) > 0 {
				rows[i][j].ns = median(runs[j])
			}
		}
	}
	return rows
}

// walk benchmarks next as a scheduler calls it: each answer is the next
// question, restarting from start once past horizon, so no library can
// answer from a cache of its last result.
func walk(next nextFunc, start, horizon time.Time) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		t := start
		for b.Loop() {
			n, ok := next(t)
			if !ok || n.After(horizon) {
				n = start
			}
			t = n
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// nextTable prints one zone's figures and returns notes on the cells that
// were not measured.
func nextTable(w io.Writer, loc *time.Location, rows [][]cell) (notes, later []string) {
	libs := append([]lib{kopf}, peers...)
	fmt.Fprintf(w, "\n### Next, %s (ns/op, allocs/op; ×: peer ns ÷ kopf ns)\n\n", loc)
	fmt.Fprint(w, "| expression |")
	for _, l := range libs {
		fmt.Fprintf(w, " %s |", l.name)
	}
	for _, l := range peers {
		fmt.Fprintf(w, " × %s |", l.name)
	}
	fmt.Fprintln(w, " × fastest peer |")
	fmt.Fprintln(w, "|---|"+strings.Repeat("---:|", 2*len(libs)))
	for i, expr := range exprs {
		fmt.Fprintf(w, "| `%s` |", expr)
		for j, c := range rows[i] {
			if c.err != nil {
				fmt.Fprint(w, " differs |")
				notes = append(notes, fmt.Sprintf("%s, `%s`, %s: %v", libs[j].name, expr, loc, c.err))
				continue
			}
			fmt.Fprintf(w, " %s / %d |", ns(c.ns), c.allocs)
			if c.later != nil {
				later = append(later, fmt.Sprintf("%s, `%s`, %s: %v", libs[j].name, expr, loc, c.later))
			}
		}
		k := rows[i][0]
		fastest := 0.0
		for _, c := range rows[i][1:] {
			if c.err != nil || k.err != nil {
				fmt.Fprint(w, " – |")
				continue
			}
			fmt.Fprintf(w, " %.1f |", c.ns/k.ns)
			if fastest == 0 || c.ns < fastest {
				fastest = c.ns
			}
		}
		if fastest == 0 {
			fmt.Fprintln(w, " – |")
		} else {
			fmt.Fprintf(w, " %.1f |\n", fastest/k.ns)
		}
	}
	return notes, later
}

func list(w io.Writer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s:\n\n", title)
	for _, it := range items {
		fmt.Fprintln(w, "- "+it)
	}
}

func ns(x float64) string {
	if x >= 1000 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// parseTable measures turning a line into a schedule, per library.
func parseTable(w io.Writer, count int) {
	names := []string{"kopf"}
	for _, p := range peers {
		names = append(names, p.name)
	}
	fmt.Fprintln(w, "\n### Parse + compile (µs/op, allocs/op; gronx: IsValid, it has no compiled form)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| expression | "+strings.Join(names, " | ")+" |")
	fmt.Fprintln(w, "|---|"+strings.Repeat("---:|", len(names)))
	for _, expr := range parseExprs {
		runs := make([][]float64, len(names))
		allocs := make([]int64, len(names))
		for range count { // interleaved, as in measureZone
			for j, name := range names {
				parse := parseOnly[name]
				r := testing.Benchmark(func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := parse(expr); err != nil {
							b.Fatal(err)
						}
					}
				})
				runs[j] = append(runs[j], float64(r.T.Nanoseconds())/float64(r.N)/1000)
				allocs[j] = r.AllocsPerOp()
			}
		}
		fmt.Fprintf(w, "| `%s` |", expr)
		for j := range names {
			fmt.Fprintf(w, " %.2f / %d |", median(runs[j]), allocs[j])
		}
		fmt.Fprintln(w)
	}
}
