// Package clustertest runs real kopf run daemons as members of a cluster
// on a real etcd (embedded in the test process), injects faults — SIGKILL,
// SIGSTOP, a dead etcd leader, etcd gone for longer than the lease, a
// member's clock off by 90 s, a member whose config differs — and checks
// the cluster's guarantee: no instant of a job starts twice, and every
// instant either ran or is recorded missed or lost (docs/cluster.md).
//
// The tests take real seconds: they are kept in this package of their
// own, and -cluster.seconds sets how long each fault run lasts.
package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/kopf/kopf/internal/cli"
	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/cluster/etcdtest"
)

var (
	seconds = flag.Int("cluster.seconds", 20, "how long each fault run lasts, in seconds (docs/cluster.md's figures: 60)")
	scale   = flag.Float64("cluster.scale", 1, "stretches every wait for the cluster to act, on a machine slower than a loaded 2-core one")
)

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "kopf" {
		os.Exit(cli.Main())
	}
	os.Exit(m.Run())
}

// kopfPath is this test binary under the name kopf, which runs kopf.
func kopfPath(t *testing.T) string {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kopf")
	if err := os.Symlink(self, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// lease is the members' lease in these tests: the least kopf allows.
const lease = 5 * time.Second

// patience bounds each wait for the cluster to act: a member starting and
// joining, a unit moving once its owner's lease ran out, a reload, a run,
// etcd answering again. Each takes about a lease or less; other go test
// runs on a 2-core machine stretch that several times, so a wait allows
// six leases (-cluster.scale stretches them further). A wait is a
// retried condition: what the tests assert is what happened, never how
// soon.
func patience() time.Duration { return time.Duration(6 * float64(lease) * *scale) }

// world is a cluster under test: etcd, the members, and the file each
// run appends "instant member fence" to.
type world struct {
	t       *testing.T
	etcd    *etcdtest.Cluster
	kopf    string
	dir     string
	runs    string // the shared file of runs
	members map[string]*member
	cli     *clientv3.Client
}

type member struct {
	name   string
	args   []string
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
}

func newWorld(t *testing.T, etcdNodes int) *world {
	w := &world{t: t, etcd: etcdtest.Start(t, etcdNodes), kopf: kopfPath(t), dir: t.TempDir(), members: map[string]*member{}}
	w.runs = filepath.Join(w.dir, "runs")
	cli, err := clientv3.New(clientv3.Config{Endpoints: w.etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	w.cli = cli
	t.Cleanup(func() {
		for _, m := range w.members {
			w.kill(m.name, syscall.SIGKILL)
		}
		cli.Close()
		if t.Failed() {
			for _, m := range w.members {
				b, _ := os.ReadFile(m.log.Name())
				t.Logf("member %s's log (last 3000 bytes):\n%s", m.name, tail(b, 3000))
			}
		}
	})
	return w
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// config is a config of jobs every second that append their instant,
// member and fence to the runs file; extra is added to each job.
func (w *world) config(name string, jobs []string, extra string) string {
	var entries []string
	for _, j := range jobs {
		entries = append(entries, fmt.Sprintf(`%q: {"schedule": "every 1s", "log-start": false, "command": "echo %s $KOPF_INSTANT $KOPF_MEMBER $KOPF_FENCE >> %s"%s}`, j, j, w.runs, extra))
	}
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, []byte(`{"jobs": {`+strings.Join(entries, ", ")+`}}`), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// tickOn starts members that run one job, tick, every second, and waits
// until one of them owns it.
func (w *world) tickOn(names ...string) {
	w.t.Helper()
	cfg := w.config("kopf.json", []string{"tick"}, "")
	for _, m := range names {
		w.start(m, cfg)
	}
	w.waitMembers(len(names))
	w.eventually(patience(), "tick owned", func() bool { return w.owner("tick") != "" })
}

// start starts member name with the config, and its own journal and
// socket; more are extra flags.
func (w *world) start(name, config string, more ...string) {
	dir := filepath.Join(w.dir, name)
	os.MkdirAll(dir, 0o755)
	args := append([]string{"run", "--cluster", strings.Join(w.etcd.Endpoints(), ","), "--cluster-name", "t", "--member", name,
		"--cluster-lease", lease.String(), "--journal", filepath.Join(dir, "journal.jsonl"), "--socket", filepath.Join(dir, "sock"),
		"--cgroup", "none", "--log-format", "json"}, more...)
	args = append(args, config)
	w.launch(&member{name: name, args: args})
}

func (w *world) launch(m *member) {
	f, err := os.OpenFile(filepath.Join(w.dir, m.name, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	m.log = f
	m.cmd = exec.Command(w.kopf, m.args...)
	m.cmd.Stdout, m.cmd.Stderr = f, f
	m.cmd.Env = append(os.Environ(), "HOME="+filepath.Join(w.dir, m.name))
	if err := m.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	m.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(m.cmd, m.exited)
	w.members[m.name] = m
}

// kill sends sig to a member; SIGKILL and SIGTERM wait for its exit.
func (w *world) kill(name string, sig syscall.Signal) {
	m := w.members[name]
	if m == nil || m.cmd.Process == nil {
		return
	}
	select {
	case <-m.exited:
		return
	default:
	}
	m.cmd.Process.Signal(sig)
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM {
		select {
		case <-m.exited:
		case <-time.After(patience()):
			w.t.Errorf("member %s did not exit after %s", name, sig)
		}
	}
}

// restart starts a member again with the arguments it had.
func (w *world) restart(name string) { w.launch(&member{name: name, args: w.members[name].args}) }

// waitMembers waits until n members are registered.
func (w *world) waitMembers(n int) {
	w.t.Helper()
	w.eventually(patience(), fmt.Sprintf("%d members", n), func() bool {
		resp, err := w.cli.Get(context.Background(), "/kopf/t/members/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count == int64(n)
	})
}

// owner is the member that owns unit now, "" for none.
func (w *world) owner(unit string) string {
	o, _ := w.ownerEpoch(unit)
	return o
}

// ownerEpoch is the member that owns unit now and its epoch: the owner
// of the unit's group, its own (a unit with prefer) or its shard's.
func (w *world) ownerEpoch(unit string) (string, int64) {
	for _, g := range []string{"u/" + url.PathEscape(unit), cluster.ShardOf(unit, cluster.DefaultShards)} {
		if resp := w.get("/kopf/t/owners/" + g); len(resp.Kvs) > 0 {
			return string(resp.Kvs[0].Value), resp.Kvs[0].CreateRevision
		}
	}
	return "", 0
}

// memberLease is the lease of member's record, 0 while it has none.
func (w *world) memberLease(member string) int64 {
	resp := w.get("/kopf/t/members/" + member)
	if len(resp.Kvs) == 0 {
		return 0
	}
	return resp.Kvs[0].Lease
}

// get reads from etcd, tried again until etcd answers: a read that timed
// out on a loaded machine says nothing of the key (an owner lookup that
// took it for "no owner" would see an owner change that did not happen).
func (w *world) get(key string, opts ...clientv3.OpOption) *clientv3.GetResponse {
	w.t.Helper()
	var err error
	for end := time.Now().Add(patience()); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var resp *clientv3.GetResponse
		resp, err = w.cli.Get(ctx, key, opts...)
		cancel()
		if err == nil {
			return resp
		}
	}
	w.t.Fatalf("after %s, etcd does not answer a read of %s: %v", patience(), key, err)
	return nil
}

func (w *world) eventually(d time.Duration, what string, ok func() bool) {
	w.t.Helper()
	for end := time.Now().Add(d); !ok(); {
		if time.Now().After(end) {
			w.t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run is one line of the runs file.
type run struct {
	job, instant, member, fence string
}

// readRuns reads the runs file's lines; a last line not yet ended (a run
// writing it as the test reads) waits for the next read.
func (w *world) readRuns() []run {
	b, err := os.ReadFile(w.runs)
	if err != nil {
		return nil
	}
	var out []run
	for _, line := range strings.Split(string(b[:bytes.LastIndexByte(b, '\n')+1]), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			w.t.Errorf("runs file line %q: want job instant member fence", line)
			continue
		}
		out = append(out, run{f[0], f[1], f[2], f[3]})
	}
	return out
}

// claim is a claim key's state, as etcd holds it.
type claim struct {
	State  string `json:"state"`
	Member string `json:"member"`
	Reason string `json:"reason"`
}

func (w *world) claims(job string) map[string]claim {
	resp := w.get("/kopf/t/claims/"+job+"/", clientv3.WithPrefix())
	out := map[string]claim{}
	for _, kv := range resp.Kvs {
		var c claim
		json.Unmarshal(kv.Value, &c)
		out[strings.TrimPrefix(string(kv.Key), "/kopf/t/claims/"+job+"/")] = c
	}
	return out
}

// report checks the guarantee for a job over [from, to): no instant ran
// twice, and each instant ran or is recorded missed or lost (or claimed
// by a member that has not written its outcome yet). It returns the
// figures for docs/cluster.md.
type report struct {
	instants, ran, duplicates, missed, lost, joined int
	byMember                                        map[string]int
}

func (r report) String() string {
	return fmt.Sprintf("%d instants: %d ran (by member %v), %d duplicates, %d missed, %d lost, %d joined an earlier instant's run",
		r.instants, r.ran, r.byMember, r.duplicates, r.missed, r.lost, r.joined)
}

// instants are the whole seconds in (from, to): the instants of a job
// every second that check looks at.
func instants(from, to time.Time) []string {
	var out []string
	for at := from.Truncate(time.Second).Add(time.Second); at.Before(to); at = at.Add(time.Second) {
		out = append(out, at.UTC().Format(time.RFC3339))
	}
	return out
}

// stopAll stops every member (SIGTERM) once each instant of the jobs in
// (from, to) ran or has a claim — the owner claims an instant when it is
// due and the next owner records the ones it missed, which a loaded
// machine may delay for seconds — or after patience: check then names
// what neither ran nor was recorded. Stopped sooner, a member would leave
// instants unrecorded only because the test ended first.
func (w *world) stopAll(from, to time.Time, jobs ...string) {
	w.t.Helper()
	recorded := func() bool {
		ran := map[string]bool{}
		for _, r := range w.readRuns() {
			ran[r.job+" "+r.instant] = true
		}
		for _, job := range jobs {
			claims := w.claims(job)
			for _, key := range instants(from, to) {
				if _, ok := claims[key]; !ok && !ran[job+" "+key] {
					return false
				}
			}
		}
		return true
	}
	for end := time.Now().Add(patience()); !recorded() && time.Now().Before(end); {
		time.Sleep(200 * time.Millisecond)
	}
	for name := range w.members {
		w.kill(name, syscall.SIGTERM)
	}
}

func (w *world) check(job string, from, to time.Time) report {
	w.t.Helper()
	runs := w.readRuns()
	claims := w.claims(job)
	ran := map[string][]run{}
	for _, r := range runs {
		if r.job == job {
			ran[r.instant] = append(ran[r.instant], r)
		}
	}
	rep := report{byMember: map[string]int{}}
	for _, key := range instants(from, to) {
		rep.instants++
		rs, c := ran[key], claims[key]
		switch {
		case len(rs) > 1:
			rep.duplicates++
			w.t.Errorf("%s %s started %d times: %v", job, key, len(rs), rs)
		case len(rs) == 1:
			rep.ran++
			rep.byMember[rs[0].member]++
			if c.State == "" {
				w.t.Errorf("%s %s ran on %s without a claim", job, key, rs[0].member)
			}
		case c.State == "missed":
			rep.missed++
		case c.State == "lost":
			rep.lost++
		case c.State == "claimed" || c.State == "ended":
			// Claimed by a run that several instants joined (the loop
			// was late, or the job busy): the run's line names the first.
			rep.joined++
		default:
			w.t.Errorf("%s %s neither ran nor is recorded (claim %+v)", job, key, c)
		}
	}
	// Fences increase with instants along each job.
	var fences []string
	for _, r := range runs {
		if r.job == job {
			fences = append(fences, r.fence)
		}
	}
	sort.Strings(fences)
	if len(slices.Compact(fences)) != len(fences) {
		w.t.Errorf("%s: two runs share a fence token", job)
	}
	return rep
}
