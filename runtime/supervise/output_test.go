package supervise

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

// TestLogOutputMax: a run's output reaches kopf's log until its cost —
// each line's bytes and its record's — reaches log-output-max; then one
// line says the rest is cut, the run's end says how much, and its exited
// event counts the bytes. Empty lines are bounded as surely as long ones;
// the next run has its own budget; without a cap everything is logged.
func TestLogOutputMax(t *testing.T) {
	long := strings.Repeat("x", 100)
	cases := []struct {
		name     string
		max      int64 // Extra.LogMax: 0 the default, -1 none
		lines    []string
		logged   int // lines that reach the log
		cutBytes int64
	}{
		// Each line costs its bytes and 96+4+4 for its record (unit and
		// title "talk"): 204 for a long one, 104 for an empty one.
		{"long lines", 1000, repeat(long, 20), 4, 16 * 101},
		{"empty lines", 1000, repeat("", 500), 9, 491},
		{"no bound", -1, repeat(long, 20), 20, 0},
		{"under the default", 0, repeat(long, 20), 20, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second, output: c.lines} }}
				j := &config.Job{Unit: settings("talk", "talk"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")}}
				j.LogOutput = true
				if c.max != 0 {
					j.Extra = &config.Extra{LogMax: c.max}
				}
				var got events
				ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Events: got.record})
				ss.until(25) // two runs, at 10 and 20
				ss.stop()
				logs := ss.logs.String()
				if n := strings.Count(logs, `msg="talk: `+c.lines[0]+`"`); n != 2*c.logged {
					t.Errorf("%d output lines logged in two runs, want %d each:\n%s", n, c.logged, logs)
				}
				var cuts []int64
				for _, ev := range got {
					if ev.Type == journal.Exited {
						cuts = append(cuts, ev.OutputCut)
					}
				}
				if fmt.Sprint(cuts) != fmt.Sprint([]int64{c.cutBytes, c.cutBytes}) {
					t.Errorf("exited events' output_cut = %v, want %d for each run", cuts, c.cutBytes)
				}
				warned := strings.Count(logs, "beyond log-output-max") // at the cut and at the end
				if want := 0; c.cutBytes > 0 {
					want = 4
					if !strings.Contains(logs, fmt.Sprintf("talk: %s of output in %d lines were not logged", bytesText(c.cutBytes), len(c.lines)-c.logged)) {
						t.Errorf("no line says how much was cut:\n%s", logs)
					}
					if warned != want {
						t.Errorf("%d lines about the cap, want 2 a run:\n%s", warned, logs)
					}
				} else if warned != want {
					t.Errorf("%d lines about the cap without a cut:\n%s", warned, logs)
				}
			})
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
