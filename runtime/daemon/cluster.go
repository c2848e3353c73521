package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
)

// Cluster is kopf run's cluster flags (docs/cluster.md); Endpoints empty
// for none.
type Cluster struct {
	Endpoints []string
	Name      string // the cluster's, under /kopf/NAME/ in etcd; "" is cluster.DefaultName
	Member    string // this member's; "" is the host name
	// TTL is the member's lease, Retention how long claims are kept; 0
	// is the config's, or the default.
	TTL, Retention time.Duration
	// Shards is the number of shards of a new cluster; 0 is the config's,
	// or the default.
	Shards int
	// ClockOffset moves the daemon's wall clock, for tests of members
	// whose clocks disagree.
	ClockOffset time.Duration
	// Given names the flags given that need a cluster, for the usage
	// error when none is given (--cluster-name, --member…).
	Given []string
}

// with is c with what it leaves unset taken from the config's "cluster"
// section.
func (c Cluster) with(cc *config.Cluster) Cluster {
	if cc == nil {
		return c
	}
	if len(c.Endpoints) == 0 {
		c.Endpoints = cc.Etcd
	}
	if c.Name == "" {
		c.Name = cc.Name
	}
	if c.TTL == 0 && cc.Lease > 0 {
		c.TTL = cc.Lease
	}
	if c.Retention == 0 && cc.Retention > 0 {
		c.Retention = cc.Retention
	}
	if c.Shards == 0 {
		c.Shards = cc.Shards
	}
	return c
}

func (c Cluster) on() bool { return len(c.Endpoints) > 0 }

// orphans refuses cluster flags without a cluster to use them in (no
// --cluster, $KOPF_CLUSTER or "cluster" section).
func (c Cluster) orphans() error {
	if c.on() || len(c.Given) == 0 {
		return nil
	}
	return &UsageError{fmt.Sprintf("%s needs a cluster: --cluster, $KOPF_CLUSTER or the config's \"cluster\" section", c.Given[0])}
}

// now is the daemon's clock: the wall clock, moved by ClockOffset; nil
// for the wall clock itself.
func (c Cluster) now() func() time.Time {
	if c.ClockOffset == 0 {
		return nil
	}
	off := c.ClockOffset
	return func() time.Time { return time.Now().Add(off) }
}

// now is the daemon's clock (Cluster.ClockOffset moves it).
func (d *daemon) now() time.Time {
	if f := d.cluster.now(); f != nil {
		return f()
	}
	return time.Now()
}

// withoutPos is a cluster section without its position, to compare two.
func withoutPos(cc *config.Cluster) *config.Cluster {
	if cc == nil {
		return nil
	}
	out := *cc
	out.Pos = lang.Pos{}
	return &out
}

// clusterPart makes the daemon a member (--cluster), and leaves the
// cluster after the supervisor has stopped everything.
type clusterPart struct {
	d    *daemon
	stop func()
}

func (p *clusterPart) Start(ctx context.Context) error {
	d := p.d
	c := d.cluster
	if !c.on() {
		return nil
	}
	sup := func() supervisor {
		<-d.ready
		return d.sup
	}
	cfg := cluster.Config{
		Endpoints: c.Endpoints, Name: c.Name, Member: c.Member,
		TTL: c.TTL, Retention: c.Retention, Shards: c.Shards, Logger: d.log, Events: d.events.Publish,
		Version: d.cfg.Build.Version, BootID: journal.BootID(),
		Owner:   func(ch cluster.Change) { sup().OwnerChanged(ch) },
		Trigger: func(job string, args []string, by string) { sup().ClusterTrigger(job, args, by) },
	}
	if now := c.now(); now != nil {
		cfg.Now = now
	}
	m, err := cluster.Join(ctx, cfg)
	if err != nil {
		return d.refuse(err.Error())
	}
	d.member = m
	d.log.Info(fmt.Sprintf("member %s of cluster %s at %s", m.Name(), cmpOr(c.Name, cluster.DefaultName), strings.Join(c.Endpoints, ",")))
	collect, stop := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		// Claims past their retention go, now and every hour.
		for {
			if n, err := m.Collect(collect); err == nil && n > 0 {
				d.log.Info(fmt.Sprintf("cluster: deleted %d claims older than the retention", n))
			}
			select {
			case <-collect.Done():
				return
			case <-time.After(time.Hour):
			}
		}
	}()
	p.stop = func() {
		stop()
		if err := m.Close(); err != nil {
			d.log.Warn(fmt.Sprintf("cluster: leaving: %v", err))
		}
	}
	return nil
}

func (p *clusterPart) Stop(context.Context) {
	if p.stop != nil {
		p.stop()
	}
}

// supervisor is what the member's callbacks reach of the supervisor.
type supervisor interface {
	OwnerChanged(cluster.Change)
	ClusterTrigger(job string, args []string, by string)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// errNoCluster answers the cluster commands of a daemon in no cluster.
var errNoCluster = errors.New("this kopf is not in a cluster (kopf run --cluster)")

// clusterRequest answers cluster, claims and handoff.
func (c daemonControl) clusterRequest(ctx context.Context, req control.Request) (control.Response, error) {
	var resp control.Response
	m := c.d.member
	if m == nil {
		return resp, errNoCluster
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var v any
	var err error
	switch req.Cmd {
	case control.CmdCluster:
		v, err = m.Status(ctx)
	case control.CmdClaims:
		var cs []cluster.ClaimInfo
		if cs, err = m.Claims(ctx, req.Name, int64(max(req.N, 1))); err == nil && len(cs) == 0 {
			// A job gone from the config may still have claims to read;
			// one with none and not in the config is most likely a typo.
			if known := c.d.sup.Known(req.Name); known != nil {
				return resp, fmt.Errorf("%v, and the cluster has no claims of it", known)
			}
		}
		if cs == nil {
			cs = []cluster.ClaimInfo{}
		}
		v = cs
	case control.CmdHandoff:
		to := ""
		if len(req.Args) == 1 {
			to = req.Args[0]
		}
		if err = c.d.sup.Movable(req.Name); err != nil {
			return resp, err
		}
		if err = m.Handoff(ctx, req.Name, to); err == nil {
			resp.Message = fmt.Sprintf("asked the owner of %s to hand it over after its current run", req.Name)
			if to != "" {
				resp.Message = fmt.Sprintf("asked the owner of %s to hand it to %s after its current run", req.Name, to)
			}
		}
		return resp, err
	}
	if err != nil {
		return resp, fmt.Errorf("etcd: %w", err)
	}
	resp.Cluster, err = json.Marshal(v)
	return resp, err
}
