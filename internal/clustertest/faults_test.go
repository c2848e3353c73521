package clustertest

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// Three members, a job every second; the job's owner is SIGKILLed and
// restarted at random moments. Its lease outlives it, so the job stops
// for up to the lease's TTL; the next member records those instants
// missed and runs the rest. Nothing runs twice.
func TestKillOwner(t *testing.T) {
	w := newWorld(t, 1)
	cfg := w.config("kopf.json", []string{"tick"}, "")
	for _, m := range []string{"m1", "m2", "m3"} {
		w.start(m, cfg)
	}
	w.waitMembers(3)
	w.eventually(15*time.Second, "tick owned", func() bool { return w.owner("tick") != "" })
	from := time.Now()
	end := from.Add(time.Duration(*seconds) * time.Second)
	var failovers []time.Duration
	for time.Now().Before(end.Add(-3 * lease)) {
		time.Sleep(time.Duration(1000+rand.IntN(3000)) * time.Millisecond)
		victim := w.owner("tick")
		if victim == "" {
			continue
		}
		killed := time.Now()
		w.kill(victim, syscall.SIGKILL)
		w.eventually(4*lease, "a new owner", func() bool { o := w.owner("tick"); return o != "" && o != victim })
		failovers = append(failovers, time.Since(killed))
		w.restart(victim)
	}
	time.Sleep(time.Until(end))
	to := time.Now().Add(-2 * time.Second) // the last instants' runs may still be starting
	for name := range w.members {
		w.kill(name, syscall.SIGTERM)
	}
	rep := w.check("tick", from, to)
	t.Logf("SIGKILL of the owner, %d times: %s; failover after a kill %v", len(failovers), rep, failovers)
	if rep.ran == 0 || len(failovers) == 0 {
		t.Errorf("nothing happened: %s", rep)
	}
}
