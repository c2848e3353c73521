package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/cluster/etcdtest"
)

// A run that ends while etcd does not answer — on-lease-loss "kill" in a
// partition — has its outcome written once etcd answers again, not left
// to be called lost.
func TestOutcomeWrittenAfterEtcdReturns(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a := join(t, etcd.Endpoints(), "a")
	a.SetUnits([]Unit{{Name: "j", Fingerprint: "x"}}) // no fires: nothing recorded missed meanwhile
	eventually(t, 5*time.Second, "a owns j", func() bool { return a.owns("j") })
	at := time.Now().Truncate(time.Second)
	c, err := a.Claim(context.Background(), Request{Unit: "j", Instants: []time.Time{at}, Start: time.Now()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	etcd.StopNode(0)
	a.Ended(c, at, time.Now(), "killed: its member's lease was lost (on-lease-loss kill)")
	etcd.StartNode(0)
	eventually(t, 5*testTTL, "the outcome is in the claim", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		cs, err := a.Claims(ctx, "j", 5)
		return err == nil && len(cs) == 1 && cs[0].State == "ended" && cs[0].Outcome == "killed: its member's lease was lost (on-lease-loss kill)"
	})
}
