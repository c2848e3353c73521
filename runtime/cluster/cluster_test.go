package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kopf/kopf/runtime/cluster/etcdtest"
	"github.com/kopf/kopf/runtime/journal"
)

// The tests run real etcd servers and real leases, so they wait real
// seconds: kopf's least lease keeps them few. (3 s, below it, left a
// member fenced by one late keep-alive and the waits too short when two
// other test runs loaded the machine.)
const testTTL = 5 * time.Second

func init() { minTTL = time.Second }

// patience bounds each wait for the cluster to act: a member joining and
// settling, a unit moving, a fence, a watch event, a keep-alive writing
// what it owes. Each takes a lease or less; other go test runs on a
// 2-core machine stretch that several times, so a wait allows five. The
// waits are retried conditions: what the tests assert is what happened,
// never how soon.
const patience = 5 * testTTL

// tmember is a Member with what its callbacks were told.
type tmember struct {
	*Member
	mu       sync.Mutex
	changes  []Change
	triggers []string
	events   []journal.Event
}

func (tm *tmember) owns(unit string) bool {
	_, ok := tm.Owned()[unit]
	return ok
}

// triggered returns the triggers the member's callback was given.
func (tm *tmember) triggered() []string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return slices.Clone(tm.triggers)
}

// pairOwningJ starts members a and b with one unit, j, that prefers a, and
// waits until a owns it.
func pairOwningJ(t *testing.T) (etcd *etcdtest.Cluster, a, b *tmember) {
	t.Helper()
	etcd = etcdtest.Start(t, 1)
	a, b = join(t, etcd.Endpoints(), "a"), join(t, etcd.Endpoints(), "b")
	u := []Unit{{Name: "j", Fingerprint: "x", Prefer: []string{"a"}}}
	a.SetUnits(u)
	b.SetUnits(u)
	eventually(t, patience, "a owns j", func() bool { return a.owns("j") })
	return etcd, a, b
}

func (tm *tmember) changesOf(unit string) []Change {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	var out []Change
	for _, c := range tm.changes {
		if c.Unit == unit {
			out = append(out, c)
		}
	}
	return out
}

func join(t *testing.T, endpoints []string, name string, tweak ...func(*Config)) *tmember {
	t.Helper()
	tm := &tmember{}
	cfg := Config{
		Endpoints: endpoints, Name: "t", Member: name, TTL: testTTL,
		Owner: func(c Change) {
			tm.mu.Lock()
			tm.changes = append(tm.changes, c)
			tm.mu.Unlock()
		},
		Trigger: func(job string, args []string, by string) {
			tm.mu.Lock()
			tm.triggers = append(tm.triggers, fmt.Sprintf("%s %v %s", job, args, by))
			tm.mu.Unlock()
		},
		Events: func(evs ...journal.Event) {
			tm.mu.Lock()
			tm.events = append(tm.events, evs...)
			tm.mu.Unlock()
		},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	m, err := Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tm.Member = m
	t.Cleanup(func() { m.Close() })
	return tm
}

// eventually waits up to d for ok, polling.
func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !ok(); {
		if time.Now().After(end) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// everySecond lists the whole seconds in (after, until].
func everySecond(after, until time.Time, max int) []time.Time {
	var out []time.Time
	for t := after.Truncate(time.Second).Add(time.Second); !t.After(until) && len(out) < max; t = t.Add(time.Second) {
		out = append(out, t)
	}
	return out
}

func units(names ...string) []Unit {
	var out []Unit
	for _, n := range names {
		out = append(out, Unit{Name: n, Fingerprint: "fp-" + n, Fires: everySecond})
	}
	return out
}

// ownerCount is how many of ms own unit.
func ownerCount(unit string, ms ...*tmember) int {
	n := 0
	for _, m := range ms {
		if m.owns(unit) {
			n++
		}
	}
	return n
}

// Every unit gets exactly one owner, units spread over the members, and
// the owner's callback hears of it with the epoch that etcd holds.
func TestUnitsSpreadOneOwnerEach(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	ms := []*tmember{join(t, etcd.Endpoints(), "a"), join(t, etcd.Endpoints(), "b"), join(t, etcd.Endpoints(), "c")}
	names := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11"}
	for _, m := range ms {
		m.SetUnits(units(names...))
	}
	eventually(t, patience, "every unit owned", func() bool {
		for _, n := range names {
			if ownerCount(n, ms...) != 1 {
				return false
			}
		}
		return true
	})
	st, err := ms[0].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Owners) != len(names) || len(st.Members) != 3 {
		t.Fatalf("status: %d owners, %d members; want %d, 3", len(st.Owners), len(st.Members), len(names))
	}
	for _, o := range st.Owners {
		for _, m := range ms {
			if e, ok := m.Owned()[o.Unit]; ok && (m.Name() != o.Member || e != o.Epoch) {
				t.Errorf("%s: member %s holds epoch %d; etcd says %s at %d", o.Unit, m.Name(), e, o.Member, o.Epoch)
			}
		}
	}
	for _, m := range ms {
		if len(m.Owned()) == 0 {
			t.Errorf("member %s owns nothing of %d units", m.Name(), len(names))
		}
	}
}

// An instant is granted once: to its owner, the first time.
func TestClaimOnce(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a, b := join(t, etcd.Endpoints(), "a"), join(t, etcd.Endpoints(), "b")
	a.SetUnits([]Unit{{Name: "j", Fingerprint: "x", Prefer: []string{"a"}}})
	b.SetUnits([]Unit{{Name: "j", Fingerprint: "x", Prefer: []string{"a"}}})
	eventually(t, patience, "a owns j", func() bool { return a.owns("j") })
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	c1, err := a.Claim(ctx, Request{Unit: "j", Instants: []time.Time{at}, Start: at}, time.Now())
	if err != nil {
		t.Fatalf("owner's first claim: %v", err)
	}
	if _, err := a.Claim(ctx, Request{Unit: "j", Instants: []time.Time{at}, Start: at}, time.Now()); !errors.Is(err, ErrTaken) {
		t.Errorf("second claim of the instant: %v, want ErrTaken", err)
	}
	if _, err := b.Claim(ctx, Request{Unit: "j", Instants: []time.Time{at.Add(time.Second)}, Start: at}, time.Now()); !errors.Is(err, ErrNotOwner) {
		t.Errorf("claim by a member that does not own the job: %v, want ErrNotOwner", err)
	}
	// Two triggered runs claim keys of their own; fences increase.
	r1, err1 := a.Claim(ctx, Request{Unit: "j", Start: at.Add(time.Nanosecond)}, time.Now())
	r2, err2 := a.Claim(ctx, Request{Unit: "j", Start: at.Add(2 * time.Nanosecond)}, time.Now())
	if err1 != nil || err2 != nil || !(c1.Fence < r1.Fence && r1.Fence < r2.Fence) {
		t.Errorf("triggered claims: %v %v, fences %d %d %d", err1, err2, c1.Fence, r1.Fence, r2.Fence)
	}
	a.Ended(c1, at, at.Add(time.Second), "exit 0")
	cs, err := b.Claims(ctx, "j", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[len(cs)-1].Key != "2026-12-06T10:00:00Z" || cs[len(cs)-1].State != "ended" || cs[len(cs)-1].Fence != c1.Fence {
		t.Errorf("claims: %+v", cs)
	}
}

// When the owner leaves, the next member in the order takes the job; the
// instants between the last claim and the take-over are recorded missed,
// never run by the new owner, and a claim left without an outcome by a
// member whose session ended is recorded lost.
func TestTakeOverRecordsMissedAndLost(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	prefer := []string{"a", "b"}
	a, b := join(t, etcd.Endpoints(), "a"), join(t, etcd.Endpoints(), "b")
	u := Unit{Name: "j", Fingerprint: "x", Prefer: prefer, Fires: everySecond}
	a.SetUnits([]Unit{u})
	b.SetUnits([]Unit{u})
	eventually(t, patience, "a owns j", func() bool { return a.owns("j") })
	ctx := context.Background()
	// a claims the two instants after it took j, then nothing for four
	// seconds.
	last := a.changesOf("j")[0].Since.Truncate(time.Second).Add(2 * time.Second)
	if _, err := a.Claim(ctx, Request{Unit: "j", Instants: []time.Time{last.Add(-time.Second)}, Start: last}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Claim(ctx, Request{Unit: "j", Instants: []time.Time{last}, Start: last}, time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(last.Add(4500 * time.Millisecond)))
	// Neither claim has an outcome when a leaves.
	closed := time.Now()
	a.Close() // revokes the lease: j is free at once
	eventually(t, patience, "b owns j", func() bool { return b.owns("j") })
	failover := time.Since(closed)
	gained := b.changesOf("j")
	if len(gained) != 1 || !gained[0].Owned {
		t.Fatalf("b's changes: %+v", gained)
	}
	g := gained[0]
	want := everySecond(last, g.Since, 100)
	if !slices.EqualFunc(g.Missed, want, time.Time.Equal) || len(want) < 4 {
		t.Errorf("missed %v, want %v", g.Missed, want)
	}
	cs, _ := b.Claims(ctx, "j", 100)
	states := map[string]int{}
	for _, c := range cs {
		states[c.State]++
	}
	if states["missed"] != len(want) || states["lost"] != 2 {
		t.Errorf("claim states %v; want %d missed, 2 lost", states, len(want))
	}
	st, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recent := map[string]int{}
	for _, r := range st.Recent {
		recent[r.State]++
	}
	if recent["missed"] != len(want) || recent["lost"] != 2 {
		t.Errorf("status's recent instants %+v; want %d missed, 2 lost", st.Recent, len(want))
	}
	// A missed instant is never claimed by a normal run again; the catch-
	// up of the member that recorded it may.
	if _, err := b.Claim(ctx, Request{Unit: "j", Instants: want[:1], Start: time.Now()}, time.Now()); !errors.Is(err, ErrTaken) {
		t.Errorf("claim of a missed instant: %v, want ErrTaken", err)
	}
	if _, err := b.Claim(ctx, Request{Unit: "j", Instants: want[:1], CatchUp: true, Start: time.Now()}, time.Now()); err != nil {
		t.Errorf("catch-up of a missed instant: %v", err)
	}
	if _, err := b.Claim(ctx, Request{Unit: "j", Instants: want[:1], CatchUp: true, Start: time.Now()}, time.Now()); !errors.Is(err, ErrTaken) {
		t.Errorf("second catch-up of the instant: %v, want ErrTaken", err)
	}
	t.Logf("failover after a clean leave: %s", failover)
}

// Without answered keep-alives a member fences itself before its lease
// can expire: its units are lost and claims refused; once etcd answers
// again it takes its units back.
func TestFenceWhileEtcdIsDown(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a")
	a.SetUnits(units("j"))
	eventually(t, patience, "a owns j", func() bool { return a.owns("j") })
	deadline := a.Deadline()
	etcd.StopNode(0)
	eventually(t, patience, "a fenced", func() bool { return !a.Live() })
	if time.Now().Before(deadline) {
		t.Errorf("fenced before the deadline %s", deadline)
	}
	if _, err := a.Claim(context.Background(), Request{Unit: "j", Instants: []time.Time{time.Now()}, Start: time.Now()}, time.Now()); !errors.Is(err, ErrFenced) {
		t.Errorf("claim while fenced: %v, want ErrFenced", err)
	}
	eventually(t, patience, "j lost", func() bool { return !a.owns("j") && len(a.changesOf("j")) == 2 })
	if c := a.changesOf("j")[1]; c.Owned {
		t.Errorf("second change %+v, want the loss", c)
	}
	etcd.StartNode(0)
	eventually(t, patience, "j owned again", func() bool { return a.owns("j") && a.Live() })
}

// A trigger sent from any member reaches the job's owner, once.
func TestForwardedTrigger(t *testing.T) {
	_, a, b := pairOwningJ(t)
	if err := b.Forward(context.Background(), "j", []string{"x y"}, "job k"); err != nil {
		t.Fatal(err)
	}
	eventually(t, patience, "a triggered", func() bool { return len(a.triggered()) == 1 })
	time.Sleep(200 * time.Millisecond)
	if got, want := a.triggered(), "j [x y] job k on b"; len(got) != 1 || got[0] != want {
		t.Errorf("triggers %q, want [%q]", got, want)
	}
	if got := b.triggered(); len(got) != 0 {
		t.Errorf("b, which does not own j, got %q", got)
	}
}

// A member whose config of a unit differs from the majority's does not
// own it: an owner that finds itself in the minority hands the unit over
// after its run, and status says which member disagrees.
func TestDisagreeingConfigIsNotOwned(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	odd := join(t, etcd.Endpoints(), "odd")
	odd.SetUnits([]Unit{{Name: "j", Fingerprint: "new", Prefer: []string{"odd"}}})
	eventually(t, patience, "odd, alone, owns j", func() bool { return odd.owns("j") })
	a, b := join(t, etcd.Endpoints(), "a"), join(t, etcd.Endpoints(), "b")
	for _, m := range []*tmember{a, b} {
		m.SetUnits([]Unit{{Name: "j", Fingerprint: "old", Prefer: []string{"odd"}}})
	}
	eventually(t, patience, "odd told to release j", func() bool {
		cs := odd.changesOf("j")
		return len(cs) == 2 && cs[1].Release
	})
	odd.Release("j", odd.changesOf("j")[1].Epoch)
	eventually(t, patience, "a or b owns j", func() bool { return ownerCount("j", a, b) == 1 })
	time.Sleep(testTTL) // odd's balancer runs again, and must not take j back
	if odd.owns("j") || ownerCount("j", a, b) != 1 {
		t.Errorf("after a while: odd owns j %v, a or b %d", odd.owns("j"), ownerCount("j", a, b))
	}
	st, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, mi := range st.Members {
		if want := mi.Member == "odd"; want != slices.Contains(mi.Disagrees, "j") {
			t.Errorf("status of %s: disagrees %v", mi.Member, mi.Disagrees)
		}
	}
}

// A handoff moves a unit to the member named, once its owner releases it.
func TestHandoff(t *testing.T) {
	etcd, a, b := pairOwningJ(t)
	// A handoff nobody could complete is refused at once, and leaves no key.
	odd := join(t, etcd.Endpoints(), "odd")
	odd.SetUnits([]Unit{{Name: "j", Fingerprint: "y"}})
	eventually(t, patience, "b sees odd's units", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.members["odd"].Units == 1
	})
	for to, want := range map[string]string{
		"c":   `no member named "c" is alive in cluster t (members: a, b, odd)`,
		"a":   "a owns j already",
		"odd": "member odd's config of j differs from the majority's",
	} {
		if err := b.Handoff(context.Background(), "j", to); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("handoff of j to %s: %v, want %q", to, err, want)
		}
	}
	if resp, err := client(t, etcd).Get(context.Background(), "/kopf/t/handoff/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || resp.Count != 0 {
		t.Errorf("refused handoffs left %d keys (%v)", resp.Count, err)
	}
	if err := b.Handoff(context.Background(), "j", "b"); err != nil {
		t.Fatal(err)
	}
	eventually(t, patience, "a told to release", func() bool { cs := a.changesOf("j"); return len(cs) == 2 && cs[1].Release })
	if b.owns("j") {
		t.Fatal("b owns j before a released it")
	}
	a.Release("j", a.changesOf("j")[1].Epoch)
	eventually(t, patience, "b owns j", func() bool { return b.owns("j") })
}

// An owner that held a job without claiming anything (it left before the
// job's first instant) still hands over a starting point: the instants
// after it took the job and before the next owner did are recorded
// missed.
func TestMarkCoversAnOwnerThatNeverClaimed(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	u := Unit{Name: "j", Fingerprint: "x", Prefer: []string{"a", "b"}, Fires: everySecond}
	a := join(t, etcd.Endpoints(), "a")
	a.SetUnits([]Unit{u})
	eventually(t, patience, "a owns j", func() bool { return a.owns("j") })
	took := a.changesOf("j")[0].Since
	time.Sleep(2500 * time.Millisecond) // instants pass, unclaimed
	b := join(t, etcd.Endpoints(), "b")
	b.SetUnits([]Unit{u})
	a.Close()
	eventually(t, patience, "b owns j", func() bool { return b.owns("j") })
	g := b.changesOf("j")[0]
	if want := everySecond(took, g.Since, 100); len(want) < 2 || !slices.EqualFunc(g.Missed, want, time.Time.Equal) {
		t.Errorf("missed %v, want %v (a took j at %s)", g.Missed, want, took.Format(time.RFC3339Nano))
	}
}

// A member's clock offset, as the others measure it from its keep-alives:
// its clock jumps 90 s ahead after it joined, which only the clocks it
// writes at each keep-alive can show.
func TestClockOffset(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a")
	var skew atomic.Int64
	join(t, etcd.Endpoints(), "ahead", func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	skew.Store(int64(90 * time.Second))
	var off time.Duration
	eventually(t, patience, "ahead's offset measured", func() bool {
		st, err := a.Status(context.Background())
		if err != nil {
			return false
		}
		for _, mi := range st.Members {
			if mi.Member == "ahead" {
				off = mi.Offset
			}
		}
		return off > 89*time.Second && off <= 90*time.Second
	})
}

// Claims older than the retention go, of an owned job and of one no
// member has any more; the newer stay.
func TestCollect(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a", func(c *Config) { c.Retention = time.Hour })
	a.SetUnits([]Unit{{Name: "j", Fingerprint: "x", Fires: everySecond}, {Name: "gone", Fingerprint: "y", Fires: everySecond}})
	eventually(t, patience, "a owns both", func() bool { return a.owns("j") && a.owns("gone") })
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	for _, job := range []string{"j", "gone"} {
		for _, at := range []time.Time{now.Add(-2 * time.Hour), now.Add(-90 * time.Minute), now.Add(-time.Minute)} {
			if _, err := a.Claim(ctx, Request{Unit: job, Instants: []time.Time{at}, Start: at}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.SetUnits([]Unit{{Name: "j", Fingerprint: "x", Fires: everySecond}}) // "gone" leaves the config
	eventually(t, patience, "gone released", func() bool { return !a.owns("gone") })
	n, err := a.Collect(ctx)
	if err != nil || n != 4 {
		t.Errorf("Collect deleted %d claims (%v), want 4", n, err)
	}
	for _, job := range []string{"j", "gone"} {
		cs, _ := a.Claims(ctx, job, 10)
		if len(cs) != 1 || cs[0].Key != instantKey(now.Add(-time.Minute)) {
			t.Errorf("%s's claims after Collect: %+v", job, cs)
		}
	}
	// Seen from two hours later, the marks are older than the retention:
	// the mark of the job nobody owns goes, the owned job's stays.
	later := join(t, etcd.Endpoints(), "later", func(c *Config) {
		c.Retention = time.Hour
		c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	})
	if _, err := later.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	for job, want := range map[string]int64{"j": 1, "gone": 0} {
		resp, err := later.cli.Get(ctx, later.key("marks", job), clientv3.WithCountOnly())
		if err != nil || resp.Count != want {
			t.Errorf("%s's mark: %d (%v), want %d", job, resp.Count, err, want)
		}
	}
}

// A run that several instants joined, one of them claimed already, does
// not start; the others are recorded missed once the keep-alive loop
// writes them.
func TestPartlyTakenRun(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a")
	a.SetUnits(units("j"))
	eventually(t, patience, "a owns j", func() bool { return a.owns("j") })
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Second).Add(time.Minute)
	if _, err := a.Claim(ctx, Request{Unit: "j", Instants: []time.Time{t0.Add(time.Second)}, Start: t0}, time.Now()); err != nil {
		t.Fatal(err)
	}
	joined := []time.Time{t0, t0.Add(time.Second), t0.Add(2 * time.Second)}
	if _, err := a.Claim(ctx, Request{Unit: "j", Instants: joined, Start: t0}, time.Now()); !errors.Is(err, ErrTaken) {
		t.Fatalf("claim of a run with a taken instant: %v, want ErrTaken", err)
	}
	eventually(t, patience, "the other two recorded missed", func() bool {
		cs, _ := a.Claims(ctx, "j", 10)
		states := map[string]string{}
		for _, c := range cs {
			states[c.Key] = c.State
		}
		return states[instantKey(t0)] == "missed" && states[instantKey(t0.Add(2*time.Second))] == "missed" && states[instantKey(t0.Add(time.Second))] == "claimed"
	})
}

// A member that starts while etcd does not answer starts all the same,
// unjoined: it acts for the cluster only once etcd answers, and then
// takes its units like any member.
func TestJoinWhileEtcdIsDown(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	etcd.StopNode(0)
	start := time.Now()
	a := join(t, etcd.Endpoints(), "a", func(c *Config) { c.DialTimeout = time.Second })
	if d := time.Since(start); d > patience {
		t.Errorf("Join took %s with etcd down; want about the dial timeout (1 s), not until etcd answers", d)
	}
	a.SetUnits(units("j"))
	if a.Live() {
		t.Error("live without a session")
	}
	if _, err := a.Claim(context.Background(), Request{Unit: "j", Instants: []time.Time{time.Now()}, Start: time.Now()}, time.Now()); !errors.Is(err, ErrFenced) {
		t.Errorf("claim before joining: %v, want ErrFenced", err)
	}
	if err := a.Handoff(context.Background(), "j", ""); !errors.Is(err, ErrNotJoined) {
		t.Errorf("handoff before joining: %v, want ErrNotJoined", err)
	}
	if st, err := a.Status(context.Background()); err != nil || st.Joined || st.Live || st.Etcd == "" {
		t.Errorf("status with etcd down: %+v %v, want unjoined, with etcd's error", st, err)
	}
	etcd.StartNode(0)
	eventually(t, patience, "j owned once etcd answers", func() bool { return a.owns("j") && a.Live() })
	cli := client(t, etcd)
	resp, err := cli.Get(context.Background(), "/kopf/t/members/a")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("a's record: %v %v", resp, err)
	}
	if got, want := clientv3.LeaseID(resp.Kvs[0].Lease), a.currentLease(); got != want || got == 0 {
		t.Errorf("a's record is on lease %x, want its session's %x", got, want)
	}
	if st, err := a.Status(context.Background()); err != nil || !st.Joined || !st.Live || st.Etcd != "" {
		t.Errorf("status %+v %v, want joined and live", st, err)
	}
}

// Two members of one name: the second waits for the first's record to
// go, and when it does not (the first is alive), refuses to join; the
// first keeps its record and its units.
func TestDuplicateMemberName(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "x")
	a.SetUnits(units("j"))
	eventually(t, patience, "a owns j", func() bool { return a.owns("j") })
	lease := a.currentLease()
	_, err := Join(context.Background(), Config{Endpoints: etcd.Endpoints(), Name: "t", Member: "x", TTL: testTTL, DialTimeout: time.Second})
	var dup *DuplicateError
	if !errors.As(err, &dup) || dup.Record.Lease != int64(lease) {
		t.Fatalf("second member named x: %v, want a DuplicateError naming a's lease %x", err, lease)
	}
	if !a.Live() || !a.owns("j") || a.currentLease() != lease {
		t.Error("the first member lost its session or its unit")
	}
}

// A member that starts again on the same host, after a crash, ends the
// lease its previous run left behind rather than waiting it out; while a
// record of that name is held by a process that is alive, it waits.
func TestRestartEndsThePreviousRunsLease(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	cli := client(t, etcd)
	host, _ := os.Hostname()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	// Gone, in this pid namespace: its lease ends. Alive: a duplicate. Gone
	// but of another pid namespace (another container of the same host
	// name): its pid says nothing here, so a duplicate too.
	for _, tc := range []struct {
		pid  int
		ns   string
		ends bool
	}{{gone.Process.Pid, pidNamespace(), true}, {os.Getppid(), pidNamespace(), false}, {gone.Process.Pid, "pid:[1]", false}} {
		g, err := cli.Grant(context.Background(), int64(testTTL/time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ka, err := cli.KeepAlive(context.Background(), g.ID)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for range ka {
			}
		}()
		rec, _ := json.Marshal(Record{Member: "x", Host: host, PID: tc.pid, BootID: "boot", PIDNS: tc.ns, Lease: int64(g.ID)})
		if _, err := cli.Put(context.Background(), "/kopf/t/members/x", string(rec), clientv3.WithLease(g.ID)); err != nil {
			t.Fatal(err)
		}
		m, err := Join(context.Background(), Config{Endpoints: etcd.Endpoints(), Name: "t", Member: "x", TTL: testTTL, DialTimeout: time.Second, BootID: "boot"})
		if !tc.ends {
			if !errors.As(err, new(*DuplicateError)) {
				t.Errorf("pid %d in %s: %v, want a DuplicateError", tc.pid, tc.ns, err)
			}
			if err == nil {
				m.Close()
			}
			cli.Revoke(context.Background(), g.ID)
			continue
		}
		if err != nil {
			t.Fatalf("pid %d gone: %v", tc.pid, err)
		}
		if ttl, err := cli.TimeToLive(context.Background(), g.ID); err != nil || ttl.TTL != -1 {
			t.Errorf("the previous run's lease: %+v %v, want it revoked", ttl, err)
		}
		m.Close()
	}
}

// client is an etcd client of the test's own.
func client(t *testing.T, etcd *etcdtest.Cluster) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: quietZap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Unit names are any text: "a/b" is its own unit, not the unit "a" with
// more after it, in owners, claims, triggers and handoffs.
func TestNamesWithSlashes(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a, b := join(t, etcd.Endpoints(), "a"), join(t, etcd.Endpoints(), "b")
	u := []Unit{
		{Name: "x", Fingerprint: "1", Prefer: []string{"a"}, Fires: everySecond},
		{Name: "x/y", Fingerprint: "2", Prefer: []string{"b"}, Fires: everySecond},
		{Name: "x y%2F", Fingerprint: "3", Prefer: []string{"a"}, Fires: everySecond},
	}
	a.SetUnits(u)
	b.SetUnits(u)
	eventually(t, patience, "each unit owned by its preferred member", func() bool {
		return a.owns("x") && b.owns("x/y") && a.owns("x y%2F") && !b.owns("x") && !a.owns("x/y")
	})
	at := time.Now().Truncate(time.Second).Add(time.Second)
	for _, c := range []struct {
		m    *tmember
		unit string
	}{{a, "x"}, {b, "x/y"}, {a, "x y%2F"}} {
		if _, err := c.m.Claim(context.Background(), Request{Unit: c.unit, Instants: []time.Time{at}, Start: time.Now()}, time.Now()); err != nil {
			t.Errorf("claim of %s at %s: %v", c.unit, at, err)
		}
	}
	for _, unit := range []string{"x", "x/y", "x y%2F"} {
		cs, err := a.Claims(context.Background(), unit, 10)
		if err != nil || len(cs) != 1 {
			t.Errorf("claims of %s: %+v %v, want its one claim", unit, cs, err)
		}
	}
	if err := a.Forward(context.Background(), "x/y", nil, "t"); err != nil {
		t.Fatal(err)
	}
	eventually(t, patience, "b triggered", func() bool { return len(b.triggered()) == 1 })
	if got, want := b.triggered()[0], "x/y [] t on a"; got != want {
		t.Errorf("b's trigger %q, want %q", got, want)
	}
	st, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, o := range st.Owners {
		owners[o.Unit] = o.Member
	}
	if want := map[string]string{"x": "a", "x/y": "b", "x y%2F": "a"}; !maps.Equal(owners, want) {
		t.Errorf("owners in status %v, want %v", owners, want)
	}
	if err := a.Handoff(context.Background(), "x y%2F", "b"); err != nil {
		t.Fatal(err)
	}
	eventually(t, patience, "x y%2F handed to b", func() bool {
		for _, c := range a.changesOf("x y%2F") {
			if c.Release {
				a.Release("x y%2F", c.Epoch)
				return true
			}
		}
		return false
	})
	eventually(t, patience, "b owns x y%2F", func() bool { return b.owns("x y%2F") && a.owns("x") })
}

// A take that a reload overtook — SetUnits dropped the unit after
// takeFree listed it, before its owners/ key was written — leaves no key
// behind: the member does not own the unit, which another member may
// take (or, moved to placement "each", nobody owns).
func TestTakeOfAUnitDroppedMeanwhile(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a")
	eventually(t, patience, "a live", a.Live)
	g := shardOf("j", DefaultShards)
	a.take(g) // j was never in a's units, as if dropped meanwhile
	if a.owns("j") {
		t.Error("a owns j, which its config no longer has")
	}
	if resp, err := client(t, etcd).Get(context.Background(), "/kopf/t/owners/"+g, clientv3.WithCountOnly()); err != nil || resp.Count != 0 {
		t.Errorf("j's group's owners/ key: %d (%v), want none", resp.Count, err)
	}
}
