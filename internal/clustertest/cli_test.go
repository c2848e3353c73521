package clustertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// kopfCLI runs a client command against a member's socket.
func (w *world) kopfCLI(member string, args ...string) (string, error) {
	sock := filepath.Join(w.dir, member, "sock")
	cmd := exec.Command(w.kopf, append([]string{args[0], "--socket", sock}, args[1:]...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// What an operator sees and does: status on a member that does not own
// a job, a trigger sent to the member that does not own the job, the
// claims, a handoff, and a proc of placement "each" running on both.
func TestOperatorCommands(t *testing.T) {
	w := newWorld(t, 1)
	manual := filepath.Join(w.dir, "manual")
	cfg := filepath.Join(w.dir, "kopf.json")
	os.WriteFile(cfg, []byte(`{
  "jobs": {
    "tick": {"schedule": "every 1s", "prefer": ["m1"], "log-start": false, "command": "echo tick $KOPF_INSTANT $KOPF_MEMBER $KOPF_FENCE >> `+w.runs+`"},
    "manual": {"prefer": ["m1"], "command": "echo \"manual $KOPF_MEMBER $KOPF_FENCE $*\" >> `+manual+`"},
    "yearly": {"schedule": "0 0 1 1 *", "command": "true"}
  },
  "procs": {"agent": {"placement": "each", "command": "sleep 1000"}}
}`), 0o644)
	// m1 first: a member that joins later takes nothing back, preferred
	// or not, and a loaded machine may start m1 after m2 has settled.
	w.start("m1", cfg)
	w.waitMembers(1)
	w.start("m2", cfg)
	w.waitMembers(2)
	w.eventually(patience(), "m1 owns tick", func() bool { return w.owner("tick") == "m1" && w.owner("manual") == "m1" })
	// The status shows what m2 has heard and done so far (its proc may
	// still be starting): asked again until it has all, or patience ran out.
	wants := []string{"tick", "elsewhere", "agent", "running", "cluster t, seen from member m2 (live)", "m1", "UNIT", "OWNER"}
	var out string
	var err error
	for end := time.Now().Add(patience()); ; time.Sleep(200 * time.Millisecond) {
		out, err = w.kopfCLI("m2", "status")
		if err != nil {
			t.Fatalf("kopf status: %v\n%s", err, out)
		}
		if !slices.ContainsFunc(wants, func(s string) bool { return !strings.Contains(out, s) }) || time.Now().After(end) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("kopf status on m2 lacks %q:\n%s", want, out)
		}
	}
	if _, err := w.kopfCLI("m1", "status"); err != nil {
		t.Fatal(err)
	}
	if out, err := w.kopfCLI("m2", "start", "tick"); err == nil || !strings.Contains(out, "runs on another member") {
		t.Errorf("kopf start on a member that does not own the job: %v %q", err, out)
	}
	// A trigger sent to m2 runs the job on m1, once.
	out, err = w.kopfCLI("m2", "trigger", "manual", "a b")
	if err != nil || !strings.Contains(out, "forwarded") {
		t.Errorf("kopf trigger on m2: %v %q", err, out)
	}
	w.eventually(patience(), "the manual run", func() bool { b, _ := os.ReadFile(manual); return len(b) > 0 })
	time.Sleep(time.Second)
	b, _ := os.ReadFile(manual)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "manual m1 ") || !strings.HasSuffix(lines[0], " a b") {
		t.Errorf("the triggered runs: %q, want one on m1 with its arguments", lines)
	}
	if out, err := w.kopfCLI("m2", "cluster", "claims", "tikc"); err == nil || !strings.Contains(out, `no job named "tikc" (did you mean "tick"?), and the cluster has no claims of it`) {
		t.Errorf("kopf cluster claims of a typo: %v %q", err, out)
	}
	if out, err := w.kopfCLI("m2", "cluster", "claims", "yearly"); err != nil || out != "no claims of yearly yet\n" {
		t.Errorf("kopf cluster claims of a job never run: %v %q", err, out)
	}
	if out, err := w.kopfCLI("m2", "cluster", "claims", "--json", "yearly"); err != nil || out != "[]\n" {
		t.Errorf("kopf cluster claims --json of a job never run: %v %q", err, out)
	}
	// The latest claims may all be of runs not yet ended: asked again
	// until one has its outcome.
	for end := time.Now().Add(patience()); ; time.Sleep(200 * time.Millisecond) {
		out, err = w.kopfCLI("m2", "cluster", "claims", "tick", "3")
		if err != nil || strings.Contains(out, "exit 0") || time.Now().After(end) {
			break
		}
	}
	if err != nil || !strings.Contains(out, "ended") || !strings.Contains(out, "exit 0") || strings.Count(out, "\n") > 4 {
		t.Errorf("kopf cluster claims tick 3: %v\n%s", err, out)
	}
	out, err = w.kopfCLI("m2", "cluster", "members")
	if err != nil || !strings.Contains(out, "m1") || !strings.Contains(out, "m2") {
		t.Errorf("kopf cluster members: %v\n%s", err, out)
	}
	// A handoff that cannot happen is refused, with the reason.
	for _, c := range [][]string{
		{"tikc", `no job or proc named "tikc" (did you mean "tick"?)`},
		{"agent", `agent runs on every member (placement "each")`},
		{"tick", `no member named "m3" is alive`, "m3"},
		{"tick", "m1 owns tick already", "m1"},
	} {
		if out, err := w.kopfCLI("m2", append([]string{"cluster", "handoff"}, slices.Delete(slices.Clone(c), 1, 2)...)...); err == nil || !strings.Contains(out, c[1]) {
			t.Errorf("kopf cluster handoff %s: %v %q, want %q", c[0], err, out, c[1])
		}
	}
	// The handoff moves tick after its current run.
	if out, err := w.kopfCLI("m2", "cluster", "handoff", "tick", "m2"); err != nil {
		t.Fatalf("handoff: %v %s", err, out)
	}
	w.eventually(patience(), "m2 owns tick", func() bool { return w.owner("tick") == "m2" })
	moved := time.Now()
	// Instants after the handoff, which m2 runs and m1 must not.
	w.eventually(patience(), "m2 runs tick after the handoff", func() bool {
		n := 0
		for _, r := range w.readRuns() {
			if at, _ := time.Parse(time.RFC3339, r.instant); r.member == "m2" && at.After(moved) {
				n++
			}
		}
		return n >= 3
	})
	for name := range w.members {
		w.kill(name, syscall.SIGTERM)
	}
	for _, r := range w.readRuns() {
		at, _ := time.Parse(time.RFC3339, r.instant)
		if r.member != "m2" && at.After(moved.Add(time.Second)) {
			t.Errorf("m1 ran tick at %s, after the handoff to m2", r.instant)
		}
	}
}

// The config file's "cluster" section is enough to join: no --cluster.
// A claimed run that cannot start says so in its claim.
func TestClusterFromTheConfigFile(t *testing.T) {
	w := newWorld(t, 1)
	cfg := filepath.Join(w.dir, "kopf.json")
	os.WriteFile(cfg, []byte(`{"cluster": {"etcd": "`+strings.Join(w.etcd.Endpoints(), ",")+`", "name": "t", "lease": "5s"},
  "jobs": {"tick": {"schedule": "every 1s", "command": "echo tick $KOPF_INSTANT $KOPF_MEMBER $KOPF_FENCE >> `+w.runs+`"},
           "broken": {"schedule": "every 1s", "command": ["/nonexistent/broken"]}}}`), 0o644)
	dir := filepath.Join(w.dir, "solo")
	os.MkdirAll(dir, 0o755)
	w.launch(&member{name: "solo", args: []string{"run", "--member", "solo", "--journal", filepath.Join(dir, "journal.jsonl"),
		"--socket", filepath.Join(dir, "sock"), "--cgroup", "none", cfg}})
	w.waitMembers(1)
	w.eventually(patience(), "solo runs tick", func() bool {
		for _, r := range w.readRuns() {
			if r.member == "solo" {
				return true
			}
		}
		return false
	})
	w.eventually(patience(), "broken's claim says it could not start", func() bool {
		for _, c := range w.claims("broken") {
			if c.State == "ended" {
				return true
			}
		}
		return false
	})
	out, err := w.kopfCLI("solo", "cluster", "claims", "broken", "1")
	if err != nil || !strings.Contains(out, "could not start") || !strings.Contains(out, "/nonexistent/broken") {
		t.Errorf("kopf cluster claims broken: %v\n%s", err, out)
	}
}

// Losing a unit mid-run: a proc is stopped and starts on its new owner; a
// job with on-lease-loss "kill" is stopped, one with the default "finish"
// runs to its end before the handoff completes, and a trigger queued
// behind that run goes to the new owner. The run of "finish" ends when
// the test opens its gate, not after some seconds a loaded machine could
// spend before the test has looked.
func TestLeaseLossPolicies(t *testing.T) {
	w := newWorld(t, 1)
	marks := filepath.Join(w.dir, "marks")
	gate := filepath.Join(w.dir, "gate")
	cfg := filepath.Join(w.dir, "kopf.json")
	os.WriteFile(cfg, []byte(`{
  "jobs": {
    "killed":   {"prefer": ["m1"], "on-lease-loss": "kill", "stop-time": 1, "command": "echo start-killed $KOPF_MEMBER >> `+marks+`; sleep 30; echo end-killed >> `+marks+`"},
    "finished": {"prefer": ["m1"], "command": "echo start-finished $KOPF_MEMBER >> `+marks+`; while [ ! -e `+gate+` ]; do sleep 0.1; done; echo end-finished $KOPF_MEMBER >> `+marks+`"}
  },
  "procs": {"daemon": {"prefer": ["m1"], "stop-time": 1, "command": "echo proc $KOPF_MEMBER >> `+marks+`; exec sleep 1000"}}
}`), 0o644)
	w.start("m1", cfg)
	w.waitMembers(1)
	w.start("m2", cfg)
	w.waitMembers(2)
	w.eventually(patience(), "m1 owns everything", func() bool {
		return w.owner("killed") == "m1" && w.owner("finished") == "m1" && w.owner("daemon") == "m1"
	})
	has := func(line string) bool {
		b, _ := os.ReadFile(marks)
		return strings.Contains(string(b), line+"\n")
	}
	w.eventually(patience(), "the proc on m1", func() bool { return has("proc m1") })
	for _, j := range []string{"killed", "finished"} {
		if out, err := w.kopfCLI("m1", "trigger", j); err != nil {
			t.Fatalf("trigger %s: %v %s", j, err, out)
		}
	}
	w.eventually(patience(), "both runs on m1", func() bool { return has("start-killed m1") && has("start-finished m1") })
	// A second trigger of finished waits on m1 behind its run; when m1
	// loses the job, it goes to the new owner.
	if out, err := w.kopfCLI("m1", "trigger", "finished"); err != nil || !strings.Contains(out, "queued") {
		t.Fatalf("second trigger of finished: %v %s", err, out)
	}
	for _, u := range []string{"killed", "finished", "daemon"} {
		if out, err := w.kopfCLI("m2", "cluster", "handoff", u, "m2"); err != nil {
			t.Fatalf("handoff %s: %v %s", u, err, out)
		}
	}
	w.eventually(patience(), "the proc moved to m2", func() bool { return has("proc m2") && w.owner("daemon") == "m2" })
	w.eventually(patience(), "killed moved to m2", func() bool { return w.owner("killed") == "m2" })
	if has("end-killed") {
		t.Error("the run of killed (on-lease-loss kill) ran to its end")
	}
	// finished moves only once its run has ended, on m1: its run goes on
	// (the gate is shut), so m1 still owns it.
	if o := w.owner("finished"); o != "m1" {
		t.Errorf("finished is owned by %q while its run on m1 goes on, want m1", o)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w.eventually(patience(), "finished moved to m2 after its run", func() bool { return has("end-finished m1") && w.owner("finished") == "m2" })
	w.eventually(patience(), "the queued trigger ran on m2", func() bool { return has("start-finished m2") })
	out, err := w.kopfCLI("m1", "status")
	if err != nil {
		t.Errorf("kopf status on m1: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && (f[1] == "job" || f[1] == "proc") && f[2] != "elsewhere" {
			t.Errorf("on m1 after the handoffs: %s", line)
		}
	}
}

// A daemon in no cluster says so, and its status has no cluster part.
func TestNoCluster(t *testing.T) {
	w := newWorld(t, 1)
	cfg := w.config("kopf.json", []string{"tick"}, "")
	dir := filepath.Join(w.dir, "solo")
	os.MkdirAll(dir, 0o755)
	w.launch(&member{name: "solo", args: []string{"run", "--journal", filepath.Join(dir, "journal.jsonl"),
		"--socket", filepath.Join(dir, "sock"), "--cgroup", "none", cfg}})
	w.eventually(patience(), "solo answers", func() bool { _, err := w.kopfCLI("solo", "status"); return err == nil })
	out, err := w.kopfCLI("solo", "cluster", "members")
	if err == nil || !strings.Contains(out, "not in a cluster") {
		t.Errorf("kopf cluster members on a daemon in no cluster: %v %q", err, out)
	}
	if out, _ := w.kopfCLI("solo", "status"); strings.Contains(out, "cluster") || !strings.Contains(out, "waiting") && !strings.Contains(out, "running") {
		t.Errorf("status of a daemon in no cluster:\n%s", out)
	}
	if resp, err := w.cli.Get(context.Background(), "/kopf/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || resp.Count != 0 {
		t.Errorf("a daemon without --cluster wrote %d keys to etcd (%v)", resp.Count, err)
	}
}

// A member started while etcd is down runs its units of placement "each"
// at once and its share of the others once etcd answers; a second daemon
// under the name of a live member refuses to start, and exits.
func TestStartWhileEtcdIsDownAndADuplicateName(t *testing.T) {
	w := newWorld(t, 1)
	local := filepath.Join(w.dir, "local")
	cfg := filepath.Join(w.dir, "kopf.json")
	os.WriteFile(cfg, []byte(`{"jobs": {
    "tick": {"schedule": "every 1s", "log-start": false, "command": "echo tick $KOPF_INSTANT $KOPF_MEMBER $KOPF_FENCE >> `+w.runs+`"},
    "local": {"schedule": "every 1s", "placement": "each", "log-start": false, "command": "echo $KOPF_MEMBER >> `+local+`"}
  }}`), 0o644)
	w.etcd.StopNode(0)
	w.start("m1", cfg)
	w.eventually(patience(), "the job of placement each runs", func() bool { b, _ := os.ReadFile(local); return len(b) > 0 })
	if out, err := w.kopfCLI("m1", "cluster", "members"); err != nil || !strings.Contains(out, "NOT JOINED") || !strings.Contains(out, "does not answer") {
		t.Errorf("kopf cluster members before etcd answers: %v\n%s", err, out)
	}
	if runs := w.readRuns(); len(runs) > 0 {
		t.Errorf("tick ran before the member joined: %v", runs)
	}
	w.etcd.StartNode(0)
	w.eventually(patience(), "m1 owns tick", func() bool { return w.owner("tick") == "m1" })
	w.eventually(patience(), "tick runs", func() bool { return len(w.readRuns()) > 0 })

	dir := filepath.Join(w.dir, "twin")
	os.MkdirAll(dir, 0o755)
	twin := &member{name: "twin", args: []string{"run", "--cluster", strings.Join(w.etcd.Endpoints(), ","), "--cluster-name", "t", "--member", "m1",
		"--cluster-lease", lease.String(), "--journal", filepath.Join(dir, "journal.jsonl"), "--socket", filepath.Join(dir, "sock"),
		"--cgroup", "none", cfg}}
	w.launch(twin)
	select {
	case <-twin.exited:
	case <-time.After(patience()):
		t.Fatal("a second member named m1 did not exit")
	}
	log, _ := os.ReadFile(twin.log.Name())
	if code := twin.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(log), "another member is named m1 already") {
		t.Errorf("second member named m1: exit %d, log:\n%s", code, log)
	}
	if _, err := os.Stat(filepath.Join(dir, "sock")); err == nil {
		t.Error("the refused daemon left its socket behind")
	}
	if w.owner("tick") != "m1" {
		t.Errorf("tick's owner is %q after the twin, want m1", w.owner("tick"))
	}
	if out, err := w.kopfCLI("m1", "cluster", "members"); err != nil || !strings.Contains(out, "(live)") {
		t.Errorf("m1 after the twin: %v\n%s", err, out)
	}
}

// A config reload that moves a job between placements: "one" to "each"
// frees its owners/ key and runs it on every member; back to "one", one
// member owns it again, and no instant of the "one" stretches ran twice.
func TestPlacementChangedByReload(t *testing.T) {
	w := newWorld(t, 1)
	cfg := w.config("kopf.json", []string{"tick"}, "")
	w.start("m1", cfg)
	w.start("m2", cfg)
	w.waitMembers(2)
	w.eventually(patience(), "tick owned", func() bool { return w.owner("tick") != "" })
	from := time.Now()
	// ranSince counts the instants after t that ran.
	ranSince := func(t time.Time) int {
		n := 0
		for _, r := range w.readRuns() {
			if at, err := time.Parse(time.RFC3339, r.instant); err == nil && at.After(t) {
				n++
			}
		}
		return n
	}
	w.eventually(patience(), "three instants of tick ran", func() bool { return ranSince(from) >= 3 })
	// A run of placement "each" has no instant or fence: it writes "each".
	rewrite := func(extra string) {
		t.Helper()
		tmp := cfg + ".new"
		os.WriteFile(tmp, []byte(`{"jobs": {"tick": {"schedule": "every 1s", "log-start": false, "command": "echo tick ${KOPF_INSTANT:-each} $KOPF_MEMBER ${KOPF_FENCE:-each} >> `+w.runs+`"`+extra+`}}}`), 0o644)
		if err := os.Rename(tmp, cfg); err != nil {
			t.Fatal(err)
		}
	}
	eachFrom := time.Now()
	rewrite(`, "placement": "each"`)
	w.eventually(patience(), "tick's owner key gone", func() bool { return w.owner("tick") == "" })
	w.eventually(patience(), "tick runs on both members", func() bool {
		by := map[string]bool{}
		for _, r := range w.readRuns() {
			if r.instant == "each" {
				by[r.member] = true
			}
		}
		return by["m1"] && by["m2"]
	})
	rewrite("")
	w.eventually(patience(), "tick owned again", func() bool { return w.owner("tick") != "" })
	settled := time.Now().Add(2 * time.Second)
	w.eventually(patience(), "three instants of tick ran after the way back", func() bool { return ranSince(settled) >= 3 })
	to := time.Now()
	for name := range w.members {
		w.kill(name, syscall.SIGTERM)
	}
	// Before the change and after the way back, each instant ran at most
	// once; the "each" stretch ran on both (its runs have no fence).
	seen := map[string]string{}
	for _, r := range w.readRuns() {
		at, err := time.Parse(time.RFC3339, r.instant)
		if err != nil || at.Before(from) || at.After(to) || (at.After(eachFrom) && at.Before(settled)) {
			continue
		}
		if prev, ok := seen[r.instant]; ok {
			t.Errorf("instant %s ran on %s and on %s", r.instant, prev, r.member)
		}
		seen[r.instant] = r.member
	}
	if len(seen) < 3 {
		t.Errorf("only %d instants ran outside the \"each\" stretch", len(seen))
	}
}
