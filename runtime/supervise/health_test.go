package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// probes answers HTTP health checks from a script: healthy until the
// given second since the epoch, then unhealthy; it records the URLs.
type probes struct {
	mu        sync.Mutex
	sickFrom  float64 // seconds; 0 = always healthy
	sickUntil float64 // seconds; 0 = for ever
	urls      []string
	checkedAt []float64
}

func (p *probes) probe(ctx context.Context, url string, timeout time.Duration, body string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Since(epoch).Seconds()
	p.urls = append(p.urls, url)
	p.checkedAt = append(p.checkedAt, now)
	if p.sickFrom > 0 && now >= p.sickFrom && (p.sickUntil == 0 || now < p.sickUntil) {
		return errors.New("status 503")
	}
	return nil
}

func checkedProc(name string, h config.Health) *config.Proc {
	p := &config.Proc{Unit: settings(name, name, "--port", "{{ports[health]}}"), Backoff: []time.Duration{5 * time.Second}}
	p.Ports = []string{"health"}
	h.HTTP = "http://127.0.0.1:{{ports[health]}}/health"
	p.Health = &h
	return p
}

func TestHealthRestartsAfterMaxConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr := &probes{sickFrom: 35}
		host := &fakeHost{}
		p := checkedProc("web", config.Health{Interval: 10 * time.Second, Timeout: time.Second, InitialInterval: 15 * time.Second,
			MaxConsecutiveFailures: 1, MinConsecutiveSuccesses: 1})
		var got events
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{HTTPProbe: pr.probe, Events: got.record})
		ss.until(25)
		if st := ss.state("web"); st.Health != "healthy" || st.LastCheck == nil || st.LastCheck.Error != "" {
			t.Errorf("status after two good checks = %+v", st)
		}
		ss.until(70)
		ss.stop()
		// Checks at 10, 20 (healthy), 30 ok, 40 fails, 50 fails: two in a row
		// is more than max-consecutive-failures 1, so the proc is stopped at
		// 50 and restarts after its backoff (5s), a crash like any other.
		if diff := cmp.Diff([]float64{10, 20, 30, 40, 50, 65}, pr.checkedAt); diff != "" {
			t.Errorf("checks at (-want +got):\n%s", diff)
		}
		starts := host.startsOf()
		if len(starts) != 2 || !strings.HasSuffix(starts[1], "@55") {
			t.Errorf("starts = %q, want a restart at 55", starts)
		}
		// The port in the command and in the check's URL is the run's.
		port := regexp.MustCompile(`--port (\d+)@0`).FindStringSubmatch(starts[0])
		if port == nil || pr.urls[0] != "http://127.0.0.1:"+port[1]+"/health" {
			t.Errorf("start %q and check URL %q do not share the port", starts[0], pr.urls[0])
		}
		var health []string
		for _, ev := range got {
			if ev.Type == journal.Health {
				health = append(health, fmt.Sprintf("%g %s", ev.Time.Sub(epoch).Seconds(), ev.Action))
			}
			if ev.Type == journal.Exited && ev.PID == 1001 && ev.StoppedBy != "unhealthy" {
				t.Errorf("exit stopped by %q, want unhealthy", ev.StoppedBy)
			}
		}
		if diff := cmp.Diff([]string{"10 healthy", "40 failed", "50 restart", "65 failed"}, health); diff != "" {
			t.Errorf("health events (-want +got):\n%s", diff)
		}
	})
}

// TestHealthJournalsChanges: with a check every second, thirty failed
// checks in a row are one journal line, and the pass that ends them
// another, each with the checks it stands for.
func TestHealthJournalsChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr := &probes{sickFrom: 9.5, sickUntil: 39.5}
		p := checkedProc("web", config.Health{Interval: time.Second, Timeout: time.Second, InitialInterval: time.Second,
			MaxConsecutiveFailures: 100, MinConsecutiveSuccesses: 1})
		var got events
		ss := start(t, &fakeHost{}, cfgOf(nil, []*config.Proc{p}), Options{HTTPProbe: pr.probe, Events: got.record})
		ss.until(60)
		ss.stop()
		var health []string
		for _, ev := range got {
			if ev.Type == journal.Health {
				health = append(health, fmt.Sprintf("%g %s %d: %s", ev.Time.Sub(epoch).Seconds(), ev.Action, ev.Count, ev.Reason))
			}
		}
		want := []string{
			"1 healthy 1: healthy after 1 check",
			"10 failed 9: health check 10 failed (1 in a row, max-consecutive-failures 100): status 503",
			"40 healthy 30: health check 40 passed after 30 failed checks",
		}
		if diff := cmp.Diff(want, health); diff != "" {
			t.Errorf("health events (-want +got):\n%s", diff)
		}
	})
}

func TestHealthGraceAndFailedToStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr := &probes{sickFrom: 0.001} // never healthy
		host := &fakeHost{}
		// m = ceil(25/10) = 3 checks of grace, then max 1 failure, min 1
		// success: not healthy within n = 3 + 1 + 1 = 5 checks → restart.
		// The consecutive failures outside grace reach 2 > 1 at check 5 too.
		p := checkedProc("slow", config.Health{Interval: 10 * time.Second, Timeout: time.Second, InitialInterval: 25 * time.Second,
			MaxConsecutiveFailures: 1, MinConsecutiveSuccesses: 1})
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{HTTPProbe: pr.probe})
		ss.until(45)
		if got := len(host.startsOf()); got != 1 {
			t.Errorf("restarted within the grace period and the tolerated failure: %d starts", got)
		}
		ss.until(52)
		ss.stop()
		if got := host.stops; len(got) == 0 || got[0] != "1001@50" {
			t.Errorf("stops = %q, want the first process stopped at 50", got)
		}
	})
}

func TestHealthSnoozeFile(t *testing.T) {
	dir := t.TempDir()
	snooze := filepath.Join(dir, ".healthchecksnooze")
	synctest.Test(t, func(t *testing.T) {
		pr := &probes{sickFrom: 15}
		host := &fakeHost{}
		p := checkedProc("web", config.Health{Interval: 10 * time.Second, Timeout: time.Second, MinConsecutiveSuccesses: 1})
		p.Dir = dir
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{HTTPProbe: pr.probe})
		ss.until(12)
		if err := os.WriteFile(snooze, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		ss.until(45)
		if st := ss.state("web"); st.Health != "snoozed" || st.State != control.Running {
			t.Errorf("status while snoozed = %+v", st)
		}
		if err := os.Remove(snooze); err != nil {
			t.Fatal(err)
		}
		ss.until(55)
		ss.stop()
		// Checked at 10; at 20, 30, 40 the snooze file is there: no check,
		// no restart though the server is sick; at 50 checks resume, fail,
		// and the proc restarts.
		if diff := cmp.Diff([]float64{10, 50}, pr.checkedAt); diff != "" {
			t.Errorf("checks at (-want +got):\n%s", diff)
		}
		if got := host.stops; len(got) == 0 || got[0] != "1001@50" {
			t.Errorf("stops = %q, want the first at 50", got)
		}
	})
}

func TestHealthCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		checks := 0
		host := &fakeHost{how: func(argv []string) behaviour {
			if argv[0] != "check" {
				return behaviour{}
			}
			checks++
			if checks >= 3 {
				return behaviour{run: 100 * time.Millisecond, code: 1}
			}
			return behaviour{run: 100 * time.Millisecond}
		}}
		p := &config.Proc{Unit: settings("db", "db"), Backoff: []time.Duration{time.Minute},
			Health: &config.Health{Command: []string{"check", "--port", "{{ports[db]}}"}, Interval: 10 * time.Second, Timeout: time.Second, MinConsecutiveSuccesses: 1}}
		p.Ports = []string{"db"}
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{})
		ss.until(32)
		ss.stop()
		if got := host.stops; len(got) == 0 || !strings.HasPrefix(got[0], "1001@30.") {
			t.Errorf("stops = %q, want db stopped after its third check at 30s", got)
		}
		for _, s := range host.startsOf() {
			if strings.HasPrefix(s, "check") && strings.Contains(s, "{{") {
				t.Errorf("check command not expanded: %q", s)
			}
		}
	})
}
