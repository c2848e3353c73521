package journal

import (
	"testing"
	"time"
)

// TestSummary: each type of event says what it tells in words, by the
// table; a type it does not know says its reason and error.
func TestSummary(t *testing.T) {
	local := time.Local
	time.Local = time.UTC // Summary writes times in the machine's zone
	defer func() { time.Local = local }()
	at := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	code := 3
	cases := []struct {
		ev   Event
		want string
	}{
		{Event{Type: Acquired, PID: 42}, "kopf pid 42 took the journal"},
		{Event{Type: State, Running: []Proc{{Unit: "web", PID: 7}}, Jobs: []string{"a", "b"}}, "running web pid 7; jobs a, b"},
		{Event{Type: State}, "nothing running; no jobs"},
		{Event{Type: Source, Op: OpRemove, Kind: KindJob, File: "kopf.json"}, "remove job from kopf.json"},
		{Event{Type: Spawned, PID: 9, Args: []string{"x"}, Reasons: []string{"a", "b"}}, "pid 9 with args [x]: a; b"},
		{Event{Type: Exited, PID: 9, Code: &code, Seconds: 2.5, StoppedBy: StoppedTimeout, Leftovers: 2, OutputCut: 10},
			"pid 9 exit 3 after 2.5s (stopped by timeout); stopped 2 processes it left; 10 bytes of output not logged (log-output-max)"},
		{Event{Type: Exited, PID: 9, Signal: "SIGKILL", Kept: 1}, "pid 9 killed by SIGKILL; 1 processes it left keep running"},
		{Event{Type: Leftover, Run: "job-a@3", Action: ActionGone, Reason: "the machine has rebooted since"}, "run job-a@3: gone (the machine has rebooted since)"},
		{Event{Type: Missed, At: at, Source: `schedule "0 4 * * *"`, Reason: "kopf was down"}, `the fire at 2026-12-07 04:00:00.000 +00:00 of schedule "0 4 * * *" did not run: kopf was down`},
		{Event{Type: Fired, At: at, Source: "s", Count: 3}, "s fired at 2026-12-07 04:00:00.000 +00:00; 3 fires joined one run"},
		{Event{Type: Health, Action: ActionFailed, Count: 4, Reason: "connection refused"}, "failed after 4 checks: connection refused"},
		{Event{Type: FileChanged, File: "tor.rc", Action: ActionHUP}, "tor.rc changed: hup"},
		{Event{Type: Alert, Sink: "webhook", Reason: "failure", Action: ActionRetry, Count: 2, Error: "status 500"}, "webhook failure: retry (attempt 2): status 500"},
		{Event{Type: Claimed, At: at, Fence: 12, Member: "m1", Epoch: 5}, "instant 2026-12-07T04:00:00Z: fence 12 on m1 (epoch 5)"},
		{Event{Type: Fenced, Member: "m1", Reason: "the lease expired"}, "m1 stopped acting for the cluster: the lease expired"},
		{Event{Type: Fenced, Member: "m1", Unit: "job", Reason: "the run started late"}, "the run started late"},
		{Event{Type: Mail, Action: ActionSent, To: []string{"ops"}, Reason: "backup"}, "mail sent to ops (backup)"},
		{Event{Type: Dropped, Count: 5, Reason: "5 trigger arguments dropped"}, "5 trigger arguments dropped"},
		{Event{Type: "from_a_newer_kopf", Reason: "why", Error: "what"}, "why: what"},
	}
	for _, c := range cases {
		if got := c.ev.Summary(); got != c.want {
			t.Errorf("%s: Summary() = %q, want %q", c.ev.Type, got, c.want)
		}
	}
}
