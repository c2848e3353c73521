package cluster

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kopf/kopf/runtime/cluster/etcdtest"
)

// TestWithInstalledEtcd runs the member's tests again on the etcd binary
// users install — Debian's etcd-server (3.4, the oldest kopf supports),
// an upstream release — as processes, beside the embedded server every
// other test uses: $KOPF_TEST_ETCD, or etcd on PATH (.ci/run installs
// Debian's).
func TestWithInstalledEtcd(t *testing.T) {
	bin := os.Getenv("KOPF_TEST_ETCD")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("etcd"); err != nil {
			t.Skip("no etcd binary on PATH and no $KOPF_TEST_ETCD (Debian: apt-get install etcd-server)")
		}
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	t.Logf("%s: %s", bin, strings.SplitN(string(out), "\n", 2)[0])
	etcdtest.UseBinary(t, bin)
	for name, test := range map[string]func(*testing.T){
		"UnitsSpreadOneOwnerEach":        TestUnitsSpreadOneOwnerEach,
		"ClaimOnce":                      TestClaimOnce,
		"TakeOverRecordsMissedAndLost":   TestTakeOverRecordsMissedAndLost,
		"FenceWhileEtcdIsDown":           TestFenceWhileEtcdIsDown,
		"ForwardedTrigger":               TestForwardedTrigger,
		"Handoff":                        TestHandoff,
		"PartlyTakenRun":                 TestPartlyTakenRun,
		"OutcomeWrittenAfterEtcdReturns": TestOutcomeWrittenAfterEtcdReturns,
		"HandoffMovesTheShard":           TestHandoffMovesTheShard,
		"Collect":                        TestCollect,
	} {
		t.Run(name, test)
	}
}
