package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kopf/kopf/runtime/journal"
)

// watch follows the cluster's keys: a member that comes or goes changes
// every group's order, a deleted owner key frees its group, a trigger for
// an owned job is consumed, a handoff releases.
func (m *Member) watch() {
	defer m.wg.Done()
	for m.ctx.Err() == nil {
		// Read the members and owners there are now, then watch from
		// just after: a watch broken for a while (etcd away) misses
		// nothing, and the groups freed meanwhile are looked at again.
		resp, err := m.cli.Txn(m.ctx).Then(
			clientv3.OpGet(m.key("members")+"/", clientv3.WithPrefix()),
			clientv3.OpGet(m.key("owners")+"/", clientv3.WithPrefix()),
		).Commit()
		if err != nil {
			m.sleep(time.Second)
			continue
		}
		m.mu.Lock()
		clear(m.members)
		for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
			m.memberPut(kv.Value, kv.ModRevision, false)
		}
		clear(m.owners)
		for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
			m.owners[strings.TrimPrefix(string(kv.Key), m.key("owners")+"/")] = string(kv.Value)
		}
		m.mu.Unlock()
		m.poke()
		m.pendingTriggers()
		wc := m.cli.Watch(clientv3.WithRequireLeader(m.ctx), m.prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
		for wr := range wc {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				m.event(ev)
			}
		}
		m.sleep(200 * time.Millisecond)
	}
}

func (m *Member) sleep(d time.Duration) {
	select {
	case <-m.ctx.Done():
	case <-time.After(d):
	}
}

// event takes one change under the prefix.
func (m *Member) event(ev *clientv3.Event) {
	rest := strings.TrimPrefix(string(ev.Kv.Key), m.prefix)
	kind, escaped, _ := strings.Cut(rest, "/")
	name := unescape(escaped)
	del := ev.Type == mvccpb.DELETE
	switch kind {
	case "members":
		m.mu.Lock()
		if del {
			delete(m.members, name)
			delete(m.samples, name)
			delete(m.offsets, name)
		} else {
			m.memberPut(ev.Kv.Value, ev.Kv.ModRevision, true)
		}
		m.mu.Unlock()
		if del || ev.IsCreate() {
			m.poke()
		}
	case "clocks":
		if !del {
			m.mu.Lock()
			m.clockPut(name, ev.Kv.Value)
			m.mu.Unlock()
		}
	case "owners":
		g := escaped // a group's ID, as its key has it
		m.mu.Lock()
		if !del {
			m.owners[g] = string(ev.Kv.Value)
			m.mu.Unlock()
			return
		}
		delete(m.owners, g)
		epoch, mine := m.owned[g]
		var lost []Change
		if mine {
			// Ours, deleted by someone else (an operator, or a lease
			// etcd expired before this member saw the fence).
			delete(m.owned, g)
			lost = m.untell(g, epoch, "its owners/ key was deleted", false)
		}
		m.mu.Unlock()
		for _, c := range lost {
			m.lost(c)
		}
		m.poke()
	case "triggers":
		if !del {
			job, _, _ := strings.Cut(escaped, "/")
			m.consumeTrigger(unescape(job), ev.Kv)
		}
	case "handoff":
		if !del {
			m.handoff(escaped, string(ev.Kv.Value))
		}
	}
}

// untell forgets the units of group g that the Owner callback was told
// this member owns, and returns their losses; with release, the group
// waits in leaving for each unit's Release. m.mu is held.
func (m *Member) untell(g string, epoch int64, reason string, release bool) []Change {
	var lost []Change
	waiting := map[string]bool{}
	for _, name := range m.groups[g] {
		if _, ok := m.told[name]; !ok {
			continue
		}
		delete(m.told, name)
		lost = append(lost, Change{Unit: name, Epoch: epoch, Release: release, Reason: reason})
		waiting[name] = true
	}
	if release && len(waiting) > 0 {
		m.leaving[g] = waiting
	}
	return lost
}

// lost tells the owner callback, and the journal, that a unit is lost.
func (m *Member) lost(c Change) {
	m.log.Warn("cluster: lost "+c.Unit+": "+c.Reason, "unit", c.Unit, "epoch", c.Epoch)
	m.cfg.Events(journal.Event{Type: journal.OwnerLost, Time: time.Now(), Unit: c.Unit, Epoch: c.Epoch, Member: m.cfg.Member, Reason: c.Reason})
	m.emit(c)
}

// handoff moves an owned group to another member after the current runs
// of its units: the owner callback is told to release each then.
func (m *Member) handoff(g, to string) {
	m.mu.Lock()
	epoch, mine := m.owned[g]
	var lost []Change
	release := false
	if mine && to != m.cfg.Member {
		delete(m.owned, g)
		lost = m.untell(g, epoch, "handed off to "+to, true)
		release = len(lost) == 0 // none of its units was running here
	}
	m.mu.Unlock()
	for _, c := range lost {
		m.lost(c)
	}
	if release {
		m.release(g, epoch)
	}
}

// Handoff asks the owner of unit to hand it to member to ("" for any
// other) after its current run. What moves is the unit's group: a unit
// with "prefer" alone, any other with the units of its shard.
func (m *Member) Handoff(ctx context.Context, unit, to string) error {
	g := m.group(unit)
	if to == "" {
		to = "-"
	} else if err := m.handoffTarget(ctx, unit, g, to); err != nil {
		return err
	}
	lease := m.currentLease()
	if lease == 0 {
		return ErrNotJoined // a handoff lives on the asking member's lease
	}
	_, err := m.cli.Put(ctx, m.prefix+"handoff/"+g, to, clientv3.WithLease(lease))
	return err
}

// group is the group of a unit of this member's config, or the shard of
// a name it does not have.
func (m *Member) group(unit string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g, ok := m.groupOf[unit]; ok {
		return g
	}
	return shardOf(unit, m.shards)
}

// handoffTarget checks that member to can take unit's group g: it is
// alive, its config of the group agrees with the majority's, and it does
// not own the group already.
func (m *Member) handoffTarget(ctx context.Context, unit, g, to string) error {
	m.mu.Lock()
	_, alive := m.members[to]
	u, known := m.units[unit]
	agrees := known && slices.Contains(order(g, u.Prefer, m.members), to)
	names := slices.Sorted(maps.Keys(m.members))
	m.mu.Unlock()
	switch {
	case !alive:
		return fmt.Errorf("no member named %q is alive in cluster %s (members: %s)", to, m.cfg.Name, strings.Join(names, ", "))
	case known && !agrees:
		return fmt.Errorf("member %s's config of %s differs from the majority's, or it has no %s%s: it would not keep it (kopf cluster members)", to, unit, unit, inShard(g))
	}
	resp, err := m.cli.Get(ctx, m.prefix+"owners/"+g)
	if err != nil {
		return err
	}
	if len(resp.Kvs) > 0 && string(resp.Kvs[0].Value) == to {
		return fmt.Errorf("%s owns %s already", to, unit)
	}
	return nil
}

func (m *Member) currentLease() clientv3.LeaseID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lease
}

// settle is how long a member that joined waits before its first bids.
const settle = time.Second

// balance takes the groups this member should own: each free group after
// a delay set by this member's place in the group's order.
func (m *Member) balance() {
	defer m.wg.Done()
	// Members started together see each other's records before the
	// first bids, so that groups spread over all of them.
	m.sleep(settle)
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
		case <-time.After(m.cfg.TTL):
		}
		m.takeFree()
	}
}

// takeFree leaves the groups whose config on this member is in the
// minority, tells the owner callback of units new in the groups it owns,
// and tries the groups that are free (as the watch saw them; its own
// key after a fence, too), in the order of this member's rank for each.
// It sends nothing to etcd for a group another member owns: a quiet
// cluster costs no requests per group.
func (m *Member) takeFree() {
	if !m.Live() {
		return
	}
	handoffs, ok := m.handoffTargets()
	if !ok {
		// Without the handoffs, a member that just handed a group off
		// would see itself first in its order and take it back (a loaded
		// machine did): another pass comes soon, not a lease later.
		time.AfterFunc(200*time.Millisecond, m.poke)
		return
	}
	m.mu.Lock()
	if !m.live() {
		m.mu.Unlock()
		return
	}
	type cand struct {
		g    string
		rank int
	}
	var cands []cand
	var minority []Change
	fresh := map[string]int64{} // owned groups with units not yet told
	for g, names := range m.groups {
		epoch, owned := m.owned[g]
		allTold := !slices.ContainsFunc(names, func(n string) bool { _, told := m.told[n]; return !told })
		owner, taken := m.owners[g]
		if !taken {
			owner = ""
		}
		act, rank := decideGroup(m.cfg.Member, order(g, m.preferOf(g), m.members), owned, allTold, m.leaving[g] != nil, owner, handoffs[g])
		switch act {
		case groupLeave:
			delete(m.owned, g)
			minority = append(minority, m.untell(g, epoch, "its config on this member differs from the majority's; it moves to another member after its current run", true)...)
			if len(m.leaving[g]) == 0 {
				m.leaving[g] = map[string]bool{} // released below
			}
		case groupTell:
			fresh[g] = epoch
		case groupTry:
			cands = append(cands, cand{g, rank})
		}
	}
	var releaseNow []Change
	for g, waiting := range m.leaving {
		if len(waiting) == 0 {
			releaseNow = append(releaseNow, Change{Unit: g})
			delete(m.leaving, g)
		}
	}
	m.mu.Unlock()
	for _, c := range minority {
		m.lost(c)
	}
	for _, c := range releaseNow {
		if epoch, ok := m.epochOf(c.Unit); ok {
			m.release(c.Unit, epoch)
		}
	}
	for g, epoch := range fresh {
		m.tell(g, epoch, "its group is this member's already")
	}
	slices.SortFunc(cands, func(a, b cand) int { return a.rank - b.rank })
	start := time.Now()
	for _, c := range cands {
		if !m.tryAt(c.g, start.Add(time.Duration(c.rank)*rankStep)) {
			return
		}
	}
}

// tryAt takes group g at the moment its rank gives it, unless the watch
// says another member took it meanwhile; false once the member stops or
// is fenced.
func (m *Member) tryAt(g string, at time.Time) bool {
	if d := time.Until(at); d > 0 {
		m.sleep(d)
	}
	if m.ctx.Err() != nil || !m.Live() {
		return false
	}
	m.mu.Lock()
	owner, taken := m.owners[g]
	m.mu.Unlock()
	if !taken || owner == m.cfg.Member {
		m.take(g)
	}
	return true
}

// groupAction is what a balancer pass does with one group.
type groupAction int

const (
	groupNone  groupAction = iota
	groupLeave             // owned, but this member's config of it is in the minority
	groupTell              // owned, with units the owner callback was not told of
	groupTry               // free, or its key still this member's: try it at its rank
)

// decideGroup is a pass's decision for one group, from what the member
// knows of it: the members' order for it (ord), whether this member owns
// it and told the owner callback of all its units, whether it is leaving
// it (handed off, or in the minority), its owner as the watch saw it last
// ("" for none), and the member a handoff names ("" for none, "-" for any
// other). For groupTry, rank is this member's place in the order.
func decideGroup(self string, ord []string, owned, allTold, leaving bool, owner, handoffTo string) (groupAction, int) {
	switch {
	case owned && !slices.Contains(ord, self):
		return groupLeave, 0
	case owned && !allTold:
		return groupTell, 0
	case owned, leaving, owner != "" && owner != self:
		return groupNone, 0 // a leaving group's owners/ key goes once its runs end
	}
	if handoffTo != "" && handoffTo != "-" {
		ord = append([]string{handoffTo}, slices.DeleteFunc(slices.Clone(ord), func(s string) bool { return s == handoffTo })...)
	}
	rank := slices.Index(ord, self)
	if rank < 0 {
		return groupNone, 0 // its config on this member disagrees with the majority's
	}
	return groupTry, rank
}

// epochOf reads the epoch of group g's owners/ key while it is this
// member's.
func (m *Member) epochOf(g string) (int64, bool) {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	defer cancel()
	resp, err := m.cli.Get(ctx, m.prefix+"owners/"+g)
	if err != nil || len(resp.Kvs) == 0 || string(resp.Kvs[0].Value) != m.cfg.Member {
		return 0, false
	}
	return resp.Kvs[0].CreateRevision, true
}

// preferOf is the prefer list of a group: its unit's, for a unit of its
// own; none for a shard. m.mu is held.
func (m *Member) preferOf(g string) []string {
	if !strings.HasPrefix(g, "u/") {
		return nil
	}
	if names := m.groups[g]; len(names) == 1 {
		return m.units[names[0]].Prefer
	}
	return nil
}

// handoffTargets reads handoff/: the member each group is to move to;
// ok is false when etcd did not answer.
func (m *Member) handoffTargets() (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL/3)
	defer cancel()
	resp, err := m.cli.Get(ctx, m.key("handoff")+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, false
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[strings.TrimPrefix(string(kv.Key), m.key("handoff")+"/")] = string(kv.Value)
	}
	return out, true
}

// take tries to own group g: create its owners/ key if absent; or adopt
// it when the key is this member's, on its current lease (after a fence
// lifted). Then it tells the owner callback of the group's units (tell).
func (m *Member) take(g string) {
	k := m.prefix + "owners/" + g
	lease := m.currentLease()
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	defer cancel()
	resp, err := m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, m.cfg.Member, clientv3.WithLease(lease))).
		Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		m.log.Debug("cluster: taking "+groupName(g), "err", err)
		return
	}
	epoch := resp.Header.Revision
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 || string(kvs[0].Value) != m.cfg.Member || clientv3.LeaseID(kvs[0].Lease) != lease {
			return // another member's
		}
		epoch = kvs[0].CreateRevision
	}
	if resp.Succeeded {
		// A handoff to this member is done.
		hk := m.prefix + "handoff/" + g
		for _, to := range []string{m.cfg.Member, "-"} {
			if _, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(hk), "=", to)).Then(clientv3.OpDelete(hk)).Commit(); err != nil {
				m.log.Debug("cluster: clearing the handoff of "+groupName(g), "err", err)
			}
		}
	}
	m.mu.Lock()
	if !m.live() {
		m.mu.Unlock()
		return
	}
	if _, ok := m.groups[g]; !ok {
		// SetUnits took the group's units out of the config while this
		// member was taking it (a reload), too early to release a key it
		// did not own yet: the key goes now, or it would keep the group
		// from every member for as long as this one lives.
		m.mu.Unlock()
		m.release(g, epoch)
		return
	}
	m.owned[g] = epoch
	m.owners[g] = m.cfg.Member
	m.mu.Unlock()
	reason := "free, and this member is first in its order among those alive"
	if !resp.Succeeded {
		reason = "its owners/ key is still this member's"
	}
	m.tell(g, epoch, reason)
}

// tell records, for the units of owned group g that the owner callback
// was not told of, the instants missed since their last claim and the
// claims of members gone as lost; then tells the callback and the journal
// that this member owns them, and delivers their waiting triggers.
func (m *Member) tell(g string, epoch int64, reason string) {
	m.mu.Lock()
	var units []Unit
	for _, name := range m.groups[g] {
		if _, told := m.told[name]; !told {
			units = append(units, m.units[name])
		}
	}
	m.mu.Unlock()
	if len(units) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, 2*m.cfg.TTL)
	defer cancel()
	since := m.cfg.Now()
	missed := m.recordMissed(ctx, units, epoch, since)
	lost := m.recordLost(ctx, units)
	m.mu.Lock()
	if !m.live() || m.owned[g] != epoch {
		m.mu.Unlock()
		return
	}
	var told []Unit
	for _, u := range units {
		if m.groupOf[u.Name] == g {
			m.told[u.Name] = epoch
			told = append(told, u)
		}
	}
	m.mu.Unlock()
	m.log.Info(fmt.Sprintf("cluster: owner of %s: %d units", groupName(g), len(told)), "group", g, "epoch", epoch, "reason", reason)
	for _, u := range told {
		why := reason
		if n := len(missed[u.Name]); n > 0 {
			why += fmt.Sprintf("; %d instants since the last claim recorded missed", n)
		}
		if n := lost[u.Name]; n > 0 {
			why += fmt.Sprintf("; %d claims of members gone recorded lost", n)
		}
		m.cfg.Events(journal.Event{Type: journal.OwnerGained, Time: time.Now(), Unit: u.Name, Epoch: epoch, Member: m.cfg.Member, Count: len(missed[u.Name]), Reason: why})
		m.emit(Change{Unit: u.Name, Owned: true, Epoch: epoch, Since: since, Missed: missed[u.Name], Reason: why})
	}
	m.pendingTriggers()
}

// instantKey is an instant's name in claims/: UTC, fixed width, so that
// keys sort by time.
func instantKey(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return t.Format("2006-01-02T15:04:05.000000000Z")
	}
	return t.Format("2006-01-02T15:04:05Z")
}

// maxTxnOps is how many operations one transaction carries: etcd's
// default --max-txn-ops is 128.
const maxTxnOps = 128

// batch sends ops in transactions of at most maxTxnOps and returns the
// answers in order; nil where a transaction failed.
func (m *Member) batch(ctx context.Context, ops []clientv3.Op) []*clientv3.TxnResponse {
	var out []*clientv3.TxnResponse
	for len(ops) > 0 {
		n := min(len(ops), maxTxnOps)
		resp, err := m.cli.Txn(ctx).Then(ops[:n]...).Commit()
		if err != nil {
			m.log.Debug("cluster: a batch of reads failed", "err", err)
			resp = nil
		}
		for range n {
			out = append(out, resp)
		}
		ops = ops[n:]
	}
	return out
}

// rangeOf is the i-th answer of a batch as a range's keys; nil when its
// transaction failed.
func rangeOf(resps []*clientv3.TxnResponse, i int) ([]*mvccpb.KeyValue, bool) {
	r := resps[i]
	if r == nil {
		return nil, false
	}
	return r.Responses[i%maxTxnOps].GetResponseRange().Kvs, true
}

// lastInstant is the latest instant claimed (or recorded) for a job.
func (m *Member) lastInstant(ctx context.Context, job string) (time.Time, bool) {
	from := m.key("claims", job) + "/"
	end := clientv3.GetPrefixRangeEnd(from)
	for {
		resp, err := m.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(50), clientv3.WithKeysOnly())
		if err != nil || len(resp.Kvs) == 0 {
			return time.Time{}, false
		}
		if t, ok := latestInstant(resp.Kvs, from); ok {
			return t, true
		}
		end = string(resp.Kvs[len(resp.Kvs)-1].Key)
	}
}

// latestInstant is the first key of kvs (newest first) that names an
// instant, not a run's start~n-member.
func latestInstant(kvs []*mvccpb.KeyValue, from string) (time.Time, bool) {
	for _, kv := range kvs {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(string(kv.Key), from)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// recordMissed writes a missed claim for each instant of each job since
// its last claim and up to until, and moves the jobs' marks to until. It
// returns the instants of each job (the newest maxMissed). The reads go
// in batches: a group's jobs cost a few requests, not a few each.
func (m *Member) recordMissed(ctx context.Context, units []Unit, epoch int64, until time.Time) map[string][]time.Time {
	var jobs []Unit
	var reads, marks []clientv3.Op
	for _, u := range units {
		if u.Fires == nil {
			continue
		}
		jobs = append(jobs, u)
		from := m.key("claims", u.Name) + "/"
		reads = append(reads,
			clientv3.OpGet(from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(from)), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(50), clientv3.WithKeysOnly()),
			clientv3.OpGet(m.key("marks", u.Name)))
		marks = append(marks, clientv3.OpPut(m.key("marks", u.Name), until.UTC().Format(time.RFC3339Nano)))
	}
	if len(jobs) == 0 {
		return nil
	}
	resps := m.batch(ctx, reads)
	out := map[string][]time.Time{}
	for i, u := range jobs {
		// Instants up to the later of the last claim and the moment the
		// previous owner took the job (its mark) are settled; the mark
		// covers an owner that held the job without claiming anything.
		claims, ok1 := rangeOf(resps, 2*i)
		mark, ok2 := rangeOf(resps, 2*i+1)
		if !ok1 || !ok2 {
			continue // etcd did not answer: a later owner records them
		}
		from := m.key("claims", u.Name) + "/"
		last, ok := latestInstant(claims, from)
		if !ok && len(claims) == 50 {
			last, ok = m.lastInstant(ctx, u.Name) // fifty runs without an instant: look further
		}
		if len(mark) > 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(mark[0].Value)); err == nil && (!ok || t.After(last)) {
				last, ok = t, true
			}
		}
		if !ok {
			continue // never owned in this cluster: nothing to miss
		}
		for _, at := range u.Fires(last, until, maxMissed) {
			k := m.key("claims", u.Name, instantKey(at))
			resp, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).Then(clientv3.OpPut(k, missedValue(m.cfg.Member, epoch))).Commit()
			if err == nil && resp.Succeeded {
				out[u.Name] = append(out[u.Name], at)
				m.remember(u.Name, instantKey(at), "missed", "no member claimed it: its owner was gone or fenced")
			}
		}
	}
	for _, r := range m.batch(ctx, marks) {
		if r == nil {
			m.log.Warn("cluster: writing the marks of a group's jobs failed")
			break
		}
	}
	return out
}

// recordLost marks the jobs' recent claims that have no outcome and whose
// member's session is gone as lost, and returns how many of each job.
func (m *Member) recordLost(ctx context.Context, units []Unit) map[string]int {
	// The members alive now, read from etcd rather than from the watch,
	// which may not yet have brought the deletion of the record of the
	// member whose leaving freed this group.
	ops := []clientv3.Op{clientv3.OpGet(m.key("members")+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())}
	var jobs []string
	for _, u := range units {
		jobs = append(jobs, u.Name)
		ops = append(ops, clientv3.OpGet(m.key("claims", u.Name)+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(100)))
	}
	resps := m.batch(ctx, ops)
	members, ok := rangeOf(resps, 0)
	if !ok {
		return nil
	}
	alive := map[int64]bool{}
	for _, kv := range members {
		alive[kv.Lease] = true
	}
	out := map[string]int{}
	for i, job := range jobs {
		claims, ok := rangeOf(resps, i+1)
		if !ok {
			continue
		}
		for _, kv := range claims {
			var c claimRecord
			if json.Unmarshal(kv.Value, &c) != nil || c.State != "claimed" || alive[c.Lease] {
				continue
			}
			c.State, c.Reason = "lost", "its member's session ended before it wrote an outcome"
			v, _ := json.Marshal(c)
			r, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision)).Then(clientv3.OpPut(string(kv.Key), string(v))).Commit()
			if err == nil && r.Succeeded {
				out[job]++
				m.remember(job, strings.TrimPrefix(string(kv.Key), m.key("claims", job)+"/"), "lost", c.Reason)
			}
		}
	}
	return out
}
