package supervise

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// fakeCluster is Options.Cluster, the supervisor's seam to runtime/cluster
// (whose Member needs etcd and the wall clock): it grants every claim but
// those it is told to refuse, and records what the supervisor asked of it.
type fakeCluster struct {
	mu        sync.Mutex
	fenced    bool             // Live reports false
	refuse    map[string]error // Claim's error for a unit
	fence     int64
	deadline  time.Duration    // a claim's fence deadline after its now; 0 for none
	epochs    map[string]int64 // a claim's epoch, by unit
	claims    []string         // "unit@seconds instants catch-up proc"
	ended     []string         // "unit fence start-end: outcome"
	released  []string         // "unit epoch@seconds"
	forwarded []string         // "job args by"
	units     [][]cluster.Unit // every SetUnits
}

func (c *fakeCluster) Name() string { return "a" }
func (c *fakeCluster) Live() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.fenced
}

func (c *fakeCluster) SetUnits(us []cluster.Unit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.units = append(c.units, us)
}

func (c *fakeCluster) Claim(_ context.Context, req cluster.Request, now time.Time) (cluster.Claim, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at []string
	for _, i := range req.Instants {
		at = append(at, fmt.Sprint(i.Sub(epoch).Seconds()))
	}
	c.claims = append(c.claims, fmt.Sprintf("%s@%g [%s] catch-up=%t proc=%t", req.Unit, now.Sub(epoch).Seconds(), strings.Join(at, " "), req.CatchUp, req.Proc))
	if err := c.refuse[req.Unit]; err != nil {
		return cluster.Claim{}, err
	}
	c.fence++
	cl := cluster.Claim{Unit: req.Unit, Fence: c.fence, Epoch: c.epochs[req.Unit]}
	if c.deadline > 0 {
		cl.Deadline = now.Add(c.deadline)
	}
	if len(req.Instants) > 0 {
		cl.At = req.Instants[0]
	}
	return cl, nil
}

func (c *fakeCluster) Ended(cl cluster.Claim, start, end time.Time, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = append(c.ended, fmt.Sprintf("%s %d %g-%g: %s", cl.Unit, cl.Fence, start.Sub(epoch).Seconds(), end.Sub(epoch).Seconds(), outcome))
}

func (c *fakeCluster) Forward(_ context.Context, job string, args []string, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forwarded = append(c.forwarded, fmt.Sprintf("%s %q %s", job, args, by))
	return nil
}

func (c *fakeCluster) Release(unit string, ep int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = append(c.released, fmt.Sprintf("%s %d@%g", unit, ep, time.Since(epoch).Seconds()))
}

// got returns a copy of one of the lists, read under the lock.
func (c *fakeCluster) got(list *[]string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(*list)
}

// own tells the supervisor that this member gained (or lost) unit.
func (ss *session) own(ch cluster.Change) {
	ss.s.OwnerChanged(ch)
	synctest.Wait()
}

func envOf(host *fakeHost, pid int) []string {
	host.mu.Lock()
	defer host.mu.Unlock()
	for _, s := range host.starts {
		if s.pid == pid {
			return s.env
		}
	}
	return nil
}

func kopfEnv(env []string) []string {
	var out []string
	for _, e := range env {
		if strings.HasPrefix(e, "KOPF_") {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

func TestClusterProcRunsOnlyWhileOwned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{}
		cl := &fakeCluster{epochs: map[string]int64{"web": 7}}
		web := &config.Proc{Unit: settings("web", "web"), Backoff: []time.Duration{0}}
		web.Extra = &config.Extra{Placement: &config.Placement{Prefer: []string{"b"}}}
		each := &config.Proc{Unit: settings("each", "each"), Backoff: []time.Duration{0}}
		each.Extra = &config.Extra{Placement: &config.Placement{Each: true}}
		var got events
		ss := start(t, host, cfgOf(nil, []*config.Proc{each, web}), Options{Cluster: cl, Events: got.record})

		// Only "web" is the cluster's to place, and it runs elsewhere.
		cl.mu.Lock()
		pushed := cl.units
		cl.mu.Unlock()
		if len(pushed) != 1 || len(pushed[0]) != 1 || pushed[0][0].Name != "web" ||
			!slices.Equal(pushed[0][0].Prefer, []string{"b"}) || pushed[0][0].Fingerprint == "" || pushed[0][0].Fires != nil {
			t.Errorf("units pushed to the cluster = %+v, want web alone, preferring b, without fires", pushed)
		}
		if st := ss.state("web"); st.State != control.Elsewhere || st.Epoch != 0 {
			t.Errorf("web before it is owned: %+v, want elsewhere, epoch 0", st)
		}
		if _, err := ss.s.Start("web"); err == nil || !strings.Contains(err.Error(), "web runs on another member of the cluster") {
			t.Errorf("start of a unit owned elsewhere: %v", err)
		}
		if _, err := ss.s.Restart(context.Background(), "web"); err == nil || !strings.Contains(err.Error(), "web runs on another member of the cluster") {
			t.Errorf("restart of a unit owned elsewhere: %v", err)
		}
		if err := ss.s.Movable("web"); err != nil {
			t.Errorf("Movable(web) = %v", err)
		}
		if err := ss.s.Movable("each"); err == nil || err.Error() != `each runs on every member (placement "each"): there is nothing to hand off` {
			t.Errorf("Movable(each) = %v", err)
		}
		if err := ss.s.Movable("webx"); err == nil || err.Error() != `no job or proc named "webx" (did you mean "web"?)` {
			t.Errorf("Movable(webx) = %v", err)
		}

		ss.until(5)
		ss.own(cluster.Change{Unit: "web", Owned: true, Epoch: 7, Reason: "a test gave it"})
		if st := ss.state("web"); st.State != control.Running || st.Epoch != 7 || st.PID != 1002 {
			t.Errorf("web once owned: %+v, want running pid 1002, epoch 7", st)
		}
		ss.until(10)
		ss.own(cluster.Change{Unit: "web", Owned: false, Epoch: 7, Release: true, Reason: "handed off"})
		ss.until(60) // not restarted: it is not this member's
		ss.stop()

		if diff := cmp.Diff([]string{"each@0", "web@5"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"KOPF_MEMBER=a"}, kopfEnv(envOf(host, 1001))); diff != "" {
			t.Errorf("env of a unit of placement each (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"KOPF_EPOCH=7", "KOPF_FENCE=1", "KOPF_MEMBER=a"}, kopfEnv(envOf(host, 1002))); diff != "" {
			t.Errorf("env of a claimed proc (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"web@5 [] catch-up=false proc=true"}, cl.got(&cl.claims)); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"web 7@10"}, cl.got(&cl.released)); diff != "" {
			t.Errorf("released (-want +got):\n%s", diff)
		}
		if ended := cl.got(&cl.ended); len(ended) != 0 {
			t.Errorf("a proc's run has no claim to end: %q", ended)
		}
		var stopped []string
		for _, ev := range got {
			if ev.Type == journal.Exited {
				stopped = append(stopped, fmt.Sprintf("%s@%g %s", ev.Unit, ev.Time.Sub(epoch).Seconds(), ev.StoppedBy))
			}
		}
		if diff := cmp.Diff([]string{"web@10 lease lost", "each@60 shutdown"}, stopped); diff != "" {
			t.Errorf("exits (-want +got):\n%s", diff)
		}
	})
}

func TestClusterJobClaimsEachRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second} }}
		cl := &fakeCluster{epochs: map[string]int64{"tick": 3}}
		j := &config.Job{Unit: settings("tick", "tick"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")}, CatchUp: config.CatchUpLast}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Cluster: cl, Events: got.record})

		cl.mu.Lock()
		fires := cl.units[0][0].Fires
		cl.mu.Unlock()
		var at []float64
		for _, f := range fires(epoch, epoch.Add(35*time.Second), 2) {
			at = append(at, f.Sub(epoch).Seconds())
		}
		if diff := cmp.Diff([]float64{20, 30}, at); diff != "" {
			t.Errorf("the job's last two fires up to 35s, as the cluster asks for them (-want +got):\n%s", diff)
		}

		ss.until(14) // its fire at 10 is another member's
		msg, err := ss.s.Trigger("tick", []string{"x"}, "control")
		wantMsg(t, "trigger of a job owned elsewhere", msg, err, "triggered by control: forwarded to the member that owns tick")
		if st := ss.state("tick"); st.State != control.Elsewhere || !st.NextFire.IsZero() {
			t.Errorf("status of a job owned elsewhere: %+v", st)
		}
		ss.until(15)
		// Handed over at 12, with the fire at 10 recorded missed: catch-up
		// "last" runs it now, and the schedule goes on from 12.
		ss.own(cluster.Change{Unit: "tick", Owned: true, Epoch: 3, Since: epoch.Add(12 * time.Second), Missed: []time.Time{epoch.Add(10 * time.Second)}})
		ss.until(29)
		cl.mu.Lock()
		cl.refuse = map[string]error{"tick": cluster.ErrTaken}
		cl.mu.Unlock()
		ss.until(31) // the fire at 30 is refused: not started, not retried
		cl.mu.Lock()
		cl.refuse = nil
		cl.mu.Unlock()
		ss.until(45)
		ss.own(cluster.Change{Unit: "tick", Owned: false, Epoch: 3, Reason: "lost"})
		ss.until(70)
		ss.stop()

		if diff := cmp.Diff([]string{"tick@15", "tick@20", "tick@40"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		wantClaims := []string{
			"tick@15 [10] catch-up=true proc=false",
			"tick@20 [20] catch-up=false proc=false",
			"tick@30 [30] catch-up=false proc=false",
			"tick@40 [40] catch-up=false proc=false",
		}
		if diff := cmp.Diff(wantClaims, cl.got(&cl.claims)); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		wantEnded := []string{"tick 1 15-16: exit 0", "tick 2 20-21: exit 0", "tick 3 40-41: exit 0"}
		if diff := cmp.Diff(wantEnded, cl.got(&cl.ended)); diff != "" {
			t.Errorf("claims ended (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{`tick ["x"] control`}, cl.got(&cl.forwarded)); diff != "" {
			t.Errorf("forwarded (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"KOPF_EPOCH=3", "KOPF_FENCE=2", "KOPF_INSTANT=2000-01-01T00:00:20Z", "KOPF_MEMBER=a"}, kopfEnv(envOf(host, 1002))); diff != "" {
			t.Errorf("env of the run at 20 (-want +got):\n%s", diff)
		}
		var catchUps, spawnErrors int
		for _, ev := range got {
			switch ev.Type {
			case journal.CatchUp:
				catchUps++
				if !ev.At.Equal(epoch.Add(10*time.Second)) || !ev.Time.Equal(epoch.Add(15*time.Second)) {
					t.Errorf("catch-up event %+v, want the instant 10s at 15s", ev)
				}
			case journal.SpawnError:
				spawnErrors++
			}
		}
		if catchUps != 1 || spawnErrors != 0 {
			t.Errorf("%d catch-up events and %d spawn errors, want 1 and 0: a refused claim is no spawn error", catchUps, spawnErrors)
		}
		if !strings.Contains(ss.logs.String(), "tick does not start here: the cluster did not grant the run: "+cluster.ErrTaken.Error()) {
			t.Errorf("the refused claim is not logged:\n%s", ss.logs)
		}
	})
}

func TestClusterLossOfRunningJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			switch argv[0] {
			case "long":
				return behaviour{run: 30 * time.Second}
			case "sched":
				return behaviour{run: 25 * time.Second}
			}
			return behaviour{} // kill runs until stopped
		}}
		cl := &fakeCluster{epochs: map[string]int64{"long": 1, "kill": 2, "sched": 3}}
		long := &config.Job{Unit: settings("long", "long")}
		long.Timeout = 20 * time.Second
		kill := &config.Job{Unit: settings("kill", "kill")}
		kill.Extra = &config.Extra{Placement: &config.Placement{KillOnLoss: true}}
		sch := &config.Job{Unit: settings("sched", "sched"), Schedules: []config.Schedule{sched(t, "schedule", "every 5s")}}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{kill, long, sch}, nil), Options{Cluster: cl, Events: got.record})
		for i, name := range []string{"long", "kill", "sched"} {
			ss.own(cluster.Change{Unit: name, Owned: true, Epoch: int64(i + 1)})
		}
		ss.until(1)
		for _, tr := range []struct {
			job  string
			args []string
		}{{"long", []string{"1"}}, {"kill", nil}, {"long", []string{"2"}}} {
			if _, err := ss.s.Trigger(tr.job, tr.args, "control"); err != nil {
				t.Fatal(err)
			}
		}
		ss.until(15) // sched runs from 5 to 30; its fire at 10 waits
		for _, name := range []string{"long", "kill", "sched"} {
			ss.own(cluster.Change{Unit: name, Owned: false, Epoch: cl.epochs[name], Release: name != "sched", Reason: "handed off"})
		}
		if st := ss.state("long"); st.State != control.Running {
			t.Errorf("long after the loss: %+v; its run finishes", st)
		}
		ss.until(60)
		ss.stop()

		if diff := cmp.Diff([]string{"long 1@1", "kill@1", "sched@5"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		var brief []string
		for _, ev := range got {
			switch ev.Type {
			case journal.Exited:
				brief = append(brief, fmt.Sprintf("%g exited %s %s", ev.Time.Sub(epoch).Seconds(), ev.Unit, ev.StoppedBy))
			case journal.Skipped:
				brief = append(brief, fmt.Sprintf("%g skipped %s at %g: %s", ev.Time.Sub(epoch).Seconds(), ev.Unit, ev.At.Sub(epoch).Seconds(), ev.Reason))
			}
		}
		want := []string{
			"15 exited kill lease lost",
			"15 skipped sched at 10: queued when this member lost the job: its instants are the new owner's, which runs them or records them missed",
			"21 exited long timeout",
			"30 exited sched ",
		}
		if diff := cmp.Diff(want, brief); diff != "" {
			t.Errorf("journal (-want +got):\n%s", diff)
		}
		ended := cl.got(&cl.ended)
		slices.Sort(ended)
		wantEnded := []string{"kill 2 1-15: killed by SIGTERM", "long 1 1-21: timed out (killed by SIGTERM)", "sched 3 5-30: exit 0"}
		if diff := cmp.Diff(wantEnded, ended); diff != "" {
			t.Errorf("claims ended (-want +got):\n%s", diff)
		}
		released := cl.got(&cl.released)
		slices.Sort(released)
		if diff := cmp.Diff([]string{"kill 2@15", "long 1@21"}, released); diff != "" {
			t.Errorf("released once their runs ended (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{`long ["2"] this member, which lost the job with the run queued (triggered by control)`}, cl.got(&cl.forwarded)); diff != "" {
			t.Errorf("forwarded (-want +got):\n%s", diff)
		}
	})
}

func TestClusterClaimsOnTheLoopAndFailedStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			if argv[0] == "missing" {
				return behaviour{startErr: errNoSuchFile}
			}
			return behaviour{run: time.Second}
		}}
		cl := &fakeCluster{epochs: map[string]int64{"fan": 4, "guarded": 5, "broken": 6}}
		fan := &config.Job{Unit: settings("fan"), Triggers: []config.Trigger{{Job: "work"}}}
		work := &config.Job{Unit: settings("work", "work")}
		work.Extra = &config.Extra{Placement: &config.Placement{Each: true}}
		guarded := &config.Job{Unit: settings("guarded", "guarded")}
		broken := &config.Job{Unit: settings("broken", "missing")}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{broken, fan, guarded, work}, nil), Options{Cluster: cl, Events: got.record})
		for _, name := range []string{"fan", "guarded", "broken"} {
			ss.own(cluster.Change{Unit: name, Owned: true, Epoch: cl.epochs[name]})
		}
		ss.own(cluster.Change{Unit: "gone", Owned: false, Epoch: 9, Release: true}) // not in this config: released at once

		// A job without a command runs on the loop: its claim too.
		ss.s.ClusterTrigger("fan", []string{"x"}, "b")
		ss.s.ClusterTrigger("fanx", nil, "b")
		synctest.Wait()
		ss.until(5)
		cl.mu.Lock()
		cl.refuse = map[string]error{"fan": cluster.ErrNotOwner}
		cl.mu.Unlock()
		ss.s.ClusterTrigger("fan", nil, "b") // refused: work is not triggered
		synctest.Wait()

		ss.until(10)
		cl.mu.Lock()
		cl.fenced = true
		cl.mu.Unlock()
		msg, err := ss.s.Trigger("guarded", nil, "control")
		wantMsg(t, "trigger while fenced", msg, err, "guarded could not start; see kopf's log")
		cl.mu.Lock()
		cl.fenced = false
		cl.mu.Unlock()
		ss.until(20)
		msg, err = ss.s.Trigger("broken", nil, "control")
		wantMsg(t, "trigger of a missing command", msg, err, "broken could not start; see kopf's log")
		ss.until(30)
		ss.stop()
		// Once kopf is stopping, a unit handed off is released at once.
		ss.s.OwnerChanged(cluster.Change{Unit: "guarded", Owned: false, Epoch: 5, Release: true})

		if diff := cmp.Diff([]string{"work@0"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		wantClaims := []string{
			"fan@0 [] catch-up=false proc=false",
			"fan@5 [] catch-up=false proc=false",
			"guarded@10 [] catch-up=false proc=false",
			"broken@20 [] catch-up=false proc=false",
		}
		if diff := cmp.Diff(wantClaims, cl.got(&cl.claims)); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		wantEnded := []string{
			"fan 1 0-0: exit 0",
			"guarded 2 10-10: not started: this member's fence deadline passed after the claim",
			"broken 3 20-20: could not start: " + errNoSuchFile.Error(),
		}
		if diff := cmp.Diff(wantEnded, cl.got(&cl.ended)); diff != "" {
			t.Errorf("claims ended (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"gone 9@0", "guarded 5@30"}, cl.got(&cl.released)); diff != "" {
			t.Errorf("released (-want +got):\n%s", diff)
		}
		var errs []string
		for _, ev := range got {
			if ev.Type == journal.SpawnError {
				errs = append(errs, fmt.Sprintf("%s@%g", ev.Unit, ev.Time.Sub(epoch).Seconds()))
			}
		}
		if diff := cmp.Diff([]string{"broken@20"}, errs); diff != "" {
			t.Errorf("spawn errors (-want +got): a fenced claim is none\n%s", diff)
		}
		logs := ss.logs.String()
		for _, want := range []string{
			`a forwarded trigger names fanx: no job named \"fanx\" (did you mean \"fan\"?)`,
			"fan does not run here: " + cluster.ErrNotOwner.Error(),
			"guarded does not start here: the cluster did not grant the run: " + cluster.ErrFenced.Error(),
		} {
			if !strings.Contains(logs, want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}
	})
}

func TestClusterCatchUpOfRecordedMisses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func([]string) behaviour { return behaviour{run: time.Second} }}
		cl := &fakeCluster{}
		all := &config.Job{Unit: settings("all", "all"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")},
			CatchUp: config.CatchUpAll, CatchUpWithin: 30 * time.Second}
		none := &config.Job{Unit: settings("none", "none"), Schedules: []config.Schedule{sched(t, "schedule", "every 1s")}}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{all, none}, nil), Options{Cluster: cl, Events: got.record})
		ss.until(100)
		var tens, ones []time.Time
		for i := 1; i <= 9; i++ {
			tens = append(tens, epoch.Add(time.Duration(i)*10*time.Second))
		}
		for i := 1; i <= maxMissedEvents+50; i++ {
			ones = append(ones, epoch.Add(time.Duration(i)*time.Second/2))
		}
		ss.own(cluster.Change{Unit: "all", Owned: true, Since: epoch.Add(99 * time.Second), Missed: tens})
		ss.own(cluster.Change{Unit: "none", Owned: true, Since: epoch.Add(200 * time.Second), Missed: ones}) // a Since to come counts from now
		ss.until(102.5)
		ss.stop()

		// Within 30s of 100: the instants 70, 80 and 90 run, one after
		// another; the older ones are missed.
		// (Within an instant, the order of an end and a fire is the race
		// of their events: the lists are sorted.)
		if diff := cmp.Diff([]string{"all@100", "all@101", "all@102", "none@101", "none@102"}, sorted(host.startsOf())); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		wantClaims := []string{
			"all@100 [70] catch-up=true proc=false",
			"all@101 [80] catch-up=true proc=false",
			"all@102 [90] catch-up=true proc=false",
			"none@101 [101] catch-up=false proc=false",
			"none@102 [102] catch-up=false proc=false",
		}
		if diff := cmp.Diff(wantClaims, sorted(cl.got(&cl.claims))); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		var missedAll []float64
		var missedNone, counted int
		var countReason string
		for _, ev := range got {
			switch {
			case ev.Type == journal.Missed && ev.Unit == "all":
				missedAll = append(missedAll, ev.At.Sub(epoch).Seconds())
			case ev.Type == journal.Missed && ev.Count > 0:
				counted, countReason = ev.Count, ev.Reason
			case ev.Type == journal.Missed:
				missedNone++
			}
		}
		if diff := cmp.Diff([]float64{10, 20, 30, 40, 50, 60}, missedAll); diff != "" {
			t.Errorf("instants of all journaled missed (-want +got):\n%s", diff)
		}
		if missedNone != maxMissedEvents || counted != 50 || countReason != "50 more instants no member ran (the first 100 are listed one by one)" {
			t.Errorf("none: %d missed one by one and %d counted (%q), want %d and 50", missedNone, counted, countReason, maxMissedEvents)
		}
	})
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// A member frozen between its claim and the start (here: fenced while
// the host starts the run) stops the run as soon as it sees it, before
// the loop takes it as started: no spawned event, no spawn error, the
// claim ended "fenced", a journaled fenced event of the unit. A run that
// starts in time learns the fence deadline of its claim.
func TestClusterStaleStartIsStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl := &fakeCluster{epochs: map[string]int64{"late": 2}, deadline: 4 * time.Second}
		host := &fakeHost{how: func(argv []string) behaviour {
			if time.Since(epoch) < 15*time.Second {
				cl.mu.Lock()
				cl.fenced = true // the freeze: the deadline passes while it starts
				cl.mu.Unlock()
			}
			return behaviour{run: time.Second}
		}}
		j := &config.Job{Unit: settings("late", "late"), Schedules: []config.Schedule{sched(t, "schedule", "every 10s")}}
		var got events
		ss := start(t, host, cfgOf([]*config.Job{j}, nil), Options{Cluster: cl, Events: got.record})
		ss.own(cluster.Change{Unit: "late", Owned: true, Epoch: 2})
		ss.until(11)
		if st := ss.state("late"); st.State == control.Running {
			t.Errorf("the late run is %s", st.State)
		}
		cl.mu.Lock()
		cl.fenced = false
		cl.mu.Unlock()
		ss.until(25)
		ss.stop()

		if diff := cmp.Diff([]string{"late@10", "late@20"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		host.mu.Lock()
		stops := slices.Clone(host.stops)
		host.mu.Unlock()
		if len(stops) == 0 || stops[0] != "1001@10" {
			t.Errorf("stops %q, want the late run's (pid 1001) at once, at 10", stops)
		}
		wantEnded := []string{"late 1 10-10: fenced: " + errStaleStart.Error(), "late 2 20-21: exit 0"}
		if diff := cmp.Diff(wantEnded, cl.got(&cl.ended)); diff != "" {
			t.Errorf("claims ended (-want +got):\n%s", diff)
		}
		var fenced, spawned, spawnErrors []string
		for _, ev := range got {
			at := fmt.Sprintf("%s@%g", ev.Unit, ev.Time.Sub(epoch).Seconds())
			switch ev.Type {
			case journal.Fenced:
				fenced = append(fenced, at)
				if ev.Reason != errStaleStart.Error() || ev.Member != "a" {
					t.Errorf("fenced event %+v", ev)
				}
			case journal.Spawned:
				spawned = append(spawned, at)
			case journal.SpawnError:
				spawnErrors = append(spawnErrors, at)
			}
		}
		if diff := cmp.Diff([]string{"late@10"}, fenced); diff != "" {
			t.Errorf("fenced events (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"late@20"}, spawned); diff != "" || len(spawnErrors) > 0 {
			t.Errorf("spawned %q (want only the run at 20), spawn errors %q", spawned, spawnErrors)
		}
		if env := kopfEnv(envOf(host, 1002)); !slices.Contains(env, "KOPF_FENCE_DEADLINE=2000-01-01T00:00:24Z") {
			t.Errorf("env of the run at 20: %q, want its fence deadline 4s on", env)
		}
		if !strings.Contains(ss.logs.String(), "late: "+errStaleStart.Error()) {
			t.Errorf("the stale start is not logged:\n%s", ss.logs)
		}
	})
}
