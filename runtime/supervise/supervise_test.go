package supervise

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

// session runs a supervisor on cfg inside the current synctest bubble.
type session struct {
	t      *testing.T
	s      *Supervisor
	host   *fakeHost
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, host *fakeHost, cfg *config.Config, opts Options) *session {
	t.Helper()
	logs := &logBuffer{}
	opts.Host, opts.Logger = host, newLogger(logs)
	if opts.Environ == nil {
		opts.Environ = []string{"PATH=/bin"}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ss := &session{t: t, s: New(opts), host: host, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { ss.done <- ss.s.Run(ctx, cfg) }()
	synctest.Wait()
	return ss
}

// until lets the bubble's clock run to the given second since the start.
func (ss *session) until(sec float64) {
	d := time.Duration(sec*float64(time.Second)) - time.Since(epoch)
	time.Sleep(d)
	synctest.Wait()
}

// stop cancels the supervisor and waits for Run to return.
func (ss *session) stop() {
	ss.cancel()
	if err := <-ss.done; err != nil {
		ss.t.Errorf("Run returned %v", err)
	}
}

func TestJobNeverRunsTwiceAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: 25 * time.Second} }}
		j := &config.Job{Unit: settings("work", "work"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")}}
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{})
		ss.until(61)
		ss.stop()
		// Fires at 20 and 30 land while the first run (10..35) runs: one run
		// at 35. Fires at 40 and 50 queue behind it; it ends at 60, which is
		// also a fire: one run at 60.
		want := []string{"work@10", "work@35", "work@60"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if !strings.Contains(ss.logs.String(), `start work: schedule \"every 10s\" fired at 2000-01-01T00:00:20Z; schedule \"every 10s\" fired at 2000-01-01T00:00:30Z`) {
			t.Errorf("the log does not say why the second run started:\n%s", ss.logs)
		}
	})
}

func TestTriggersCarryArgumentsInArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			if argv[0] == "long" {
				return behaviour{run: 10 * time.Second}
			}
			return behaviour{run: time.Second}
		}}
		a := &config.Job{Unit: settings("a", "a"), RunOnStart: true,
			Triggers: []config.Trigger{{Job: "b", Args: []string{"ignored by b: b has no command"}}}}
		b := &config.Job{Unit: settings("b"), Triggers: []config.Trigger{{Job: "c", Args: []string{"from b"}}}}
		c := &config.Job{Unit: settings("c", "c")}
		long := &config.Job{Unit: settings("long", "long"), RunOnStart: true}
		ss := start(t, host, cfgOf([]*config.Job{a, b, c, long}, nil), Options{})
		for i, arg := range []string{"1", "2 two", "3;three"} {
			ss.until(float64(2 + i))
			if _, err := ss.s.Trigger("long", []string{arg}, "manual"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ss.s.Trigger("nope", nil, "manual"); err == nil {
			t.Error("triggering an unknown job succeeded")
		}
		ss.until(12)
		ss.stop()
		want := []string{
			"a@0", "long@0", // run-on-start
			"c from b@1", // a ended at 1 and triggered b, which only triggers c
			"long 1 2 two 3;three@10",
		}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestShellCommandArgumentsAreNotReparsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second} }}
		j := &config.Job{Unit: settings("sh", "/bin/sh", "-c", "echo hi"),
			Schedules: []config.Schedule{sched(t, "cron", "* * * * *", "a b;c", "$(touch x)")}}
		j.Shell = true
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{})
		ss.until(61)
		ss.stop()
		host.mu.Lock()
		defer host.mu.Unlock()
		if len(host.starts) != 1 {
			t.Fatalf("starts: %v", host.starts)
		}
		want := []string{"/bin/sh", "-c", `echo hi "$@"`, "sh", "a b;c", "$(touch x)"}
		if diff := cmp.Diff(want, host.starts[0].argv); diff != "" {
			t.Errorf("argv (-want +got):\n%s", diff)
		}
	})
}

func TestProcRestartsAfterEveryExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		host := &fakeHost{how: func([]string) behaviour {
			n++
			return behaviour{run: time.Second, code: n % 2} // exit 1, 0, 1, …: all restart
		}}
		p := &config.Proc{Unit: settings("web", "web"), Backoff: []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute}}
		p.Idle = 10 * time.Second
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{})
		ss.until(100)
		ss.stop()
		// Each run lasts 1 s. Restart at the later of exit+backoff and
		// start+idle: 0, 10 (idle), 20 (idle beats 5 s), 36 (15 s), 97 (1 min).
		want := []string{"web@0", "web@10", "web@20", "web@36", "web@97"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if !strings.Contains(ss.logs.String(), "restart web at 2000-01-01T00:01:37Z: backoff 1m0s") {
			t.Errorf("the log does not explain the restart:\n%s", ss.logs)
		}
	})
}

func TestTimeoutStopsTheRunAndStillTriggers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			if argv[0] == "slow" {
				return behaviour{ignoreTerm: true} // runs until killed
			}
			return behaviour{run: time.Second}
		}}
		slow := &config.Job{Unit: settings("slow", "slow"), RunOnStart: true, Timeout: 5 * time.Second,
			Triggers: []config.Trigger{{Job: "after"}}}
		slow.StopTime = 2 * time.Second
		after := &config.Job{Unit: settings("after", "after")}
		ss := start(t, host, cfgOf([]*config.Job{slow, after}, nil), Options{})
		ss.until(10)
		ss.stop()
		// SIGTERM at 5 (timeout), ignored; SIGKILL at 7 (stop-time); the
		// end triggers "after".
		if diff := cmp.Diff([]string{"slow@0", "after@7"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"1001@5"}, host.stops); diff != "" {
			t.Errorf("stops (-want +got):\n%s", diff)
		}
		if !strings.Contains(ss.logs.String(), "end slow: killed by SIGKILL after 7s") {
			t.Errorf("the end is not logged as a kill:\n%s", ss.logs)
		}
	})
}

func TestReloadKeepsRestartsStopsAndStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{}
		keep := &config.Proc{Unit: settings("keep", "keep")}
		change := &config.Proc{Unit: settings("change", "change", "v1")}
		remove := &config.Proc{Unit: settings("remove", "remove")}
		ss := start(t, host, cfgOf(nil, []*config.Proc{change, keep, remove}), Options{})
		ss.until(5)
		changed := &config.Proc{Unit: settings("change", "change", "v2")}
		keepAgain := &config.Proc{Unit: settings("keep", "keep")} // equal content, new value
		add := &config.Proc{Unit: settings("add", "add")}
		ss.s.Reload(cfgOf(nil, []*config.Proc{add, changed, keepAgain}))
		synctest.Wait()
		ss.until(6)
		ss.stop()
		want := []string{"change v1@0", "keep@0", "remove@0", "add@5", "change v2@5"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		// Stopped by the reload at 5: the old "change" (1001) and "remove"
		// (1003); at the shutdown at 6, by name: add, change, keep.
		wantStops := []string{"1001@5", "1003@5", "1004@6", "1005@6", "1002@6"}
		if diff := cmp.Diff(wantStops, host.stops); diff != "" {
			t.Errorf("stops (-want +got):\n%s", diff)
		}
		if !strings.Contains(ss.logs.String(), "config test.json: 1 kept, 1 restarted, 1 stopped, 1 started") {
			t.Errorf("the reload is not summarised:\n%s", ss.logs)
		}
	})
}

// A reload of a file in which one entry changed keeps the others (whose
// entries the config package took as they were, moved) and restarts that
// one; the kept units hold the new config from then on, with its
// positions, and the old one is let go.
func TestReloadOfOneChangedEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{}
		v1 := `{"procs": {
			"a": {"command": ["a"]},
			"b": {"command": ["b", "v1"]},
			"c": {"command": ["c"]}}}`
		prev, _, err := config.ParsePart("k.json", []byte(v1))
		if err != nil {
			t.Fatal(err)
		}
		ss := start(t, host, prev, Options{})
		ss.until(5)
		next, _, err := config.Reparse("k.json", []byte(strings.Replace(v1, `"v1"`, `"version 2"`, 1)), prev)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := ss.s.Reload(next)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if diff := cmp.Diff(Summary{Kept: []string{"a", "c"}, Restarted: []string{"b"}}, sum); diff != "" {
			t.Errorf("reload (-want +got):\n%s", diff)
		}
		var held []*config.Unit
		ss.s.call(func(time.Time) error {
			for _, name := range []string{"a", "b", "c"} {
				held = append(held, ss.s.units[name].cfg)
			}
			return nil
		})
		for i, p := range next.Procs {
			if held[i] != &p.Unit {
				t.Errorf("%s holds %p at %s, not the reloaded config's %p at %s", p.Name, held[i], held[i].Pos, &p.Unit, p.Pos)
			}
		}
		ss.until(6)
		ss.stop()
		want := []string{"a@0", "b v1@0", "c@0", "b version 2@5"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestReloadedJobDoesNotOverlapItsOldRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour { return behaviour{ignoreTerm: true} }}
		old := &config.Job{Unit: settings("j", "old"), RunOnStart: true}
		old.StopTime = 3 * time.Second
		ss := start(t, host, cfgOf([]*config.Job{old}, nil), Options{})
		ss.until(1)
		ss.s.Reload(cfgOf([]*config.Job{{Unit: settings("j", "new"), RunOnStart: true}}, nil))
		synctest.Wait()
		ss.until(10)
		ss.stop()
		// The old run ignores SIGTERM and dies at 4; the new one starts then.
		if diff := cmp.Diff([]string{"old@0", "new@4"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestShutdownStopsEverythingThenOrphans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			return behaviour{ignoreTerm: argv[0] == "stubborn"}
		}}
		stubborn := &config.Proc{Unit: settings("stubborn", "stubborn")}
		stubborn.StopTime = 3 * time.Second
		polite := &config.Proc{Unit: settings("polite", "polite")}
		job := &config.Job{Unit: settings("j", "j"), RunOnStart: true}
		ss := start(t, host, cfgOf([]*config.Job{job}, []*config.Proc{polite, stubborn}), Options{})
		ss.until(1)
		began := time.Now()
		ss.stop()
		if took := time.Since(began); took != 3*time.Second {
			t.Errorf("shutdown took %s, want the stubborn proc's stop-time, 3s", took)
		}
		if len(host.stops) != 3 || host.orphans != 1 {
			t.Errorf("stops %v, KillOrphans calls %d; want all three stopped, then orphans", host.stops, host.orphans)
		}
		if _, err := ss.s.Trigger("j", nil, "late"); err != ErrStopped {
			t.Errorf("Trigger after Run returned %v, want ErrStopped", err)
		}
	})
}

func TestPeriodicJobWithRandomAndPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: 2 * time.Second} }}
		j := &config.Job{Unit: settings("p", "p"), Period: 30 * time.Second, Pause: 20 * time.Second,
			Random: 10 * time.Second, RunOnStart: true}
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Rand: func() float64 { return 0.5 }})
		ss.until(80)
		ss.stop()
		// Next start: max(start+30, end+20) + 5 of random: 0, 35, 70.
		if diff := cmp.Diff([]string{"p@0", "p@35", "p@70"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

func TestOutputEnvAndDir(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour {
			return behaviour{output: []string{"hello from the child"}}
		}}
		p := &config.Proc{Unit: settings("talker", "talker")}
		p.Title, p.LogOutput, p.Dir, p.Env = "Talker", true, "sub", []string{"A=1"}
		quiet := &config.Proc{Unit: settings("quiet", "quiet")}
		quiet.LogStart = false
		ss := start(t, host, cfgOf(nil, []*config.Proc{p, quiet}), Options{Dir: "/srv", Environ: []string{"PATH=/bin"}})
		ss.stop()
		logs := ss.logs.String()
		// unit is the name on every line, title the title.
		if !strings.Contains(logs, `msg="Talker: hello from the child" unit=talker title=Talker stream=stdout`) {
			t.Errorf("output not forwarded with the name and the title:\n%s", logs)
		}
		if strings.Contains(logs, "start quiet") || !strings.Contains(logs, "start Talker") {
			t.Errorf("log-start not honoured:\n%s", logs)
		}
		host.mu.Lock()
		defer host.mu.Unlock()
		var talker startRecord
		for _, s := range host.starts {
			if s.argv[0] == "talker" {
				talker = s
			}
		}
		if diff := cmp.Diff([]string{"PATH=/bin", "A=1"}, talker.env); diff != "" || talker.dir != "/srv/sub" {
			t.Errorf("env (-want +got):\n%s\ndir %q, want /srv/sub", diff, talker.dir)
		}
	})
}

func TestStartFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{startErr: errNoSuchFile} }}
		p := &config.Proc{Unit: settings("missing", "missing"), Backoff: []time.Duration{0, 5 * time.Second}}
		j := &config.Job{Unit: settings("jmissing", "jmissing"), RunOnStart: true}
		ss := start(t, host, cfgOf([]*config.Job{j}, []*config.Proc{p}), Options{})
		ss.until(9)
		ss.stop()
		logs := ss.logs.String()
		// The proc keeps trying with its backoff: at 0, again at once, at 5.
		if n := strings.Count(logs, "start missing failed"); n != 3 {
			t.Errorf("proc start attempts logged %d times, want 3:\n%s", n, logs)
		}
		if n := strings.Count(logs, "start jmissing failed"); n != 1 {
			t.Errorf("job start failures logged %d times, want 1:\n%s", n, logs)
		}
	})
}

// Many jobs due at one instant start in one tick, their starts in flight
// together (spawnInTick): each starts once, one that fails to start is
// handled as a failure, and a trigger that reaches a job whose start is
// still in flight waits for that run instead of starting a second one.
func TestManyStartsAtOneInstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			switch argv[0] {
			case "j07", "j13":
				return behaviour{startErr: errNoSuchFile}
			case "a":
				return behaviour{run: 3 * time.Second}
			}
			return behaviour{run: time.Second}
		}}
		every := []config.Schedule{sched(t, "schedule", "every 10s")}
		var jobs []*config.Job
		for i := range 3 * maxSpawning {
			name := fmt.Sprintf("j%02d", i)
			jobs = append(jobs, &config.Job{Unit: settings(name, name), Schedules: every})
		}
		// z sorts after a in the queue: its trigger reaches a in the same
		// tick, after a's start was begun.
		a := &config.Job{Unit: settings("a", "a"), Schedules: every}
		z := &config.Job{Unit: settings("z"), Schedules: every, Triggers: []config.Trigger{{Job: "a", Args: []string{"from z"}}}}
		jobs = append(jobs, a, z)
		var got events
		calls := map[time.Duration]int{} // journal calls by instant
		record := func(evs ...journal.Event) {
			calls[evs[0].Time.Sub(epoch)]++
			got.record(evs...)
		}
		ss := start(t, host, cfgOf(jobs, nil), Options{Events: record})
		ss.until(25)
		ss.stop()
		var want []string
		for _, at := range []int{10, 20} {
			for _, j := range jobs {
				switch j.Name {
				case "j07", "j13", "z":
				case "a":
					want = append(want, fmt.Sprintf("a@%d", at), fmt.Sprintf("a from z@%d", at+3))
				default:
					want = append(want, fmt.Sprintf("%s@%d", j.Name, at))
				}
			}
		}
		starts := host.startsOf()
		slices.Sort(starts)
		slices.Sort(want)
		if diff := cmp.Diff(want, starts); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		// Each unit's start is journaled after its fire, with its own pid.
		fired, pids := map[string]bool{}, map[int]string{}
		var failed []string
		for _, ev := range got {
			switch ev.Type {
			case journal.Fired:
				fired[ev.Unit] = true
			case journal.Spawned:
				if !fired[ev.Unit] {
					t.Errorf("%s spawned before it fired", ev.Unit)
				}
				if other, ok := pids[ev.PID]; ok {
					t.Errorf("pid %d journaled for %s and %s", ev.PID, other, ev.Unit)
				}
				pids[ev.PID] = ev.Unit
			case journal.SpawnError:
				failed = append(failed, ev.Unit)
			}
		}
		// Both failed at 10, and were due again at 20: a failed start
		// leaves no run behind.
		if diff := cmp.Diff([]string{"j07", "j13", "j07", "j13"}, failed); diff != "" {
			t.Errorf("spawn errors (-want +got):\n%s", diff)
		}
		if len(pids) != len(want) {
			t.Errorf("%d spawned events, want %d", len(pids), len(want))
		}
		// The fires, skips and spawn errors of the instant go to the
		// journal with its spawns: at 10, 22 spawns and at most one call
		// more for what followed the last.
		if n := calls[10*time.Second]; n > 23 {
			t.Errorf("%d journal calls at 10s for 22 spawns", n)
		}
		logs := ss.logs.String()
		for _, name := range []string{"j07", "j13"} {
			if !strings.Contains(logs, "start "+name+" failed") {
				t.Errorf("no failure logged for %s:\n%s", name, logs)
			}
		}
	})
}

// TestReadyAndHeartbeat: Ready comes once the config is applied, and the
// heartbeat comes from the loop: while the loop is blocked, it stops.
func TestReadyAndHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []string
		note := func(s string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, fmt.Sprintf("%g %s", time.Since(epoch).Seconds(), s))
		}
		j := &config.Job{Unit: settings("j", "j"), RunOnStart: true}
		ss := start(t, &fakeHost{}, cfgOf([]*config.Job{j}, nil), Options{
			Ready: func() { note("ready") }, Heartbeat: func() { note("beat") }, HeartbeatEvery: 10 * time.Second,
		})
		ss.until(25)
		// The loop is stuck for 30 seconds: no beats from 25 to 55.
		go ss.s.call(func(time.Time) error { time.Sleep(30 * time.Second); return nil })
		ss.until(61)
		ss.stop()
		mu.Lock()
		defer mu.Unlock()
		want := []string{"0 ready", "0 beat", "10 beat", "20 beat", "55 beat", "60 beat"}
		if diff := cmp.Diff(want, events); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// TestAlive: the liveness check answers while the loop runs, and says so
// when the loop is stuck.
func TestAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ss := start(t, &fakeHost{}, cfgOf(nil, nil), Options{})
		if err := ss.s.Alive(time.Second); err != nil {
			t.Errorf("Alive of a running loop: %v", err)
		}
		go ss.s.call(func(time.Time) error { time.Sleep(time.Minute); return nil })
		synctest.Wait()
		if err := ss.s.Alive(5 * time.Second); err == nil || err.Error() != "kopf's loop has not answered within 5s" {
			t.Errorf("Alive of a stuck loop: %v", err)
		}
		ss.until(120)
		if err := ss.s.Alive(time.Second); err != nil {
			t.Errorf("Alive after the loop came back: %v", err)
		}
		ss.stop()
		if err := ss.s.Alive(time.Second); !errors.Is(err, ErrStopped) {
			t.Errorf("Alive after stopping: %v, want ErrStopped", err)
		}
	})
}
