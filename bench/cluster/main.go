// Command cluster measures kopf run --cluster at scale against one etcd:
// how long until every unit has an owner after the last member starts,
// what the members send etcd in a quiet minute, the CPU a fire costs in
// the cluster against a single host running the same config, the
// members' memory, and etcd's own figures. It prints Markdown for
// docs/performance.md.
//
//	go run ./cluster                                  # 3 members, 10,000 daily + 20 every-minute jobs
//	go run ./cluster -members 5 -daily 100000 -minute 0 -quiet 0
//	go run ./cluster -daily 1000                      # the same at 1k, to compare traffic
//
// It needs an etcd binary (-etcd, default: etcd on PATH; Debian's
// etcd-server package has one). Every figure comes from the kernel
// (/proc/PID) or from etcd's /metrics.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

func main() {
	members := flag.Int("members", 3, "kopf members")
	daily := flag.Int("daily", 10000, "daily jobs")
	minute := flag.Int("minute", 20, "every-minute jobs")
	quiet := flag.Duration("quiet", time.Minute, "the quiet window measured after every unit is owned (0: none)")
	etcdBin := flag.String("etcd", "etcd", "the etcd binary")
	kopf := flag.String("kopf", "", "the kopf binary; default: build ../cmd/kopf")
	single := flag.Bool("single", true, "measure a single host without a cluster on the same config too")
	flag.Parse()
	dir, err := os.MkdirTemp("", "kopf-cluster-bench-")
	check(err)
	defer os.RemoveAll(dir)
	if *kopf == "" {
		*kopf = filepath.Join(dir, "kopf")
		build := exec.Command("go", "build", "-o", *kopf, "./cmd/kopf")
		build.Dir = "../.."
		if _, err := os.Stat("../cmd/kopf"); err == nil {
			build.Dir = ".."
		}
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		check(build.Run())
	}
	config := filepath.Join(dir, "kopf.json")
	check(writeConfig(config, *daily, *minute))
	units := *daily + *minute

	fmt.Printf("load average at start: %s\n\n", loadavg())
	etcd, metricsURL := startEtcd(*etcdBin, dir)
	defer stop(etcd)

	var ms []*member
	for i := range *members {
		m, err := startMember(*kopf, dir, config, fmt.Sprintf("m%d", i+1), etcd.url)
		check(err)
		defer m.stop()
		ms = append(ms, m)
	}
	lastStarted := time.Now()
	owned := waitOwned(ms, units, 5*time.Minute)
	ownedAfter := time.Since(lastStarted)
	fmt.Printf("## %d members, %d daily + %d every-minute jobs (%d units)\n\n", *members, *daily, *minute, units)
	fmt.Printf("- every unit owned %.1f s after the last member started (%d owned)\n", ownedAfter.Seconds(), owned)
	for _, m := range ms {
		fmt.Printf("- %s: RSS %d MB, peak %d MB, CPU %.2f s so far\n", m.name, status(m.pid(), "VmRSS")/1024, status(m.pid(), "VmHWM")/1024, cpuOf(m.pid()).Seconds())
	}
	if *quiet > 0 {
		before, cpu0, fires0 := scrape(metricsURL), cpus(ms), firesOf(ms)
		time.Sleep(*quiet)
		after, cpu1, fires1 := scrape(metricsURL), cpus(ms), firesOf(ms)
		secs := quiet.Seconds()
		rx := after["etcd_network_client_grpc_received_bytes_total"] - before["etcd_network_client_grpc_received_bytes_total"]
		tx := after["etcd_network_client_grpc_sent_bytes_total"] - before["etcd_network_client_grpc_sent_bytes_total"]
		rpcs := after["grpc_server_handled_total"] - before["grpc_server_handled_total"]
		fires := fires1 - fires0
		fmt.Printf("- quiet %s: etcd received %.1f KB/s, sent %.1f KB/s, %.1f requests/s (gRPC, keep-alives included)\n", *quiet, rx/secs/1024, tx/secs/1024, rpcs/secs)
		if fires > 0 {
			fmt.Printf("- %d fires: all members' CPU %.1f ms a fire\n", fires, float64((cpu1-cpu0).Milliseconds())/float64(fires))
		}
		fmt.Printf("- etcd: db %.1f MB, %.0f keys, %.0f requests since it started\n", after["etcd_mvcc_db_total_size_in_bytes"]/1e6, after["etcd_debugging_mvcc_keys_total"], after["grpc_server_handled_total"])
		if *single {
			host, err := startMember(*kopf, dir, config, "single", "")
			check(err)
			waitReady(host)
			c0, f0 := cpuOf(host.pid()), firesOf([]*member{host})
			time.Sleep(*quiet)
			c1, f1 := cpuOf(host.pid()), firesOf([]*member{host})
			if f1 > f0 {
				fmt.Printf("- a single host on the same config, same window: %d fires, %.1f ms CPU a fire\n", f1-f0, float64((c1-c0).Milliseconds())/float64(f1-f0))
			}
			host.stop()
		}
	}
	fmt.Printf("\nload average at the end: %s\n", loadavg())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster bench:", err)
		os.Exit(1)
	}
}

// writeConfig writes daily jobs spread over the day and every-minute jobs.
func writeConfig(path string, daily, minute int) error {
	type jobCfg struct {
		Command  []string `json:"command"`
		Schedule string   `json:"schedule"`
	}
	jobs := map[string]jobCfg{}
	for i := range daily {
		jobs[fmt.Sprintf("daily-%06d", i)] = jobCfg{Command: []string{"true"}, Schedule: fmt.Sprintf("every 1d @ %02d:%02d", i/60%24, i%60)}
	}
	for i := range minute {
		jobs[fmt.Sprintf("minute-%03d", i)] = jobCfg{Command: []string{"true"}, Schedule: "every 1m"}
	}
	b, err := json.Marshal(map[string]any{"jobs": jobs})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

type etcdProc struct {
	cmd *exec.Cmd
	url string
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startEtcd starts one etcd node and waits until it answers.
func startEtcd(bin, dir string) (*etcdProc, string) {
	client, peer := freePort(), freePort()
	url := fmt.Sprintf("http://127.0.0.1:%d", client)
	cmd := exec.Command(bin, "--data-dir", filepath.Join(dir, "etcd"), "--listen-client-urls", url, "--advertise-client-urls", url,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer), "--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peer), "--quota-backend-bytes", strconv.Itoa(8<<30))
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	check(err)
	cmd.Stdout, cmd.Stderr = log, log
	check(cmd.Start())
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			check(fmt.Errorf("etcd did not answer within 30s (%s)", filepath.Join(dir, "etcd.log")))
		}
	}
	out, _ := exec.Command(bin, "--version").Output()
	fmt.Printf("etcd: %s\n", strings.SplitN(string(out), "\n", 2)[0])
	return &etcdProc{cmd: cmd, url: url}, url + "/metrics"
}

func stop(e *etcdProc) {
	e.cmd.Process.Signal(syscall.SIGTERM)
	e.cmd.Wait()
}

type member struct {
	name, socket, journal string
	cmd                   *exec.Cmd
	exited                chan error
}

func (m *member) pid() int { return m.cmd.Process.Pid }

// startMember starts kopf run on config as member name of the cluster at
// etcd ("" for no cluster).
func startMember(kopf, dir, config, name, etcd string) (*member, error) {
	mdir := filepath.Join(dir, name)
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return nil, err
	}
	m := &member{name: name, socket: filepath.Join(mdir, "kopf.sock"), journal: filepath.Join(mdir, "journal.jsonl"), exited: make(chan error, 1)}
	args := []string{"run", "--cgroup", "none", "--journal", m.journal, "--socket", m.socket, "--log-level", "warn"}
	if etcd != "" {
		args = append(args, "--cluster", etcd, "--cluster-name", "bench", "--member", name)
	}
	m.cmd = exec.Command(kopf, append(args, config)...)
	log, err := os.Create(filepath.Join(mdir, "kopf.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.Env = append(os.Environ(), "HOME="+mdir)
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { m.exited <- m.cmd.Wait() }()
	return m, nil
}

func (m *member) stop() {
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(30 * time.Second):
		m.cmd.Process.Kill()
	}
}

// ask asks a member's control socket.
func (m *member) ask(req control.Request) (control.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return control.Call(ctx, m.socket, req)
}

// waitReady waits until a member answers.
func waitReady(m *member) {
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := m.ask(control.Request{Cmd: control.CmdStatus}); err == nil {
			return
		}
	}
	check(fmt.Errorf("%s did not answer", m.name))
}

// waitOwned waits until the members' journals record owner_gained for
// units units (less those lost since), and returns how many are owned.
// It reads the journals as they grow rather than asking the members for
// their status, which at 100k units costs a member more than the cluster
// does; a journal rotated meanwhile (it does, at 100k units) is read to
// its end under its new name first.
func waitOwned(ms []*member, units int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	type place struct {
		ino    uint64
		offset int64
	}
	at := make([]place, len(ms))
	n := 0
	gained, lost := []byte(`"type":"owner_gained"`), []byte(`"type":"owner_lost"`)
	count := func(path string, from int64) int64 {
		f, err := os.Open(path)
		if err != nil {
			return from
		}
		defer f.Close()
		f.Seek(from, 0)
		r := bufio.NewReaderSize(f, 1<<20)
		for {
			line, err := r.ReadBytes('\n') // a state event may be megabytes long
			if err != nil {
				return from // a line not yet whole is read again next time
			}
			from += int64(len(line))
			switch {
			case bytes.Contains(line, gained):
				n++
			case bytes.Contains(line, lost):
				n--
			}
		}
	}
	for {
		for i, m := range ms {
			var st syscall.Stat_t
			if syscall.Stat(m.journal, &st) != nil {
				continue
			}
			if at[i].ino != 0 && st.Ino != at[i].ino {
				count(m.journal+".1", at[i].offset) // rotated: the rest of the old file
				at[i].offset = 0
			}
			at[i].ino = st.Ino
			at[i].offset = count(m.journal, at[i].offset)
		}
		if n >= units || time.Now().After(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// firesOf counts the runs the members' journals record as spawned.
func firesOf(ms []*member) int {
	n := 0
	for _, m := range ms {
		journal.Read(m.journal, 0, func(ev journal.Event, _ []byte) error {
			if ev.Type == journal.Spawned {
				n++
			}
			return nil
		}, func(error) {})
	}
	return n
}

func cpus(ms []*member) time.Duration {
	var d time.Duration
	for _, m := range ms {
		d += cpuOf(m.pid())
	}
	return d
}

// scrape reads etcd's metrics, summing each name over its labels.
func scrape(url string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(url)
	check(err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, "{")
		if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
			out[name] += v
		}
	}
	return out
}

func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func status(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
