package supervise

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/job"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
)

// events collects what the supervisor journals; the loop goroutine is its
// only writer, and tests read it after Run returned.
type events []journal.Event

func (e *events) record(evs ...journal.Event) { *e = append(*e, evs...) }

// brief renders events as "SECONDS TYPE UNIT details" lines.
func (e events) brief() []string {
	var out []string
	for _, ev := range e {
		line := fmt.Sprintf("%g %s %s", ev.Time.Sub(epoch).Seconds(), ev.Type, ev.Unit)
		switch ev.Type {
		case journal.Source:
			line += " " + string(ev.Op) + " " + ev.File
		case journal.Spawned:
			line += fmt.Sprintf(" pid %d args %q", ev.PID, ev.Args)
		case journal.Exited:
			how := ev.Signal
			if ev.Code != nil {
				how = fmt.Sprintf("code %d", *ev.Code)
			}
			line += fmt.Sprintf(" pid %d %s after %gs graceful=%t", ev.PID, how, ev.Seconds, ev.Graceful)
			if ev.StoppedBy != "" {
				line += " stopped by " + string(ev.StoppedBy)
			}
		case journal.Fired, journal.CatchUp:
			line += fmt.Sprintf(" %s at %s", ev.Source, ev.At.Format("15:04:05"))
			if ev.Count > 0 {
				line += fmt.Sprintf(" x%d", ev.Count)
			}
		case journal.Triggered:
			line += fmt.Sprintf(" by %s args %q", ev.By, ev.Args)
		case journal.SpawnError:
			line += " " + ev.Error
		}
		out = append(out, line)
	}
	return out
}

func TestJournalRecordsEveryDecision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			switch argv[0] {
			case "work":
				return behaviour{run: 25 * time.Second}
			case "crash":
				return behaviour{run: 5 * time.Second, code: 3}
			case "missing":
				return behaviour{startErr: errNoSuchFile}
			}
			return behaviour{run: time.Second}
		}}
		work := &config.Job{Unit: settings("work", "work"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")},
			Triggers: []config.Trigger{{Job: "report", Args: []string{"--from", "work"}}}}
		work.Pos.Filename = "kopf.json"
		report := &config.Job{Unit: settings("report", "report")}
		broken := &config.Job{Unit: settings("broken", "missing"), Schedules: []config.Schedule{sched(t, "schedule", "@ 00:00:40")}}
		crash := &config.Proc{Unit: settings("crash", "crash"), Backoff: []time.Duration{time.Minute}}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{broken, report, work}, []*config.Proc{crash}),
			Options{Events: got.record})
		ss.until(36)
		ss.stop()
		want := []string{
			"0 source broken add ",
			"0 source report add ",
			"0 source work add kopf.json",
			"0 source crash add ",
			`0 spawned crash pid 1001 args []`,
			`5 exited crash pid 1001 code 3 after 5s graceful=false`,
			`10 fired work schedule "every 10s" at 00:00:10`,
			`10 spawned work pid 1002 args []`,
			`20 fired work schedule "every 10s" at 00:00:20`,
			`20 queued work`,
			`30 fired work schedule "every 10s" at 00:00:30`,
			`30 queued work`,
			`35 exited work pid 1002 code 0 after 25s graceful=true`,
			`35 triggered report by work args ["--from" "work"]`,
			`35 spawned report pid 1003 args ["--from" "work"]`,
			`35 spawned work pid 1004 args []`,
			`36 exited report pid 1003 code 0 after 1s graceful=true`,
			`36 exited work pid 1004 SIGTERM after 1s graceful=true stopped by shutdown`,
		}
		// broken fires at 00:00:40, after the end; its spawn error is
		// tested below.
		if diff := cmp.Diff(want, got.brief()); diff != "" {
			t.Errorf("journal (-want +got):\n%s", diff)
		}
		for _, ev := range got {
			if ev.Type == journal.Spawned && (ev.StartTicks != uint64(ev.PID)*10 || ev.Run != fmt.Sprintf("run@%d", ev.PID)) {
				t.Errorf("spawned %s: start ticks %d, run %q; want the host's", ev.Unit, ev.StartTicks, ev.Run)
			}
			if ev.Type == journal.Spawned && ev.Unit == "work" && len(ev.Reasons) == 0 {
				t.Errorf("spawned work without reasons")
			}
		}
	})
}

func TestJournalSpawnErrorAndSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			if argv[0] == "missing" {
				return behaviour{startErr: errNoSuchFile}
			}
			return behaviour{run: time.Second}
		}}
		// Two schedules fire at once while the job waits for idle: the
		// second joins the first's run.
		j := &config.Job{Unit: settings("j", "run"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s"), sched(t, "schedule", "every 20s")}}
		j.Idle = 5 * time.Second
		broken := &config.Job{Unit: settings("broken", "missing"), Schedules: []config.Schedule{sched(t, "schedule", "every 1m")}}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{broken, j}, nil), Options{Events: got.record})
		ss.until(60)
		ss.stop()
		var lines []string
		for _, l := range got.brief() {
			if strings.HasPrefix(l, "20 ") || strings.HasPrefix(l, "25 ") || strings.HasPrefix(l, "60 ") && strings.Contains(l, "broken") {
				lines = append(lines, l)
			}
		}
		want := []string{
			`20 fired j schedule "every 10s" at 00:00:20`,
			`20 fired j schedule "every 20s" at 00:00:20`,
			`20 skipped j`,
			`25 spawned j pid 1002 args []`,
			`60 fired broken schedule "every 1m" at 00:01:00`,
			`60 spawn_error broken exec: no such file`,
		}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("journal (-want +got):\n%s", diff)
		}
	})
}

func TestCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second} }}
		job := func(name, schedule string, catchUp bool, args ...string) *config.Job {
			j := &config.Job{Unit: settings(name, name), Schedules: []config.Schedule{sched(t, "schedule", schedule, args...)}, CatchUp: config.CatchUpNone}
			if catchUp {
				j.CatchUp = config.CatchUpLast
			}
			return j
		}
		// kopf was last seen at 21:00 the day before the bubble's epoch.
		prev := &journal.Previous{
			LastSeen: epoch.Add(-3 * time.Hour),
			Jobs:     map[string]bool{"nightly": true, "plain": true, "early": true, "dense": true, "two": true},
		}
		two := job("two", "@ 21:30", true, "--half")
		two.Schedules = append(two.Schedules, sched(t, "cron", "0 22 * * *", "--ten"))
		jobs := []*config.Job{
			job("nightly", "@ 22:00", true, "--missed"), // missed at 22:00: runs
			job("fresh", "@ 22:00", true),               // the previous daemon did not run it
			job("plain", "@ 22:00", false),              // no catch-up
			job("early", "@ 20:00", true),               // fired before kopf went down
			job("dense", "every 1s", true),              // fires at the start instant itself
			two,                                         // the latest of its schedules counts
		}
		var got events
		ss := start(t, host, cfgOf(jobs, nil), Options{Events: got.record, Resume: prev})
		ss.until(0.5)
		ss.stop()
		var caught, spawned []string
		for _, ev := range got {
			switch ev.Type {
			case journal.CatchUp:
				caught = append(caught, fmt.Sprintf("%s %s at %s", ev.Unit, ev.Source, ev.At.Format(time.RFC3339)))
			case journal.Spawned:
				spawned = append(spawned, fmt.Sprintf("%s %q", ev.Unit, ev.Args))
			}
		}
		slices.Sort(spawned)
		wantCaught := []string{
			`dense schedule "every 1s" at 2000-01-01T00:00:00Z`,
			`nightly schedule "@ 22:00" at 1999-12-31T22:00:00Z`,
			`two cron "0 22 * * *" at 1999-12-31T22:00:00Z`,
		}
		wantSpawned := []string{`dense []`, `nightly ["--missed"]`, `two ["--ten"]`}
		if diff := cmp.Diff(wantCaught, caught); diff != "" {
			t.Errorf("catch_up events (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantSpawned, spawned); diff != "" {
			t.Errorf("runs at start (-want +got):\n%s", diff)
		}
	})
}

func TestMaxFailuresRetriesThenGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second, code: 1} }}
		j := &config.Job{Unit: settings("flaky", "flaky"), Schedules: []config.Schedule{sched(t, "schedule", "every 1m")},
			MaxFailures: 2, Backoff: []time.Duration{5 * time.Second, 10 * time.Second}}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Events: got.record})
		ss.until(90)
		if st := ss.state("flaky"); st.State != control.Failed {
			t.Errorf("after three failures in a row: state %q, want failed", st.State)
		}
		ss.until(125)
		ss.stop()
		// 60 fails, the retry at 66 fails, the retry at 77 fails: kopf gives
		// up. The fire at 120 runs again, and its failure starts a new count
		// (its retry would be at 126).
		want := []string{"flaky@60", "flaky@66", "flaky@77", "flaky@120"}
		if diff := cmp.Diff(want, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		var kinds []string
		for _, ev := range got {
			if ev.Type == journal.Retry || ev.Type == journal.GaveUp {
				kinds = append(kinds, fmt.Sprintf("%g %s %d", ev.Time.Sub(epoch).Seconds(), ev.Type, ev.Count))
			}
		}
		if diff := cmp.Diff([]string{"61 retry 1", "67 retry 2", "78 gave_up 3", "121 retry 1"}, kinds); diff != "" {
			t.Errorf("journal (-want +got):\n%s", diff)
		}
	})
}

func TestMaxFailuresSuccessResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		runs := 0
		host := &fakeHost{how: func([]string) behaviour {
			runs++
			if runs%2 == 0 {
				return behaviour{run: time.Second} // every other run succeeds
			}
			return behaviour{run: time.Second, code: 3}
		}}
		j := &config.Job{Unit: settings("j", "j"), RunOnStart: true, MaxFailures: 1, Backoff: []time.Duration{2 * time.Second}}
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{})
		ss.until(4)
		if st := ss.state("j"); st.State != control.Waiting || st.Failures != 0 {
			t.Errorf("after a failure and a successful retry: %+v", st)
		}
		ss.stop()
		if diff := cmp.Diff([]string{"j@0", "j@3"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

// A run is labelled with its unit for the host, which stops its leftovers
// with the unit's stop-time unless it keeps them; the journal and the log
// say how many there were.
func TestLeftoversOfARun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			return behaviour{run: time.Second, leftovers: 2}
		}}
		j := &config.Job{Unit: settings("backup", "backup"), RunOnStart: true}
		j.StopTime = 3 * time.Second
		p := &config.Proc{Unit: settings("web", "web")}
		p.KeepLeftovers = true
		var got events
		var logs logBuffer
		s := New(Options{Host: host, Logger: newLogger(&logs), Events: got.record})
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		s.Run(ctx, cfgOf([]*config.Job{j}, []*config.Proc{p}))
		specs := map[string]proc.Spec{}
		for _, st := range host.starts {
			specs[st.spec.Label] = st.spec
		}
		if sp := specs["job-backup"]; sp.KeepLeftovers || sp.LeftoverGrace != 3*time.Second {
			t.Errorf("the job's spec: keep %t, grace %v; want false, its stop-time 3s", sp.KeepLeftovers, sp.LeftoverGrace)
		}
		if sp, ok := specs["proc-web"]; !ok || !sp.KeepLeftovers {
			t.Errorf("the proc's spec: %+v; want label proc-web, keep-leftovers", sp)
		}
		var n int
		for _, ev := range got {
			if ev.Type == journal.Exited && ev.Unit == "backup" {
				n++
				if ev.Leftovers != 2 {
					t.Errorf("exited backup: leftovers %d, want 2", ev.Leftovers)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d exited events for backup, want 1", n)
		}
		if !strings.Contains(logs.String(), "stopped 2 processes it left running") {
			t.Errorf("the log does not say the leftovers were stopped:\n%s", logs.String())
		}
	})
}

// What each catch-up policy runs of the fires missed while kopf was down,
// and that every fire that does not run is journaled as missed.
func TestCatchUpPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second} }}
		job := func(name, schedule string, c config.CatchUp, within time.Duration) *config.Job {
			return &config.Job{Unit: settings(name, name), Schedules: []config.Schedule{sched(t, "schedule", schedule)}, CatchUp: c, CatchUpWithin: within}
		}
		// Down from 20:30 the day before: every 1h fired at 21:00, 22:00,
		// 23:00 and at 00:00, the instant this daemon starts.
		prev := &journal.Previous{LastSeen: epoch.Add(-210 * time.Minute), Jobs: map[string]bool{"none": true, "last": true, "all": true, "within": true, "dense": true}}
		jobs := []*config.Job{
			job("none", "every 1h", config.CatchUpNone, 0),
			job("last", "every 1h", config.CatchUpLast, 0),
			job("all", "every 1h", config.CatchUpAll, 0),
			job("within", "every 1h", config.CatchUpAll, 90*time.Minute),
			job("dense", "every 1s", config.CatchUpNone, 0),
		}
		var got events
		ss := start(t, host, cfgOf(jobs, nil), Options{Events: got.record, Resume: prev})
		ss.until(10)
		ss.stop()
		type fate struct{ ran, missed []string }
		fates := map[string]*fate{}
		for _, j := range jobs {
			fates[j.Name] = &fate{}
		}
		var denseListed, denseCounted int
		for _, ev := range got {
			switch {
			case ev.Type == journal.CatchUp:
				fates[ev.Unit].ran = append(fates[ev.Unit].ran, ev.At.Format("15:04"))
			case ev.Type == journal.Missed && ev.Unit == "dense" && ev.Count == 0:
				denseListed++
			case ev.Type == journal.Missed && ev.Unit == "dense":
				denseCounted += ev.Count
			case ev.Type == journal.Missed:
				fates[ev.Unit].missed = append(fates[ev.Unit].missed, ev.At.Format("15:04"))
			}
		}
		want := map[string]fate{
			"none":   {missed: []string{"21:00", "22:00", "23:00", "00:00"}},
			"last":   {ran: []string{"00:00"}, missed: []string{"21:00", "22:00", "23:00"}},
			"all":    {ran: []string{"21:00", "22:00", "23:00", "00:00"}},
			"within": {ran: []string{"23:00", "00:00"}, missed: []string{"21:00", "22:00"}},
		}
		for name, w := range want {
			if diff := cmp.Diff(w, *fates[name], cmp.AllowUnexported(fate{})); diff != "" {
				t.Errorf("%s: fires run and missed (-want +got):\n%s", name, diff)
			}
		}
		// 3.5 hours of every 1s: 12,600 fires, 100 listed, the rest counted.
		if denseListed != 100 || denseCounted != 12500 {
			t.Errorf("dense: %d missed events listed and %d fires counted; want 100 and 12500", denseListed, denseCounted)
		}
		// The four catch-up runs of "all" run one after another.
		var allStarts []string
		for _, st := range host.starts {
			if st.argv[0] == "all" {
				allStarts = append(allStarts, fmt.Sprint(st.at.Seconds()))
			}
		}
		if diff := cmp.Diff([]string{"0", "1", "2", "3"}, allStarts[:min(4, len(allStarts))]); diff != "" {
			t.Errorf("the catch-up runs of all start at (-want +got):\n%s", diff)
		}
	})
}

// overlap skip drops a fire that comes while the job runs, journaled with
// its instant; replace stops the run for it.
func TestOverlapPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: 25 * time.Second} }}
		unit := func(name string, overlap job.Overlap) *config.Job {
			return &config.Job{Unit: settings(name, name), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")}, Overlap: overlap}
		}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{unit("skip", job.Skip), unit("replace", job.Replace)}, nil), Options{Events: got.record})
		ss.until(41)
		ss.stop()
		var lines []string
		for _, ev := range got {
			switch {
			case ev.Type == journal.Skipped:
				lines = append(lines, fmt.Sprintf("%g %s skipped the fire at %gs", ev.Time.Sub(epoch).Seconds(), ev.Unit, ev.At.Sub(epoch).Seconds()))
			case ev.Type == journal.Spawned:
				lines = append(lines, fmt.Sprintf("%g %s spawned", ev.Time.Sub(epoch).Seconds(), ev.Unit))
			case ev.Type == journal.Exited && ev.StoppedBy == "replaced":
				lines = append(lines, fmt.Sprintf("%g %s replaced", ev.Time.Sub(epoch).Seconds(), ev.Unit))
			}
		}
		want := []string{
			"10 replace spawned", "10 skip spawned",
			"20 replace replaced", "20 replace spawned", "20 skip skipped the fire at 20s",
			"30 replace replaced", "30 replace spawned", "30 skip skipped the fire at 30s",
			"40 replace replaced", "40 replace spawned", "40 skip spawned",
		}
		slices.Sort(lines) // the two jobs' events of one second interleave
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("journal (-want +got):\n%s", diff)
		}
	})
}

// A jittered job starts each fire its stable offset later; the journal's
// fired event has both instants, and a new jitter-seed moves the offset.
func TestJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second} }}
		j := &config.Job{Unit: settings("hourly", "hourly"), Schedules: []config.Schedule{sched(t, "schedule", "every 1h")}, Jitter: 30 * time.Minute}
		off := j.JitterOffset("")
		if off <= 0 || off >= 30*time.Minute {
			t.Fatalf("offset %v; the test needs one in (0, 30m)", off)
		}
		var got events
		cfg := cfgOf([]*config.Job{j}, nil)
		ss := start(t, host, cfg, Options{Events: got.record})
		ss.until(2*3600 + 1)
		if sum, _ := ss.s.Reload(&config.Config{Jobs: cfg.Jobs, JitterSeed: "fleet-2"}); len(sum.Restarted) != 1 {
			t.Errorf("a new jitter-seed: %+v; want the jittered job restarted", sum)
		}
		ss.stop()
		var fired, spawned []string
		for _, ev := range got {
			switch ev.Type {
			case journal.Fired:
				fired = append(fired, fmt.Sprintf("%s started %s", ev.At.Format("15:04"), ev.Start.Sub(ev.At)))
			case journal.Spawned:
				spawned = append(spawned, ev.Time.Sub(epoch).String())
			}
		}
		// Loaded at the 00:00 fire, whose start is still to come: it runs.
		want := []string{fmt.Sprintf("00:00 started %s", off), fmt.Sprintf("01:00 started %s", off)}
		if diff := cmp.Diff(want, fired); diff != "" {
			t.Errorf("fired events (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{off.String(), (time.Hour + off).String()}, spawned); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if j.JitterOffset("fleet-2") == off {
			t.Errorf("the seed does not change the offset")
		}
	})
}

func TestExitedCarriesUsageAndReapTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		usage := proc.Usage{User: 1500 * time.Millisecond, System: 250 * time.Millisecond, MaxRSS: 48 << 20}
		host := &fakeHost{how: func([]string) behaviour {
			return behaviour{run: 4 * time.Second, usage: usage, leftovers: 1, reapedLate: 2 * time.Second}
		}}
		j := &config.Job{Unit: settings("j", "j"), RunOnStart: true}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Events: got.record})
		ss.until(7)
		ss.stop()
		for _, ev := range got {
			if ev.Type != journal.Exited {
				continue
			}
			// Reaped at 4; the Exit came at 6, once its leftover was stopped.
			if ev.Seconds != 4 || ev.Time.Sub(epoch) != 6*time.Second {
				t.Errorf("exited at %v after %vs; want the event at 6s and a run of 4s", ev.Time.Sub(epoch), ev.Seconds)
			}
			if ev.UserSeconds != 1.5 || ev.SystemSeconds != 0.25 || ev.MaxRSS != 48<<20 {
				t.Errorf("usage user %v system %v max_rss %d; want the process's", ev.UserSeconds, ev.SystemSeconds, ev.MaxRSS)
			}
			return
		}
		t.Fatal("no exited event")
	})
}

// TestOncePerBoot: a once-per-boot job (a crontab's @reboot) runs at start
// unless a daemon before this one in the same boot had it, and a reload
// that changes it does not run it again.
func TestOncePerBoot(t *testing.T) {
	boot := func(name string) *config.Job {
		return &config.Job{Unit: settings(name, name), RunOnStart: true, OncePerBoot: true}
	}
	cases := []struct {
		name string
		prev *journal.Previous
		want []string
	}{
		{"first daemon", nil, []string{"a@0", "b@0"}},
		{"same boot, a known", &journal.Previous{BootID: "boot-1", Jobs: map[string]bool{"a": true}}, []string{"b@0"}},
		{"after a reboot", &journal.Previous{BootID: "boot-0", Jobs: map[string]bool{"a": true, "b": true}}, []string{"a@0", "b@0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second} }}
				ss := start(t, host, cfgOf([]*config.Job{boot("a"), boot("b")}, nil), Options{Resume: c.prev, BootID: "boot-1"})
				ss.until(5)
				changed := boot("a")
				changed.Env = []string{"X=1"}
				if sum, err := ss.s.Reload(cfgOf([]*config.Job{changed, boot("b")}, nil)); err != nil || len(sum.Restarted) != 1 {
					t.Fatalf("reload: %+v, %v", sum, err)
				}
				ss.until(10)
				ss.stop()
				if diff := cmp.Diff(c.want, host.startsOf()); diff != "" {
					t.Errorf("starts (-want +got):\n%s", diff)
				}
			})
		})
	}
}
