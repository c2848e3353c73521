package supervise

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// The restart policy itself is tested in runtime/restart; these tests check
// that the loop acts on its decisions.

func TestMissingCommandIsSaidOnceAndRetriedSlowly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		missing := fmt.Errorf("proc: start %q: %w", "nosuch", exec.ErrNotFound)
		host := &fakeHost{how: func([]string) behaviour { return behaviour{startErr: missing} }}
		p := &config.Proc{Unit: settings("web", "nosuch"), Backoff: []time.Duration{0, 5 * time.Second}}
		var got events
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{Events: got.record})
		ss.until(150)
		st, err := ss.s.Status()
		if err != nil {
			t.Fatal(err)
		}
		ss.stop()
		var tries []string
		for _, ev := range got {
			if ev.Type == journal.SpawnError {
				tries = append(tries, fmt.Sprint(ev.Time.Sub(epoch).Seconds()))
			}
		}
		// Every try is journaled; they are a minute apart, not the backoff's 0s and 5s.
		if diff := cmp.Diff([]string{"0", "60", "120"}, tries); diff != "" {
			t.Errorf("start attempts (-want +got):\n%s", diff)
		}
		var errors int
		for _, line := range strings.Split(ss.logs.String(), "\n") {
			if strings.Contains(line, "level=ERROR") && strings.Contains(line, "start web failed") {
				errors++
			}
		}
		if errors != 1 {
			t.Errorf("the start error is logged as an error %d times, want once:\n%s", errors, ss.logs)
		}
		if len(st) != 1 || !st[0].RestartAt.Equal(epoch.Add(180*time.Second)) {
			t.Errorf("status %+v: want the next try at 180s", st)
		}
	})
}

func TestRestartJitterSpreadsProcsThatDieTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second, code: 1} }}
		a := &config.Proc{Unit: settings("a", "a"), Backoff: []time.Duration{4 * time.Second}}
		b := &config.Proc{Unit: settings("b", "b"), Backoff: []time.Duration{4 * time.Second}}
		draws := []float64{0.5, 0.1}
		rnd := func() float64 {
			x := draws[0]
			draws = append(draws[1:], x)
			return x
		}
		ss := start(t, host, cfgOf(nil, []*config.Proc{a, b}), Options{RestartJitter: 0.25, Rand: rnd})
		ss.until(5.8)
		ss.stop()
		// Both exit at 1. Whichever's exit is handled first draws 0.5 and
		// waits 4s + 0.5*0.25*4s; the other 4s + 0.1*0.25*4s.
		var restarts []string
		for _, s := range host.startsOf()[2:] {
			_, at, _ := strings.Cut(s, "@")
			restarts = append(restarts, at)
		}
		slices.Sort(restarts)
		if diff := cmp.Diff([]string{"5.1", "5.5"}, restarts); diff != "" {
			t.Errorf("restart seconds (-want +got):\n%s", diff)
		}
		if !strings.Contains(ss.logs.String(), "backoff 4s after 1s up (a short run: under 10s), +500ms jitter") {
			t.Errorf("the log does not give the jitter:\n%s", ss.logs)
		}
	})
}

func TestJobRetryFollowsTheRestartPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second, code: 2} }}
		j := &config.Job{Unit: settings("j", "j"), RunOnStart: true, MaxFailures: 2, Backoff: []time.Duration{10 * time.Second}}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Events: got.record})
		ss.until(30)
		st, _ := ss.s.Status()
		ss.stop()
		// Runs at 0, retried at 11 and 22; the third failure gives up.
		if diff := cmp.Diff([]string{"j@0", "j@11", "j@22"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		var decisions []string
		for _, ev := range got {
			if ev.Type == journal.Retry || ev.Type == journal.GaveUp {
				decisions = append(decisions, fmt.Sprintf("%s %d", ev.Type, ev.Count))
			}
		}
		if diff := cmp.Diff([]string{"retry 1", "retry 2", "gave_up 3"}, decisions); diff != "" {
			t.Errorf("decisions (-want +got):\n%s", diff)
		}
		if len(st) != 1 || st[0].State != control.Failed {
			t.Errorf("status %+v, want failed", st)
		}
	})
}

func TestStoppedJobIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second, code: 2} }}
		j := &config.Job{Unit: settings("j", "j"), RunOnStart: true, MaxFailures: 3, Backoff: []time.Duration{10 * time.Second}}
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{})
		ss.until(2) // failed at 1; the retry waits for 11
		if _, err := ss.s.Stop(t.Context(), "j"); err != nil {
			t.Fatal(err)
		}
		ss.until(15)
		st, _ := ss.s.Status()
		ss.stop()
		if diff := cmp.Diff([]string{"j@0"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if len(st) != 1 || st[0].State != control.Stopped || !st[0].RestartAt.IsZero() {
			t.Errorf("status %+v, want stopped with no retry waiting", st)
		}
	})
}

func TestReloadFromJobToProcOfTheSameName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour { return behaviour{ignoreTerm: argv[0] == "old"} }}
		old := &config.Job{Unit: settings("x", "old"), RunOnStart: true}
		old.StopTime = 3 * time.Second
		ss := start(t, host, cfgOf([]*config.Job{old}, nil), Options{})
		ss.until(1)
		sum, err := ss.s.Reload(cfgOf(nil, []*config.Proc{{Unit: settings("x", "new")}}))
		if err != nil || len(sum.Restarted) != 1 {
			t.Fatalf("reload: %v, %+v; want x restarted", err, sum)
		}
		ss.until(10)
		st, _ := ss.s.Status()
		ss.stop()
		// The job's run ignores SIGTERM and dies at 4; only then does the proc start.
		if diff := cmp.Diff([]string{"old@0", "new@4"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if len(st) != 1 || st[0].Kind != "proc" || st[0].State != control.Running {
			t.Errorf("status %+v, want one running proc", st)
		}
	})
}
