package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kopf/kopf/runtime/cluster/etcdtest"
)

// etcdRanges is how many range reads the embedded etcd servers of this
// process have served (each transaction's comparisons read too).
func etcdRanges(t *testing.T) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "etcd_mvcc_range_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no etcd_mvcc_range_total")
	return 0
}

// Ownership is by shard: 2,000 units on three members are owned through
// at most DefaultShards owners/ keys, spread over the three; the member
// records stay small whatever the number of units; and a cluster where
// every shard has its owner sends etcd next to nothing while it is
// quiet — no request per unit, nor per shard.
func TestShardsScale(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	var all []Unit
	for i := range 2000 {
		all = append(all, Unit{Name: fmt.Sprintf("job-%04d", i), Fingerprint: "same", Fires: everySecond})
	}
	ms := []*tmember{join(t, etcd.Endpoints(), "a"), join(t, etcd.Endpoints(), "b"), join(t, etcd.Endpoints(), "c")}
	for _, m := range ms {
		m.SetUnits(all)
	}
	eventually(t, 20*testTTL, "every unit owned once", func() bool {
		n := 0
		for _, m := range ms {
			n += len(m.Owned())
		}
		return n == len(all)
	})
	for _, u := range all {
		if n := ownerCount(u.Name, ms...); n != 1 {
			t.Fatalf("%s has %d owners", u.Name, n)
		}
	}
	for _, m := range ms {
		if n := len(m.Owned()); n < len(all)/6 {
			t.Errorf("%s owns %d of %d units: not spread", m.Name(), n, len(all))
		}
	}
	cli := client(t, etcd)
	ctx := context.Background()
	owners, err := cli.Get(ctx, "/kopf/t/owners/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || owners.Count > DefaultShards {
		t.Errorf("%d owners/ keys (%v), want at most one per shard, %d", owners.Count, err, DefaultShards)
	}
	records, err := cli.Get(ctx, "/kopf/t/members/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range records.Kvs {
		if len(kv.Value) > 16<<10 {
			t.Errorf("%s's record is %d bytes: it grows with the units", kv.Key, len(kv.Value))
		}
	}

	// Quiet: keep-alives and clocks only. Before shards, each member sent
	// a transaction per unit it did not own every lease: 2,600 reads a
	// lease here.
	before := etcdRanges(t)
	time.Sleep(2 * testTTL)
	if n := etcdRanges(t) - before; n > 60 {
		t.Errorf("etcd served %.0f reads in two quiet leases, want a few per member", n)
	}
}

// A handoff of a unit that is in a shard moves its whole shard: the
// owner releases the shard's key once every unit of it was released.
func TestHandoffMovesTheShard(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a")
	// Two units in one shard, found by their names' hash.
	first := "x-0"
	var second string
	for i := 1; second == ""; i++ {
		if name := fmt.Sprintf("x-%d", i); shardOf(name, DefaultShards) == shardOf(first, DefaultShards) {
			second = name
		}
	}
	us := []Unit{{Name: first, Fingerprint: "f"}, {Name: second, Fingerprint: "f"}}
	a.SetUnits(us)
	eventually(t, 5*testTTL, "a owns both", func() bool { return a.owns(first) && a.owns(second) })
	b := join(t, etcd.Endpoints(), "b")
	b.SetUnits(us)
	eventually(t, 5*testTTL, "a sees b", func() bool { a.mu.Lock(); defer a.mu.Unlock(); _, ok := a.members["b"]; return ok })
	eventually(t, 5*testTTL, "b sees both records with the shard", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(order(shardOf(second, DefaultShards), nil, b.members)) == 2
	})
	if err := b.Handoff(context.Background(), second, "b"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*testTTL, "a told to release both", func() bool {
		return len(a.changesOf(first)) == 2 && a.changesOf(first)[1].Release && len(a.changesOf(second)) == 2 && a.changesOf(second)[1].Release
	})
	epoch := a.changesOf(first)[1].Epoch
	a.Release(first, epoch)
	time.Sleep(testTTL / 2)
	if b.owns(first) || b.owns(second) {
		t.Fatal("b owns the shard before a released its last unit")
	}
	a.Release(second, epoch)
	eventually(t, 5*testTTL, "b owns both", func() bool { return b.owns(first) && b.owns(second) })
}

// The first member sets the cluster's number of shards; a member whose
// setting differs goes by the cluster's, and says so: two numbers would
// put a unit in two groups, owned by two members.
func TestShardsSetByTheFirstMember(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a", func(c *Config) { c.Shards = 16 })
	var log syncBuffer
	b := join(t, etcd.Endpoints(), "b", func(c *Config) {
		c.Shards = 64
		c.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	if !strings.Contains(log.String(), "t has 16 shards, this member's setting says 64") {
		t.Errorf("no warning:\n%s", log.String())
	}
	us := units("j1", "j2", "j3", "j4", "j5", "j6")
	a.SetUnits(us)
	b.SetUnits(us)
	eventually(t, 5*testTTL, "each unit owned once", func() bool {
		for _, u := range us {
			if ownerCount(u.Name, a, b) != 1 {
				return false
			}
		}
		return true
	})
	owners, err := client(t, etcd).Get(context.Background(), "/kopf/t/owners/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range owners.Kvs {
		var n int
		if _, err := fmt.Sscanf(string(kv.Key), "/kopf/t/owners/s/%d", &n); err != nil || n >= 16 {
			t.Errorf("owner key %s: not one of 16 shards", kv.Key)
		}
	}
}
