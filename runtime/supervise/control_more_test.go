package supervise

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
)

func TestControlUnknownNames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &config.Proc{Unit: settings("web", "web")}
		j := &config.Job{Unit: settings("tick", "tick")}
		ss := start(t, &fakeHost{}, cfgOf([]*config.Job{j}, []*config.Proc{p}), Options{})
		want := `no job or proc named "wbe" (did you mean "web"?)`
		if _, err := ss.s.Start("wbe"); err == nil || err.Error() != want {
			t.Errorf("Start: %v, want %q", err, want)
		}
		if _, err := ss.s.Stop(context.Background(), "wbe"); err == nil || err.Error() != want {
			t.Errorf("Stop: %v, want %q", err, want)
		}
		if _, err := ss.s.Restart(context.Background(), "wbe"); err == nil || err.Error() != want {
			t.Errorf("Restart: %v, want %q", err, want)
		}
		if err := ss.s.Known("tick"); err != nil {
			t.Errorf("Known(tick) = %v", err)
		}
		if err := ss.s.Known("web"); err == nil || err.Error() != "web is a proc, not a job; kopf restart web restarts it" {
			t.Errorf("Known(web) = %v", err)
		}
		if err := ss.s.Movable("web"); err == nil || err.Error() != "this kopf is not in a cluster" {
			t.Errorf("Movable(web) without a cluster = %v", err)
		}
		ss.stop()
		if _, err := ss.s.Start("web"); err != ErrStopped {
			t.Errorf("Start after the end: %v, want ErrStopped", err)
		}
	})
}

func TestControlStopThatDoesNotEndInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{ignoreTerm: true} }}
		api := &config.Proc{Unit: settings("api", "api")}
		web := &config.Proc{Unit: settings("web", "web")}
		ss := start(t, host, cfgOf(nil, []*config.Proc{api, web}), Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := ss.s.Stop(ctx, "web")
		if err == nil || err.Error() != "web (pid 1002) has not ended yet: context deadline exceeded" {
			t.Errorf("Stop past its context: %v", err)
		}
		if st := ss.state("web"); st.State != control.Stopping || st.PID != 1002 {
			t.Errorf("status while SIGKILL waits: %+v, want stopping", st)
		}
		// Removed from the config while a Stop waits: the answer cannot
		// say how it ended, only that it did.
		answer := make(chan string, 1)
		go func() {
			msg, err := ss.s.Stop(context.Background(), "api")
			if err != nil {
				msg = err.Error()
			}
			answer <- msg
		}()
		synctest.Wait()
		sum, err := ss.s.Reload(cfgOf(nil, []*config.Proc{web}))
		if err != nil {
			t.Fatal(err)
		}
		if got := sum.String(); got != "0 restarted, 1 stopped (api), 0 started, 1 kept" {
			t.Errorf("reload summary = %q", got)
		}
		ss.until(20)
		if got := <-answer; got != "stopped api (pid 1001)" {
			t.Errorf("Stop of a unit removed meanwhile = %q", got)
		}
		ss.stop()
	})
}

func TestControlRestartWhoseNewStartFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		starts := 0
		host := &fakeHost{how: func([]string) behaviour {
			if starts++; starts > 1 {
				return behaviour{startErr: errNoSuchFile}
			}
			return behaviour{}
		}}
		p := &config.Proc{Unit: settings("web", "web"), Backoff: []time.Duration{time.Minute}}
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{})
		ss.until(1)
		msg, err := ss.s.Restart(context.Background(), "web")
		wantMsg(t, "restart", msg, err, "restarted web: pid 1001 ended; the new run waits (see kopf status)")
		msg, err = ss.s.Stop(context.Background(), "web")
		wantMsg(t, "stop", msg, err, "stopped web (it was not running)")
		msg, err = ss.s.Restart(context.Background(), "web")
		wantMsg(t, "restart of a stopped proc", msg, err, "web could not restart; kopf tries again at 2000-01-01T00:01:01Z (see kopf's log)")
		ss.stop()
	})
}

func TestControlJobStartAndStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			switch argv[0] {
			case "fail":
				return behaviour{run: time.Second, code: 1}
			case "missing":
				return behaviour{startErr: errNoSuchFile}
			}
			return behaviour{run: 10 * time.Second}
		}}
		long := &config.Job{Unit: settings("long", "long")}
		fan := &config.Job{Unit: settings("fan"), Triggers: []config.Trigger{{Job: "nope"}}}
		fail := &config.Job{Unit: settings("fail", "fail"), MaxFailures: 3, Backoff: []time.Duration{30 * time.Second}}
		idle := &config.Job{Unit: settings("idle", "idle")}
		idle.Idle = time.Minute
		broken := &config.Job{Unit: settings("broken", "missing")}
		ss := start(t, host, cfgOf([]*config.Job{broken, fail, fan, idle, long}, nil), Options{})

		msg, err := ss.s.Start("long")
		wantMsg(t, "start", msg, err, "started long now (pid 1001)")
		msg, err = ss.s.Start("long")
		wantMsg(t, "start again", msg, err, "long is already running since 2000-01-01T00:00:00Z (pid 1001)")
		msg, err = ss.s.Start("fan")
		wantMsg(t, "start of a job without a command", msg, err, "ran fan now: it has no command and only triggers other jobs")
		msg, err = ss.s.Start("broken")
		wantMsg(t, "start of a missing command", msg, err, "broken could not start; see kopf's log")
		if _, err := ss.s.Trigger("idle", nil, "control"); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.s.Start("fail"); err != nil {
			t.Fatal(err)
		}
		ss.until(5)
		for _, c := range []struct {
			name, state string
			restartAt   time.Duration
		}{
			{"fail", control.Retrying, 31 * time.Second},
			{"idle", control.Queued, 0},
			{"broken", control.Waiting, 0},
		} {
			st := ss.state(c.name)
			if st.State != c.state || st.RestartAt.Sub(epoch) != c.restartAt && c.restartAt > 0 {
				t.Errorf("%s: %+v, want %s, restart at %v", c.name, st, c.state, c.restartAt)
			}
		}
		ss.stop()
		if !strings.Contains(ss.logs.String(), "fan cannot trigger nope: no such job") {
			t.Errorf("a trigger of an unknown job is not logged:\n%s", ss.logs)
		}
		if diff := cmp.Diff([]string{"long@0", "fail@0"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}
