// Package cluster runs many kopf daemons as one, on etcd: each unit of
// placement "one" is owned by one member at a time, and each instant of a
// job starts at most once cluster-wide, whichever member starts it.
//
// The keys, under /kopf/<cluster>/ (docs/cluster.md):
//
//	members/<member>          the member's record, on its session lease
//	clocks/<member>           its wall clock at its latest keep-alive
//	shards                    the number of shards, set by the first member
//	owners/<group>            the owning member of a group of units (a
//	                          shard, s/NNNN, or a unit with prefer,
//	                          u/<unit>), on its lease; the key's create
//	                          revision is the owner's epoch
//	claims/<job>/<instant>    a run of the instant: claimed, then ended,
//	                          or missed, or lost; no lease, it outlives
//	                          the member; deleted after the retention
//	claims/<job>/<start>~<n>  a run no schedule instant started
//	marks/<job>               when the job's latest owner took it: the
//	                          instants before were settled then
//	triggers/<job>/<id>       a trigger for a job, consumed by its owner
//	handoff/<group>           the member a group is to move to
//
// A claim is one transaction: it succeeds only if this member still owns
// the unit's group with the same epoch and none of the run's instant keys exist.
// A member acts for the cluster only until its fence deadline: the send
// time of its last answered keep-alive plus the lease's TTL less a second,
// which is before etcd can expire the lease and let another member take
// its units. It never trusts the client's own session expiry, which comes
// later than the server's.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/kopf/kopf/runtime/journal"
)

// Defaults and limits of the settings.
const (
	DefaultTTL       = 10 * time.Second
	MinTTL           = 5 * time.Second
	DefaultRetention = 7 * 24 * time.Hour
	DefaultName      = "default"
	// rankStep is how much longer each member further down a unit's
	// rendezvous order waits before it tries to take the unit, so that
	// the first in the order normally gets it and units spread evenly.
	rankStep = 300 * time.Millisecond
	// maxMissed bounds the instants one take-over records as missed; the
	// journal's owner_gained says how many there were beyond.
	maxMissed = 1000
	// fenceMargin is taken off the lease's TTL for the fence deadline:
	// clocks of member and etcd leader may run at slightly different rates.
	fenceMargin = time.Second
)

// minTTL is MinTTL; tests of fencing lower it to keep their seconds few.
var minTTL = MinTTL

// Config configures a Member.
type Config struct {
	Endpoints []string
	Name      string        // the cluster's name; "" is DefaultName
	Member    string        // this member's name; "" is the hostname
	TTL       time.Duration // the session lease; 0 is DefaultTTL
	Retention time.Duration // claims older than this are deleted; 0 is DefaultRetention
	// Shards is the number of shards a new cluster gets (0 is
	// DefaultShards); a cluster keeps the number its first member set.
	Shards int
	Logger *slog.Logger
	// Events journals the member's decisions; nil journals nothing.
	Events func(...journal.Event)
	// Now is the member's wall clock, for instants and its record; nil is
	// time.Now. The fence deadline always uses the monotonic clock.
	Now func() time.Time
	// Version, BootID are written into the member's record.
	Version, BootID string
	// Owner is told, in order, each time this member gains or loses a unit.
	Owner func(Change)
	// Trigger delivers a trigger that another member sent for a job this
	// member owns.
	Trigger func(job string, args []string, by string)
	// DialTimeout bounds the first connection; 0 is 5 seconds.
	DialTimeout time.Duration
}

// Unit is a unit of placement "one", as the member's config has it.
type Unit struct {
	Name        string
	Fingerprint string   // its settings; members that disagree with the majority do not take it
	Prefer      []string // members to own it first, in order
	// Fires lists a job's schedule instants in (after, until], oldest
	// first, at most max of them; nil for a proc or a job without a
	// schedule.
	Fires func(after, until time.Time, max int) []time.Time
}

// Change is a unit this member gained or lost.
type Change struct {
	Unit  string
	Owned bool
	Epoch int64
	// Since, for a gained unit: instants after it are this member's to
	// run; those between the last claim and it were recorded as Missed.
	Since  time.Time
	Missed []time.Time
	// Release, for a lost unit: the unit is handed off; call Release once
	// its current run has ended.
	Release bool
	Reason  string
}

// ErrFenced is returned by Claim while the member is past its fence
// deadline.
var ErrFenced = errors.New("fenced: this member's lease may have expired; it does not act for the cluster until a keep-alive is answered")

// ErrNotJoined is returned by what needs a session the member does not
// have: etcd did not answer when it asked for one.
var ErrNotJoined = errors.New("this member is not joined to its cluster: etcd has not answered its request for a session")

// ErrNotOwner is returned by Claim for a unit this member does not own.
var ErrNotOwner = errors.New("this member does not own the unit")

// ErrTaken is returned by Claim when an instant's claim exists already.
var ErrTaken = errors.New("the instant was claimed already")

// Member is this daemon in the cluster.
type Member struct {
	cfg    Config
	cli    *clientv3.Client
	prefix string
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the balancer

	mu        sync.Mutex
	lease     clientv3.LeaseID
	deadline  time.Time // the fence deadline (monotonic); zero before the first keep-alive
	fenced    bool
	shards    int                 // the cluster's number of shards
	units     map[string]Unit     // the config's units of placement "one"
	groupOf   map[string]string   // unit -> its group
	groups    map[string][]string // group -> its units in this member's config, sorted
	owned     map[string]int64    // group -> epoch
	told      map[string]int64    // unit -> epoch: the units the Owner callback was told this member owns
	owners    map[string]string   // group -> its owner, as the watch saw it last
	members   map[string]Record   // alive members, by name
	recordRev int64               // the revision of this member's latest write of its record
	offsets   map[string]time.Duration
	samples   map[string][]time.Duration
	changes   chan Change // to the Owner callback, in order
	pending   []pending   // records etcd did not take yet (flush)
	recent    []Recorded  // the latest missed and lost instants this member recorded
	// leaving are the groups this member lost to a handoff or to the
	// majority's config, with the units whose Release it waits for; it
	// must not take them back meanwhile.
	leaving map[string]map[string]bool
}

// Recorded is an instant a member recorded missed or lost.
type Recorded struct {
	Job    string    `json:"job"`
	Key    string    `json:"key"` // the instant
	State  string    `json:"state"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"` // when it was recorded
}

// maxRecent is how many recorded instants Status keeps.
const maxRecent = 20

// remember keeps an instant this member recorded missed or lost, for
// kopf status.
func (m *Member) remember(job, key, state, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recent = append(m.recent, Recorded{Job: job, Key: key, State: state, Reason: reason, At: time.Now().UTC()})
	if len(m.recent) > maxRecent {
		m.recent = m.recent[len(m.recent)-maxRecent:]
	}
}

// Record is a member's record under members/.
type Record struct {
	Member  string    `json:"member"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	BootID  string    `json:"boot_id,omitempty"`
	PIDNS   string    `json:"pid_ns,omitempty"` // its pid namespace, which its pid is of
	Version string    `json:"version,omitempty"`
	Lease   int64     `json:"lease"`
	Clock   time.Time `json:"clock"` // the member's wall clock when it wrote the record
	Units   int       `json:"units"` // how many units of placement "one" its config has
	// Groups are the digests of the groups its config has units in.
	Groups map[string]string `json:"groups,omitempty"`
}

// Claim is a run the cluster granted.
type Claim struct {
	Unit  string
	Keys  []string // the claim keys written; empty for a proc
	Fence int64    // the claim's revision: increases across the cluster
	Epoch int64
	At    time.Time // the first instant; zero for a run no instant started
	// Deadline is the member's fence deadline when the claim was granted,
	// on the member's wall clock: after it, another member may own the
	// unit. It moves on with every keep-alive; a run learns the one of
	// its start (KOPF_FENCE_DEADLINE).
	Deadline time.Time
}

// claimRecord is a claim key's value.
type claimRecord struct {
	State   string    `json:"state"` // claimed, ended, missed, lost
	Member  string    `json:"member"`
	Lease   int64     `json:"lease,omitempty"`
	Epoch   int64     `json:"epoch,omitempty"`
	Start   time.Time `json:"start,omitzero"`
	End     time.Time `json:"end,omitzero"`
	Outcome string    `json:"outcome,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	ID      string    `json:"id,omitempty"` // the Claim call's (claimID)
}

// Join connects to etcd, registers this member and starts keeping its
// lease alive. It returns once the member is registered; units are taken
// after SetUnits.
func Join(ctx context.Context, cfg Config) (*Member, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("cluster: no etcd endpoints")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if strings.ContainsAny(cfg.Name, "/") {
		return nil, fmt.Errorf("cluster: name %q: a name cannot hold /", cfg.Name)
	}
	if cfg.Member == "" {
		cfg.Member, _ = os.Hostname()
	}
	if cfg.Member == "" || strings.ContainsAny(cfg.Member, "/") {
		return nil, fmt.Errorf("cluster: member name %q: give a name without /", cfg.Member)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.TTL < minTTL {
		return nil, fmt.Errorf("cluster: lease %s is shorter than the least, %s", cfg.TTL, minTTL)
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events == nil {
		cfg.Events = func(...journal.Event) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Shards == 0 {
		cfg.Shards = DefaultShards
	}
	if cfg.Shards < 1 || cfg.Shards > MaxShards {
		return nil, fmt.Errorf("cluster: %d shards: from 1 to %d", cfg.Shards, MaxShards)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: cfg.Endpoints, DialTimeout: cfg.DialTimeout,
		Logger: quietZap(), Context: ctx,
		// A dead connection is noticed within seconds, and one to an etcd
		// that came back is made again within a second: gRPC's default
		// backoff grows to two minutes, which kept a member fenced long
		// after etcd answered its peers again (the etcd-down fault run).
		DialKeepAliveTime: 2 * time.Second, DialKeepAliveTimeout: 2 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	mctx, cancel := context.WithCancel(context.Background())
	m := &Member{
		cfg: cfg, cli: cli, prefix: "/kopf/" + cfg.Name + "/", log: cfg.Logger,
		ctx: mctx, cancel: cancel, kick: make(chan struct{}, 1),
		units: map[string]Unit{}, groupOf: map[string]string{}, groups: map[string][]string{},
		owned: map[string]int64{}, told: map[string]int64{}, owners: map[string]string{}, members: map[string]Record{},
		offsets: map[string]time.Duration{}, samples: map[string][]time.Duration{},
		changes: make(chan Change, 1024), leaving: map[string]map[string]bool{},
	}
	m.fenced = true       // until its first session
	m.shards = cfg.Shards // until etcd says what the cluster has
	if err := m.join(ctx); err != nil {
		cancel()
		cli.Close()
		return nil, fmt.Errorf("cluster: joining %s at %s: %w", cfg.Name, strings.Join(cfg.Endpoints, ","), err)
	}
	m.wg.Add(4)
	go m.keepAlive()
	go m.watch()
	go m.balance()
	go m.deliver()
	return m, nil
}

// Name is this member's name.
func (m *Member) Name() string { return m.cfg.Member }

// key is the full key of a kind of key and its names (units, members,
// instants) under the cluster's prefix. Each name is escaped as a URL path
// segment: a unit named "backup/db" must not read as the unit "backup"
// with more after it.
func (m *Member) key(kind string, names ...string) string {
	var b strings.Builder
	b.WriteString(m.prefix)
	b.WriteString(kind)
	for _, n := range names {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(n))
	}
	return b.String()
}

// unescape is a name as key escaped it.
func unescape(escaped string) string {
	if s, err := url.PathUnescape(escaped); err == nil {
		return s
	}
	return escaped
}

// join makes the member's first session at start. A member whose name
// another member holds waits for that record to go: a member on another
// host that stopped keeps it until its lease ends; one that is still
// there keeps it for good, and the start fails. An etcd that does not
// answer is no failure: the member starts unjoined, runs its units of
// placement "each", and joins once etcd answers (keepAlive).
func (m *Member) join(ctx context.Context) error {
	wait := time.Now().Add(m.cfg.DialTimeout + m.cfg.TTL + fenceMargin)
	for {
		sctx, cancel := context.WithTimeout(ctx, m.cfg.DialTimeout)
		err := m.session(sctx)
		cancel()
		var dup *DuplicateError
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &dup) && time.Now().Before(wait):
			m.log.Warn(err.Error() + "; waiting for its lease to end")
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		case dup != nil:
			return err
		default:
			m.log.Warn(fmt.Sprintf("cluster: etcd at %s does not answer (%v): this member runs its units of placement \"each\" now, and takes its share of the others once etcd answers",
				strings.Join(m.cfg.Endpoints, ","), err))
			return nil
		}
	}
}

// DuplicateError is a member name another member's lease holds.
type DuplicateError struct {
	Record Record
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("cluster: another member is named %s already (host %s, pid %d); give each member a name of its own (--member)", e.Record.Member, e.Record.Host, e.Record.PID)
}

// session grants a new lease, writes the member's record on it, and reads
// the members there are; the member acts for the cluster once all three
// are done. A record left by this member's previous run on this host,
// whose process is gone, is removed with its lease.
func (m *Member) session(ctx context.Context) error {
	sent := time.Now()
	g, err := m.cli.Grant(ctx, int64(m.cfg.TTL/time.Second))
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.lease = g.ID
	m.deadline = sent.Add(time.Duration(g.TTL)*time.Second - fenceMargin)
	m.mu.Unlock()
	err = m.takeShards(ctx)
	if err == nil {
		err = m.putRecord(ctx)
	}
	var dup *DuplicateError
	if errors.As(err, &dup) && m.previousRun(dup.Record) {
		m.log.Info(fmt.Sprintf("cluster: ending the lease of this member's previous run (pid %d), which is gone", dup.Record.PID))
		if _, err = m.cli.Revoke(ctx, clientv3.LeaseID(dup.Record.Lease)); err == nil || errors.Is(err, rpctypes.ErrLeaseNotFound) {
			err = m.putRecord(ctx)
		}
	}
	var resp *clientv3.GetResponse
	if err == nil {
		resp, err = m.cli.Get(ctx, m.key("members")+"/", clientv3.WithPrefix())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		// The lease is left to expire: etcd may not be answering.
		m.lease, m.deadline = 0, time.Time{}
		return err
	}
	clear(m.members)
	for _, kv := range resp.Kvs {
		m.memberPut(kv.Value, kv.ModRevision, false)
	}
	m.fenced = false
	return nil
}

// takeShards reads the cluster's number of shards, which its first member
// set; a member whose own setting differs goes by the cluster's, with a
// warning (another number takes a new cluster name).
func (m *Member) takeShards(ctx context.Context) error {
	k := m.key("shards")
	resp, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, strconv.Itoa(m.cfg.Shards))).Else(clientv3.OpGet(k)).Commit()
	if err != nil || resp.Succeeded {
		return err
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	n, err := strconv.Atoi(string(kvs[0].Value))
	if err != nil || n < 1 || n > MaxShards {
		return fmt.Errorf("the cluster's shards key holds %q, not a number of shards", kvs[0].Value)
	}
	if n != m.cfg.Shards {
		m.log.Warn(fmt.Sprintf("cluster: %s has %d shards, this member's setting says %d; it goes by the cluster's (another number takes another cluster name)", m.cfg.Name, n, m.cfg.Shards))
	}
	m.mu.Lock()
	regroup := n != m.shards
	m.shards = n
	units := slices.Collect(maps.Values(m.units))
	m.mu.Unlock()
	if regroup {
		m.SetUnits(units)
	}
	return nil
}

// previousRun reports whether a record holding this member's name was
// written by an earlier kopf on this host, since booted, in this pid
// namespace, that is gone. Two containers of one host name each have
// their own pid namespace (and often pid 1): neither is the other's
// earlier run.
func (m *Member) previousRun(r Record) bool {
	host, _ := os.Hostname()
	if r.Host != host || r.BootID == "" || r.BootID != m.cfg.BootID || r.PIDNS == "" || r.PIDNS != pidNamespace() {
		return false
	}
	// The same pid is an earlier process that had it.
	return r.PID == os.Getpid() || r.PID <= 0 || !processAlive(r.PID)
}

// pidNamespace names this process's pid namespace ("pid:[4026531836]").
func pidNamespace() string {
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return ns
}

// processAlive reports whether a process of this pid exists.
func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) != syscall.ESRCH
}

// putRecord writes this member's record on its lease: over its own
// record, or where there is none. A record on another lease is another
// member's of the same name (*DuplicateError).
func (m *Member) putRecord(ctx context.Context) error {
	m.mu.Lock()
	host, _ := os.Hostname()
	rec := Record{
		Member: m.cfg.Member, Host: host, PID: os.Getpid(), BootID: m.cfg.BootID, PIDNS: pidNamespace(), Version: m.cfg.Version,
		Lease: int64(m.lease), Clock: m.cfg.Now().UTC(), Units: len(m.units), Groups: map[string]string{},
	}
	for g, names := range m.groups {
		units := make([]Unit, len(names))
		for i, name := range names {
			units[i] = m.units[name]
		}
		rec.Groups[g] = digest(units)
	}
	lease := m.lease
	m.mu.Unlock()
	if lease == 0 {
		return nil // not joined: the session writes it
	}
	b, _ := json.Marshal(rec)
	k := m.key("members", m.cfg.Member)
	put := clientv3.OpPut(k, string(b), clientv3.WithLease(lease))
	resp, err := m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.LeaseValue(k), "=", lease)).Then(put).
		Else(clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k), "=", 0)}, []clientv3.Op{put}, []clientv3.Op{clientv3.OpGet(k)})).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		if inner := resp.Responses[0].GetResponseTxn(); inner != nil && !inner.Succeeded {
			other := Record{Member: m.cfg.Member}
			if kvs := inner.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
				json.Unmarshal(kvs[0].Value, &other)
				other.Lease = kvs[0].Lease
			}
			return &DuplicateError{Record: other}
		}
	}
	// The member's own record counts at once, not when the watch brings
	// it back: a balancer that ran in between would leave the member out
	// of its units' order (seen on a loaded machine).
	m.mu.Lock()
	m.members[m.cfg.Member] = rec
	m.recordRev = resp.Header.Revision
	m.mu.Unlock()
	return nil
}

// shortPrint is a fingerprint in 12 hex digits: enough to tell configs
// apart in a record that lists every group.
func shortPrint(fp string) string {
	h := fnv.New64a()
	h.Write([]byte(fp))
	return fmt.Sprintf("%012x", h.Sum64()&(1<<48-1))
}

// memberPut takes a member's record; m.mu is held. fresh says it was
// written just now (the watch brought it): only then does its clock tell
// the member's offset. A record read at start was written whenever its
// member last changed it — minutes ago, perhaps — and its clock says
// nothing of the offset (the false warnings after every restart).
//
// rev is the record's revision: a read that etcd served before this
// member's latest write of its own record does not replace it (the
// watch's first read may come after the write that followed it).
func (m *Member) memberPut(v []byte, rev int64, fresh bool) {
	var rec Record
	if json.Unmarshal(v, &rec) != nil || rec.Member == "" || rec.Member == m.cfg.Member && rev < m.recordRev {
		return
	}
	m.members[rec.Member] = rec
	if fresh {
		m.clockSample(rec.Member, rec.Clock)
	}
}

// clockPut takes a member's clock from the watch (clocks/, written at
// each keep-alive); m.mu is held.
func (m *Member) clockPut(member string, v []byte) {
	if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
		m.clockSample(member, t)
	}
}

// clockSample measures a member's clock offset from its clock as it
// wrote it; m.mu is held.
func (m *Member) clockSample(member string, clock time.Time) {
	// A write reaches this member some time after its member read its
	// clock, which makes the difference too small by that delay (seconds,
	// when etcd was slow to take the write): the estimate is the largest
	// of the last few.
	s := append(m.samples[member], clock.Sub(m.cfg.Now()))
	if len(s) > offsetSamples {
		s = s[1:]
	}
	m.samples[member] = s
	off := slices.Max(s)
	prev, known := m.offsets[member]
	m.offsets[member] = off
	if member != m.cfg.Member && (off > maxSkew || off < -maxSkew) && (!known || prev <= maxSkew && prev >= -maxSkew) {
		// Claims are keyed by instant, so skew cannot run an instant
		// twice; but a member ahead runs instants early, and one behind
		// finds them taken until its clock catches up.
		m.log.Warn(fmt.Sprintf("cluster: member %s's clock is %s off this member's; instants move with the owner's clock (docs/cluster.md)", member, off.Round(time.Millisecond)), "member", member)
	}
}

// maxSkew is the clock offset between members that kopf warns of;
// offsetSamples how many of a member's records its offset is taken from.
const (
	maxSkew       = 2 * time.Second
	offsetSamples = 5
)

// Deadline is the fence deadline: the member acts for the cluster only
// before it.
func (m *Member) Deadline() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deadline
}

// keepAlive renews the lease every third of its TTL and moves the fence
// deadline; when it passes unanswered, the member is fenced: every unit
// is lost. A lease etcd no longer knows is replaced by a new session.
func (m *Member) keepAlive() {
	defer m.wg.Done()
	every := m.cfg.TTL / 3
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		m.mu.Lock()
		deadline, lease := m.deadline, m.lease
		m.mu.Unlock()
		wait := every
		if d := time.Until(deadline); d < wait {
			wait = max(d, 0)
		}
		timer.Reset(wait)
		select {
		case <-m.ctx.Done():
			return
		case <-timer.C:
		}
		if lease == 0 {
			m.rejoin()
			continue
		}
		if !time.Now().Before(deadline) {
			m.fence(fmt.Sprintf("no keep-alive answered since %s", deadline.Add(fenceMargin-m.cfg.TTL).Format(time.RFC3339Nano)))
		}
		sent := time.Now()
		ctx, cancel := context.WithTimeout(m.ctx, every)
		resp, err := m.cli.KeepAliveOnce(ctx, lease)
		cancel()
		switch {
		case err == nil && resp.TTL > 0:
			m.mu.Lock()
			if lease == m.lease {
				m.deadline = sent.Add(time.Duration(resp.TTL)*time.Second - fenceMargin)
			}
			wasFenced := m.fenced
			m.fenced = false
			m.mu.Unlock()
			if wasFenced {
				m.log.Info("cluster: keep-alive answered again; taking units back")
				m.poke()
			}
			// The clock, for the others' offsets: a small key of its own,
			// not the record, which lists every unit.
			if _, err := m.cli.Put(m.ctx, m.key("clocks", m.cfg.Member), m.cfg.Now().UTC().Format(time.RFC3339Nano), clientv3.WithLease(lease)); err != nil {
				m.log.Debug("cluster: writing the member's clock", "err", err)
			}
			m.flush(m.ctx)
		case errors.Is(err, rpctypes.ErrLeaseNotFound) || err == nil:
			m.fence("the lease expired")
			m.rejoin()
		default:
			if m.ctx.Err() == nil {
				m.log.Warn("cluster: keep-alive failed", "err", err, "fence_in", time.Until(deadline).Round(time.Millisecond).String())
			}
		}
	}
}

// rejoin tries a new session, for a member that has none (etcd did not
// answer at start) or whose lease etcd no longer knows.
func (m *Member) rejoin() {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	err := m.session(ctx)
	cancel()
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Warn("cluster: joining failed; retrying", "err", err)
			m.sleep(m.cfg.TTL / 3)
		}
		return
	}
	m.log.Info("cluster: joined; taking this member's units")
	m.poke()
}

// fence stops the member acting: every unit it owned is lost.
func (m *Member) fence(reason string) {
	m.mu.Lock()
	if m.fenced {
		m.mu.Unlock()
		return
	}
	m.fenced = true
	lost := m.dropAll()
	m.mu.Unlock()
	m.log.Warn("cluster: fenced: "+reason, "units", len(lost))
	m.cfg.Events(journal.Event{Type: journal.Fenced, Member: m.cfg.Member, Reason: reason, Time: time.Now()})
	for _, c := range lost {
		c.Reason = "fenced: " + reason
		m.emit(c)
	}
}

// dropAll forgets every owned group; m.mu is held.
func (m *Member) dropAll() []Change {
	var lost []Change
	for _, name := range slices.Sorted(maps.Keys(m.told)) {
		lost = append(lost, Change{Unit: name, Epoch: m.told[name]})
	}
	clear(m.owned)
	clear(m.told)
	return lost
}

// live reports whether the member may act now; m.mu is held.
func (m *Member) live() bool { return !m.fenced && time.Now().Before(m.deadline) }

// Live reports whether the member may act for the cluster now.
func (m *Member) Live() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live()
}

// poke wakes the balancer.
func (m *Member) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// deliver hands ownership changes to the Owner callback, in order.
func (m *Member) deliver() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case c := <-m.changes:
			if m.cfg.Owner != nil {
				m.cfg.Owner(c)
			}
		}
	}
}

// Close leaves the cluster: the lease is revoked, so the member's units
// are free at once (procs and jobs must have stopped before).
func (m *Member) Close() error {
	m.mu.Lock()
	lease := m.lease
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.flush(ctx)
	var err error
	if lease != 0 {
		_, err = m.cli.Revoke(ctx, lease)
	}
	m.cli.Close()
	return err
}

// SetUnits sets the units of placement "one" the member's config has:
// the groups they fall in are taken when free; a unit removed is
// forgotten (the supervisor stops it), and a group left with none of this
// member's units is released.
func (m *Member) SetUnits(units []Unit) {
	m.mu.Lock()
	next := make(map[string]Unit, len(units))
	unitGroup := make(map[string]string, len(units))
	groups := map[string][]string{}
	for _, u := range units {
		g := groupOf(u, m.shards)
		next[u.Name], unitGroup[u.Name] = u, g
		groups[g] = append(groups[g], u.Name)
	}
	for _, names := range groups {
		slices.Sort(names)
	}
	var moved []Change
	for name, epoch := range m.told {
		if _, ok := next[name]; !ok {
			delete(m.told, name) // removed from the config: the supervisor stops it
		} else if g := unitGroup[name]; g != m.groupOf[name] && m.owned[g] != epoch {
			// Its group changed ("prefer" came or went) to one this
			// member does not own.
			delete(m.told, name)
			moved = append(moved, Change{Unit: name, Epoch: epoch, Reason: "its placement changed; it moves to the owner of " + groupName(g)})
		}
	}
	var empty []Change // groups owned with none of this member's units left
	for g, epoch := range m.owned {
		if _, ok := groups[g]; !ok {
			delete(m.owned, g)
			empty = append(empty, Change{Unit: g, Epoch: epoch})
		}
	}
	for _, waiting := range m.leaving {
		for name := range waiting {
			if _, ok := next[name]; !ok {
				delete(waiting, name)
			}
		}
	}
	m.units, m.groupOf, m.groups = next, unitGroup, groups
	m.mu.Unlock()
	for _, c := range moved {
		m.lost(c)
	}
	for _, c := range empty {
		m.release(c.Unit, c.Epoch)
	}
	if err := m.putRecord(m.ctx); err != nil {
		m.log.Warn("cluster: writing the member record", "err", err)
	}
	m.poke()
}

// release deletes the owners/ key of a group this member held at epoch.
func (m *Member) release(group string, epoch int64) {
	k := m.prefix + "owners/" + group
	// Tried until etcd answers or the lease would have freed the key
	// anyway: a key left behind keeps the group from every member.
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	defer cancel()
	for {
		_, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", epoch)).Then(clientv3.OpDelete(k)).Commit()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			m.log.Warn("cluster: releasing "+groupName(group)+" failed; it is free once this member's lease ends", "err", err)
			return
		}
		m.sleep(claimBackoff)
	}
}

// Release gives up a unit handed off (Change.Release) once its run ended;
// its group is released once every unit of it has been.
func (m *Member) Release(unit string, epoch int64) {
	m.mu.Lock()
	g, known := m.groupOf[unit]
	if !known {
		g = shardOf(unit, m.shards)
	}
	waiting := m.leaving[g]
	delete(waiting, unit)
	done := len(waiting) == 0
	if done {
		delete(m.leaving, g)
	}
	m.mu.Unlock()
	if done {
		m.release(g, epoch)
	}
}

// Owned returns the units this member owns, with their epochs.
func (m *Member) Owned() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.told)
}

// emit queues a change for the Owner callback; once the member is
// closing, nobody takes it.
func (m *Member) emit(c Change) {
	select {
	case m.changes <- c:
	case <-m.ctx.Done():
	}
}
