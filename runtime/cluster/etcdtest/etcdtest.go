// Package etcdtest starts real etcd servers inside a test process, with
// go.etcd.io/etcd/server/v3/embed, on 127.0.0.1 ports of their own: one
// node, or a cluster of three whose nodes a test can stop and start again.
// It is only for tests; it links the whole etcd server.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is a running etcd cluster.
type Cluster struct {
	t     testing.TB
	nodes []*node
}

type node struct {
	cfg *embed.Config
	e   *embed.Etcd // nil while stopped
}

// Start starts an etcd cluster of n nodes (1 or 3), stopped at the end of
// the test.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
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
		client, peer := freeURL(t), freeURL(t)
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		initial = append(initial, cfg.Name+"="+peer.String())
		c.nodes = append(c.nodes, &node{cfg: cfg})
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

// freeURL is an http URL on a 127.0.0.1 port free a moment ago.
func freeURL(t testing.TB) url.URL {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}
}

func (c *Cluster) start(i int) error {
	nd := c.nodes[i]
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
	for i, nd := range c.nodes {
		if nd.e != nil && nd.e.Server.Leader() == nd.e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// StopNode stops node i, as a crash would: without handing its
// leadership to another node first (its data stays).
func (c *Cluster) StopNode(i int) {
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
