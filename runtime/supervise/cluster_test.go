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
	epochs    map[string]int64 // a claim's epoch, by unit
	claims    []string         // "unit@seconds instants catch-up proc"
	ended     []string         // "unit fence start-end: outcome"
	released  []string         // "unit epoch"
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

func (c *fakeCluster) Release(unit string, epoch int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = append(c.released, fmt.Sprintf("%s %d", unit, epoch))
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
		if diff := cmp.Diff([]string{"web 7"}, cl.got(&cl.released)); diff != "" {
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
