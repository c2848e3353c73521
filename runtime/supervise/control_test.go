package supervise

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/proc"
)

// state returns name's state as kopf status shows it.
func (ss *session) state(name string) control.Unit {
	ss.t.Helper()
	units, err := ss.s.Status()
	if err != nil {
		ss.t.Fatal(err)
	}
	for _, u := range units {
		if u.Name == name {
			return u
		}
	}
	ss.t.Fatalf("no %s in status", name)
	return control.Unit{}
}

func wantMsg(t *testing.T, what, got string, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestControlTrigger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			if argv[0] == "web" {
				return behaviour{}
			}
			return behaviour{run: 10 * time.Second}
		}}
		now := &config.Job{Unit: settings("now", "now")}
		idle := &config.Job{Unit: settings("idle", "idle")}
		idle.Idle = 5 * time.Second
		p := &config.Proc{Unit: settings("web", "web"), Backoff: []time.Duration{0}}
		ss := start(t, host, cfgOf([]*config.Job{idle, now}, []*config.Proc{p}), Options{})

		msg, err := ss.s.Trigger("now", []string{"a b"}, "control")
		wantMsg(t, "trigger now", msg, err, "started now now (pid 1002)")
		msg, err = ss.s.Trigger("now", nil, "control")
		wantMsg(t, "trigger while running", msg, err, "queued: now has been running since 2000-01-01T00:00:00Z (pid 1002); it runs again when that run ends")
		msg, err = ss.s.Trigger("idle", nil, "control")
		wantMsg(t, "trigger with idle", msg, err, "queued: triggered by control: runs at 2000-01-01T00:00:05Z")

		for _, tt := range []struct{ name, want string }{
			{"web", "web is a proc, not a job; kopf restart web restarts it"},
			{"nowx", `no job named "nowx" (did you mean "now"?)`},
		} {
			if _, err := ss.s.Trigger(tt.name, nil, "control"); err == nil || err.Error() != tt.want {
				t.Errorf("trigger %s: %v, want %q", tt.name, err, tt.want)
			}
		}
		ss.until(30)
		ss.stop()
		want := []string{"web@0", "now a b@0", "idle@5", "now@10"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestControlStopStartProc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{}
		p := &config.Proc{Unit: settings("web", "web"), Backoff: []time.Duration{0}}
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{})
		ss.until(5)
		msg, err := ss.s.Stop(context.Background(), "web")
		wantMsg(t, "stop", msg, err, "stopped web: pid 1001 ended by SIGTERM after 5s")
		ss.until(60)
		if got := ss.state("web"); got.State != control.Stopped || !got.Since.Equal(epoch.Add(5*time.Second)) {
			t.Errorf("status after stop = %+v, want stopped since 5s", got)
		}
		msg, err = ss.s.Stop(context.Background(), "web")
		wantMsg(t, "stop again", msg, err, "web is already stopped")
		msg, err = ss.s.Start("web")
		wantMsg(t, "start", msg, err, "started web (pid 1002)")
		msg, err = ss.s.Start("web")
		wantMsg(t, "start again", msg, err, "web is already running since 2000-01-01T00:01:00Z (pid 1002)")
		ss.stop()
		if diff := cmp.Diff([]string{"web@0", "web@60"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestControlRestartProcWaitsForTheOldOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{ignoreTerm: true} }}
		p := &config.Proc{Unit: settings("web", "web"), Backoff: []time.Duration{time.Minute}}
		p.StopTime = 3 * time.Second
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{})
		ss.until(1)
		msg, err := ss.s.Restart(context.Background(), "web")
		wantMsg(t, "restart", msg, err, "restarted web: pid 1001 ended, pid 1002 started")
		if got := time.Since(epoch); got != 4*time.Second {
			t.Errorf("restart returned at %v, want 4s: after the stop-time, with no backoff", got)
		}
		ss.stop()
	})
}

func TestControlStopStartJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: 2 * time.Second} }}
		j := &config.Job{Unit: settings("tick", "tick"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")}}
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{})
		ss.until(11)
		msg, err := ss.s.Stop(context.Background(), "tick")
		wantMsg(t, "stop a running job", msg, err, "stopped tick: pid 1001 ended by SIGTERM after 1s")
		ss.until(45) // fires at 20, 30, 40 do nothing
		if _, err := ss.s.Trigger("tick", nil, "control"); err == nil || !strings.Contains(err.Error(), "is stopped") {
			t.Errorf("trigger of a stopped job: %v", err)
		}
		if got := ss.state("tick"); got.State != control.Stopped || !got.NextFire.IsZero() {
			t.Errorf("status = %+v, want stopped without a next fire", got)
		}
		// A reload of the same config keeps it stopped.
		if _, err := ss.s.Reload(cfgOf([]*config.Job{j}, nil)); err != nil {
			t.Fatal(err)
		}
		ss.until(55)
		msg, err = ss.s.Start("tick")
		wantMsg(t, "start", msg, err, "started tick now (pid 1002)")
		ss.until(61) // and its schedule again
		ss.stop()
		want := []string{"tick@10", "tick@55", "tick@60"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestControlRestartJobNeverOverlaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Minute, ignoreTerm: true} }}
		j := &config.Job{Unit: settings("long", "long"), RunOnStart: true}
		j.StopTime = 2 * time.Second
		j.Idle = time.Hour // an operator's restart does not wait for idle
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{})
		ss.until(1)
		msg, err := ss.s.Restart(context.Background(), "long")
		wantMsg(t, "restart", msg, err, "restarted long: pid 1001 ended, pid 1002 started")
		ss.stop()
		if diff := cmp.Diff([]string{"long@0", "long@3"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestControlStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			switch argv[0] {
			case "crash":
				return behaviour{run: time.Second, code: 2}
			case "long":
				return behaviour{run: time.Hour}
			}
			return behaviour{run: time.Second}
		}}
		ny, _ := time.LoadLocation("America/New_York")
		sc := sched(t, "schedule", "every 1d @ 04:15")
		nightly := &config.Job{Unit: settings("nightly", "n"), Schedules: []config.Schedule{sc}}
		nightly.Location = ny
		nightly.Schedules[0].Compiled = mustCompileIn(t, "every 1d @ 04:15", ny)
		long := &config.Job{Unit: settings("long", "long"), RunOnStart: true}
		long.Ports = []string{"http", "admin"}
		crash := &config.Proc{Unit: settings("crash", "crash"), Backoff: []time.Duration{time.Minute}}
		ss := start(t, host, cfgOf([]*config.Job{long, nightly}, []*config.Proc{crash}), Options{})
		ss.until(5)
		if _, err := ss.s.Trigger("long", []string{"x"}, "control"); err != nil {
			t.Fatal(err)
		}
		units, err := ss.s.Status()
		if err != nil {
			t.Fatal(err)
		}
		// The running job's ports, by name: free ports, different.
		if p := units[1].Ports; len(p) != 2 || p["http"] <= 0 || p["admin"] <= 0 || p["http"] == p["admin"] {
			t.Errorf("long's ports = %v, want http and admin", p)
		}
		units[1].Ports = nil
		code := 2
		want := []control.Unit{
			{Name: "crash", Kind: "proc", State: control.BackingOff, Since: epoch.Add(time.Second), RestartAt: epoch.Add(61 * time.Second),
				LastExit: &control.Exit{Code: &code, At: epoch.Add(time.Second)}},
			{Name: "long", Kind: "job", State: control.Running, PID: 1001, Since: epoch, Zone: "UTC",
				Queued: []string{"triggered by control"}},
			{Name: "nightly", Kind: "job", State: control.Waiting, Since: epoch, Zone: "America/New_York",
				NextFire: time.Date(2000, 1, 1, 4, 15, 0, 0, ny)},
		}
		if diff := cmp.Diff(want, units); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
		if got := units[2].NextFire.Location().String(); got != "America/New_York" {
			t.Errorf("next fire in %s, want the job's zone", got)
		}
		ss.stop()
	})
}

func TestControlNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &config.Job{Unit: settings("j", "j"), Schedules: []config.Schedule{sched(t, "schedule", "every 1h"), sched(t, "cron", "30 * * * *"), sched(t, "cron", "0 */2 * * *")}}
		bare := &config.Job{Unit: settings("bare", "b"), Period: time.Hour}
		ss := start(t, &fakeHost{}, cfgOf([]*config.Job{bare, j}, []*config.Proc{{Unit: settings("p", "p")}}), Options{})
		times, err := ss.s.Next("j", 4)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, at := range times {
			got = append(got, at.Format("15:04"))
		}
		if diff := cmp.Diff([]string{"00:30", "01:00", "01:30", "02:00"}, got); diff != "" {
			t.Errorf("next (-want +got):\n%s", diff)
		}
		for name, want := range map[string]string{
			"bare": "job bare has no schedule; it runs on its period or on triggers",
			"p":    "p is a proc, not a job; kopf restart p restarts it",
		} {
			if _, err := ss.s.Next(name, 1); err == nil || err.Error() != want {
				t.Errorf("next %s: %v, want %q", name, err, want)
			}
		}
		ss.stop()
	})
}

func mustCompileIn(t *testing.T, src string, loc *time.Location) *compile.Schedule {
	t.Helper()
	s, err := compile.ParseIn(src, loc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestKeptProcesses: kopf status lists what a job's ended runs left
// running (leftovers "keep") under the job, and kopf stop ends it, also
// when the job itself is not running.
func TestKeptProcesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{kept: []proc.KeptRun{
			{Label: "job-cron", Run: "job-cron@3", Processes: []proc.Found{{PID: 77, Command: "prog --daemon"}}},
			{Label: "job-gone", Run: "job-gone@1", Processes: []proc.Found{{PID: 88, Command: "x"}}},
		}}
		j := &config.Job{Unit: settings("cron", "cron")}
		j.StopTime = 3 * time.Second
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{})
		units, err := ss.s.Status()
		if err != nil {
			t.Fatal(err)
		}
		want := []control.Kept{{PID: 77, Command: "prog --daemon", Run: "job-cron@3"}}
		if len(units) != 1 {
			t.Fatalf("%d units", len(units))
		}
		if diff := cmp.Diff(want, units[0].Kept); diff != "" {
			t.Errorf("status's kept processes (-want +got):\n%s", diff)
		}
		msg, err := ss.s.Stop(context.Background(), "cron")
		if err != nil {
			t.Fatal(err)
		}
		if want := `stopped cron (it was not running); stopped 1 process its earlier runs left running (leftovers "keep")`; msg != want {
			t.Errorf("kopf stop says %q, want %q", msg, want)
		}
		host.mu.Lock()
		if diff := cmp.Diff([]string{"job-cron 3s"}, host.stopsKept); diff != "" {
			t.Errorf("StopKept calls (-want +got):\n%s", diff)
		}
		host.mu.Unlock()
		if units, _ := ss.s.Status(); len(units[0].Kept) != 0 {
			t.Errorf("kept processes listed after kopf stop: %+v", units[0].Kept)
		}
		ss.stop()
	})
}
