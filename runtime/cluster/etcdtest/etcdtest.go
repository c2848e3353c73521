// Package etcdtest starts real etcd servers inside a test process, with
// go.etcd.io/etcd/server/v3/embed, on 127.0.0.1 ports of their own: one
// node, or a cluster of three whose nodes a test can stop and start again.
// It is only for tests; it links the whole etcd server.
//
// With Binary set (a path to an etcd binary, like Debian's etcd-server's
// /usr/bin/etcd), the nodes are processes of that binary instead: the
// same tests then run against the etcd users install (UseBinary).
//
// Each port is held for the cluster's life by a socket bound to it that
// never listens (reserve): no other process can take it between the
// moment it is chosen and the one etcd binds it, nor while a node is
// stopped, as a port found free and let go could be (other tests, and
// any connection's source port, draw from the same ephemeral range).
package etcdtest

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Cluster is a running etcd cluster.
type Cluster struct {
	t     testing.TB
	nodes []*node
}

type node struct {
	cfg    *embed.Config
	e      *embed.Etcd // nil while stopped
	cmd    *exec.Cmd   // the node's process, with Binary; nil while stopped
	exited chan error  // its Wait's
	held   []int       // the sockets that hold its ports; with Binary let go as it starts
}

// Binary, when set, is the etcd binary the nodes run as processes of,
// rather than embedded servers. Tests set it with UseBinary.
var Binary string

// UseBinary runs the clusters that the rest of the test starts on the
// etcd binary at path, and the embedded server again afterwards.
func UseBinary(t testing.TB, path string) {
	Binary = path
	t.Cleanup(func() { Binary = "" })
}

// Start starts an etcd cluster of n nodes (1 or 3), stopped at the end of
// the test.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	// Registered first, so run last: the ports are let go once every
	// node has stopped.
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			for _, fd := range nd.held {
				unix.Close(fd)
			}
			nd.held = nil
		}
	})
	var nodeHeld []int
	port := func() url.URL {
		u, fd := reserve(t)
		nodeHeld = append(nodeHeld, fd)
		return u
	}
	var initial []string
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("n%d", i)
		cfg.Dir = t.TempDir()
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.LogLevel = "error"
		// Short heartbeats and elections keep leader changes within a
		// test's seconds; a loaded 2-core machine still keeps up.
		cfg.TickMs, cfg.ElectionMs = 50, 500
		// A test's data is thrown away: fsync only slows it.
		cfg.UnsafeNoFsync = true
		// etcd's listeners share their ports with the sockets that hold
		// them (reserve).
		cfg.SocketOpts.ReusePort = true
		client, peer := port(), port()
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		initial = append(initial, cfg.Name+"="+peer.String())
		c.nodes = append(c.nodes, &node{cfg: cfg, held: nodeHeld})
		nodeHeld = nil
	}
	for _, nd := range c.nodes {
		nd.cfg.InitialCluster = strings.Join(initial, ",")
		nd.cfg.InitialClusterToken = "kopf-test"
	}
	// The nodes of a cluster must start together: each waits for the
	// others to elect a leader.
	errs := make(chan error, n)
	for i := range c.nodes {
		go func() { errs <- c.start(i) }()
	}
	for range n {
		if err := <-errs; err != nil {
			c.Stop()
			t.Fatal(err)
		}
	}
	t.Cleanup(c.Stop)
	return c
}

// reserve returns an http URL on a 127.0.0.1 port of its own, and the
// socket that holds it: bound with SO_REUSEPORT, so that etcd's listeners,
// which set it too (Config.SocketOpts.ReusePort), can bind the port as
// well, and never listening, so that every connection goes to etcd's.
// The kernel gives a bound port to no other socket that does not ask for
// that very port with SO_REUSEPORT under this user: not for a port 0, not
// as a connection's source port.
func reserve(t testing.TB) (url.URL, int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	return url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, fd
}

func (c *Cluster) start(i int) error {
	nd := c.nodes[i]
	if Binary != "" {
		return c.startBinary(i)
	}
	e, err := embed.StartEtcd(nd.cfg)
	if err != nil {
		return fmt.Errorf("etcd node %d: %w", i, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return fmt.Errorf("etcd node %d not ready after 30 s", i)
	}
	nd.e = e
	return nil
}

// startBinary starts node i as a process of Binary, and waits until it
// answers /health (it has a leader). An etcd binary does not share its
// ports (3.4 has no SO_REUSEPORT option): the sockets that held them are
// let go just before it starts, and a node started again takes its ports
// back as they are, free unless something took them meanwhile.
func (c *Cluster) startBinary(i int) error {
	nd := c.nodes[i]
	for _, fd := range nd.held {
		unix.Close(fd)
	}
	nd.held = nil
	state := "new"
	if nd.cfg.ClusterState == embed.ClusterStateFlagExisting {
		state = "existing"
	}
	client, peer := nd.cfg.ListenClientUrls[0].String(), nd.cfg.ListenPeerUrls[0].String()
	cmd := exec.Command(Binary, "--name", nd.cfg.Name, "--data-dir", nd.cfg.Dir,
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", nd.cfg.InitialCluster, "--initial-cluster-token", nd.cfg.InitialClusterToken,
		"--initial-cluster-state", state, "--heartbeat-interval", "50", "--election-timeout", "500")
	log, err := os.OpenFile(filepath.Join(nd.cfg.Dir, "etcd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("etcd node %d: %w", i, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(filepath.Join(nd.cfg.Dir, "etcd.log"))
			return fmt.Errorf("etcd node %d (%s) exited: %v\n%s", i, Binary, err, b)
		default:
		}
		if resp, err := http.Get(client + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				nd.cmd, nd.exited = cmd, exited
				return nil
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("etcd node %d (%s) not healthy after 30 s", i, Binary)
		}
	}
}

// Endpoints are the client URLs of every node.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, nd.cfg.AdvertiseClientUrls[0].String())
	}
	return out
}

// Leader is the index of the node that leads now, or -1.
func (c *Cluster) Leader() int {
	if Binary != "" {
		return c.binaryLeader()
	}
	for i, nd := range c.nodes {
		if nd.e != nil && nd.e.Server.Leader() == nd.e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// binaryLeader asks each running node's /metrics whether it leads.
func (c *Cluster) binaryLeader() int {
	for i, nd := range c.nodes {
		if nd.cmd == nil {
			continue
		}
		resp, err := http.Get(nd.cfg.ListenClientUrls[0].String() + "/metrics")
		if err != nil {
			continue
		}
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if strings.Contains(b.String(), "\netcd_server_is_leader 1\n") {
			return i
		}
	}
	return -1
}

// StopNode stops node i, as a crash would: without handing its
// leadership to another node first (its data stays).
func (c *Cluster) StopNode(i int) {
	if nd := c.nodes[i]; nd.cmd != nil {
		nd.cmd.Process.Signal(syscall.SIGKILL)
		<-nd.exited
		nd.cmd = nil
	}
	if nd := c.nodes[i]; nd.e != nil {
		nd.e.Server.HardStop()
		nd.e.Close()
		nd.e = nil
	}
}

// StartNode starts node i again after StopNode, as a member of the
// cluster it was in.
func (c *Cluster) StartNode(i int) {
	c.t.Helper()
	c.nodes[i].cfg.ClusterState = embed.ClusterStateFlagExisting
	if err := c.start(i); err != nil {
		c.t.Fatal(err)
	}
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for i := range c.nodes {
		c.StopNode(i)
	}
}
