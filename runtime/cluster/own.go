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

// watch follows members/, owners/, triggers/ and handoff/: a member that
// comes or goes changes every unit's order, a deleted owner key frees its
// unit, a trigger for an owned job is consumed, a handoff releases.
func (m *Member) watch() {
	defer m.wg.Done()
	for m.ctx.Err() == nil {
		// Read the members there are now, then watch from just after:
		// a watch broken for a while (etcd away) misses nothing, and the
		// units freed meanwhile are looked at again.
		resp, err := m.cli.Get(m.ctx, m.key("members")+"/", clientv3.WithPrefix())
		if err != nil {
			m.sleep(time.Second)
			continue
		}
		m.mu.Lock()
		clear(m.members)
		for _, kv := range resp.Kvs {
			m.memberPut(kv.Value, false)
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
			m.memberPut(ev.Kv.Value, true)
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
		if !del {
			return
		}
		m.mu.Lock()
		epoch, mine := m.owned[name]
		if mine {
			// Ours, deleted by someone else (an operator, or a lease
			// etcd expired before this member saw the fence).
			delete(m.owned, name)
			m.mu.Unlock()
			m.lost(Change{Unit: name, Epoch: epoch, Reason: "its owners/ key was deleted"})
			m.poke()
			return
		}
		m.mu.Unlock()
		m.poke()
	case "triggers":
		if !del {
			job, _, _ := strings.Cut(escaped, "/")
			m.consumeTrigger(unescape(job), ev.Kv)
		}
	case "handoff":
		if !del {
			m.handoff(name, string(ev.Kv.Value))
		}
	}
}

// lost tells the owner callback, and the journal, that a unit is lost.
func (m *Member) lost(c Change) {
	m.log.Warn("cluster: lost "+c.Unit+": "+c.Reason, "unit", c.Unit, "epoch", c.Epoch)
	m.cfg.Events(journal.Event{Type: journal.OwnerLost, Time: time.Now(), Unit: c.Unit, Epoch: c.Epoch, Member: m.cfg.Member, Reason: c.Reason})
	m.emit(c)
}

// handoff moves an owned unit to another member after its current run:
// the owner callback is told to release it then.
func (m *Member) handoff(unit, to string) {
	m.mu.Lock()
	epoch, mine := m.owned[unit]
	if mine && to != m.cfg.Member {
		delete(m.owned, unit)
		m.leaving[unit] = true
	}
	m.mu.Unlock()
	if mine && to != m.cfg.Member {
		m.lost(Change{Unit: unit, Epoch: epoch, Release: true, Reason: "handed off to " + to})
	}
}

// Handoff asks the owner of unit to hand it to member to ("" for any
// other) after its current run.
func (m *Member) Handoff(ctx context.Context, unit, to string) error {
	if to == "" {
		to = "-"
	} else if err := m.handoffTarget(ctx, unit, to); err != nil {
		return err
	}
	lease := m.currentLease()
	if lease == 0 {
		return ErrNotJoined // a handoff lives on the asking member's lease
	}
	_, err := m.cli.Put(ctx, m.key("handoff", unit), to, clientv3.WithLease(lease))
	return err
}

// handoffTarget checks that member to can take unit: it is alive, its
// config of the unit agrees with the majority's, and it does not own the
// unit already.
func (m *Member) handoffTarget(ctx context.Context, unit, to string) error {
	m.mu.Lock()
	_, alive := m.members[to]
	u, known := m.units[unit]
	agrees := known && slices.Contains(order(u, m.members), to)
	names := slices.Sorted(maps.Keys(m.members))
	m.mu.Unlock()
	switch {
	case !alive:
		return fmt.Errorf("no member named %q is alive in cluster %s (members: %s)", to, m.cfg.Name, strings.Join(names, ", "))
	case known && !agrees:
		return fmt.Errorf("member %s's config of %s differs from the majority's, or it has no %s: it would not keep it (kopf cluster members)", to, unit, unit)
	}
	resp, err := m.cli.Get(ctx, m.key("owners", unit))
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

// balance takes the units this member should own: each free unit after a
// delay set by this member's place in the unit's order.
func (m *Member) balance() {
	defer m.wg.Done()
	// Members started together see each other's records before the
	// first bids, so that units spread over all of them.
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

// takeFree tries every unit this member does not own and etcd says is
// free, in the order of this member's rank for each.
func (m *Member) takeFree() {
	if !m.Live() {
		return
	}
	handoffs := m.handoffTargets()
	m.mu.Lock()
	if !m.live() {
		m.mu.Unlock()
		return
	}
	type cand struct {
		u    Unit
		rank int
	}
	var cands []cand
	var minority []Change
	for name, u := range m.units {
		ord := order(u, m.members)
		if epoch, ok := m.owned[name]; ok {
			if !slices.Contains(ord, m.cfg.Member) {
				delete(m.owned, name)
				m.leaving[name] = true
				minority = append(minority, Change{Unit: name, Epoch: epoch, Release: true,
					Reason: "its config on this member differs from the majority's; it moves to another member after its current run"})
			}
			continue
		}
		if m.leaving[name] {
			continue // handed off, or in the minority: its owners/ key goes once its run ends
		}
		if to, ok := handoffs[name]; ok && to != "-" {
			ord = slices.DeleteFunc(ord, func(s string) bool { return s == to })
			ord = append([]string{to}, ord...)
		}
		rank := slices.Index(ord, m.cfg.Member)
		if rank < 0 {
			continue // its config disagrees with the majority's
		}
		cands = append(cands, cand{u, rank})
	}
	m.mu.Unlock()
	for _, c := range minority {
		m.lost(c)
	}
	slices.SortFunc(cands, func(a, b cand) int { return a.rank - b.rank })
	start := time.Now()
	for _, c := range cands {
		if d := time.Duration(c.rank)*rankStep - time.Since(start); d > 0 {
			m.sleep(d)
		}
		if m.ctx.Err() != nil || !m.Live() {
			return
		}
		m.take(c.u)
	}
}

// handoffTargets reads handoff/: the member each unit is to move to.
func (m *Member) handoffTargets() map[string]string {
	ctx, cancel := context.WithTimeout(m.ctx, time.Second)
	defer cancel()
	resp, err := m.cli.Get(ctx, m.key("handoff")+"/", clientv3.WithPrefix())
	out := map[string]string{}
	if err != nil {
		return out
	}
	for _, kv := range resp.Kvs {
		out[unescape(strings.TrimPrefix(string(kv.Key), m.key("handoff")+"/"))] = string(kv.Value)
	}
	return out
}

// take tries to own a unit: create its owners/ key if absent; or adopt it
// when the key is this member's, on its current lease (after a fence
// lifted). Then it records the instants missed since the last claim and
// the claims left without an outcome, and tells the owner callback.
func (m *Member) take(u Unit) {
	k := m.key("owners", u.Name)
	lease := m.currentLease()
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	defer cancel()
	resp, err := m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, m.cfg.Member, clientv3.WithLease(lease))).
		Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		m.log.Debug("cluster: taking "+u.Name, "err", err)
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
		hk := m.key("handoff", u.Name)
		for _, to := range []string{m.cfg.Member, "-"} {
			if _, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(hk), "=", to)).Then(clientv3.OpDelete(hk)).Commit(); err != nil {
				m.log.Debug("cluster: clearing the handoff of "+u.Name, "err", err)
			}
		}
	}
	since := m.cfg.Now()
	missed, total := m.recordMissed(ctx, u, epoch, since)
	lost := m.recordLost(ctx, u.Name)
	m.mu.Lock()
	if !m.live() {
		m.mu.Unlock()
		return
	}
	if _, ok := m.units[u.Name]; !ok {
		// SetUnits took the unit out of the config while this member
		// was taking it (a reload), too early to release a key it did
		// not own yet: the key goes now, or it would keep the unit from
		// every member for as long as this one lives.
		m.mu.Unlock()
		m.release(u.Name, epoch)
		return
	}
	m.owned[u.Name] = epoch
	m.mu.Unlock()
	reason := "free, and this member is first in its order among those alive"
	if !resp.Succeeded {
		reason = "its owners/ key is still this member's"
	}
	if total > 0 {
		reason += fmt.Sprintf("; %d instants since the last claim recorded missed", total)
	}
	if lost > 0 {
		reason += fmt.Sprintf("; %d claims of members gone recorded lost", lost)
	}
	m.log.Info("cluster: owner of "+u.Name, "unit", u.Name, "epoch", epoch, "reason", reason)
	m.cfg.Events(journal.Event{Type: journal.OwnerGained, Time: time.Now(), Unit: u.Name, Epoch: epoch, Member: m.cfg.Member, Count: total, Reason: reason})
	m.emit(Change{Unit: u.Name, Owned: true, Epoch: epoch, Since: since, Missed: missed, Reason: reason})
	m.pendingTriggersOf(u.Name)
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

// lastInstant is the latest instant claimed (or recorded) for a job.
func (m *Member) lastInstant(ctx context.Context, job string) (time.Time, bool) {
	from := m.key("claims", job) + "/"
	end := clientv3.GetPrefixRangeEnd(from)
	for {
		resp, err := m.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(50), clientv3.WithKeysOnly())
		if err != nil || len(resp.Kvs) == 0 {
			return time.Time{}, false
		}
		for _, kv := range resp.Kvs {
			name := strings.TrimPrefix(string(kv.Key), from)
			if t, err := time.Parse(time.RFC3339Nano, name); err == nil {
				return t, true
			}
		}
		end = string(resp.Kvs[len(resp.Kvs)-1].Key)
	}
}

// recordMissed writes a missed claim for each instant of the job since
// its last claim and up to until. It returns the instants (the newest
// maxMissed) and how many there were.
func (m *Member) recordMissed(ctx context.Context, u Unit, epoch int64, until time.Time) ([]time.Time, int) {
	if u.Fires == nil {
		return nil, 0
	}
	// Instants up to the later of the last claim and the moment the
	// previous owner took the job (its mark) are settled; the mark
	// covers an owner that held the job without claiming anything.
	last, ok := m.lastInstant(ctx, u.Name)
	markKey := m.key("marks", u.Name)
	if resp, err := m.cli.Get(ctx, markKey); err == nil && len(resp.Kvs) > 0 {
		if mark, err := time.Parse(time.RFC3339Nano, string(resp.Kvs[0].Value)); err == nil && (!ok || mark.After(last)) {
			last, ok = mark, true
		}
	}
	defer func() {
		if _, err := m.cli.Put(ctx, markKey, until.UTC().Format(time.RFC3339Nano)); err != nil {
			m.log.Warn("cluster: writing the mark of "+u.Name, "err", err)
		}
	}()
	if !ok {
		return nil, 0 // never owned in this cluster: nothing to miss
	}
	missed := u.Fires(last, until, maxMissed)
	var written []time.Time
	for _, at := range missed {
		v, _ := json.Marshal(claimRecord{State: "missed", Member: m.cfg.Member, Epoch: epoch, Reason: "no member claimed it: its owner was gone or fenced"})
		k := m.key("claims", u.Name, instantKey(at))
		resp, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).Then(clientv3.OpPut(k, string(v))).Commit()
		if err == nil && resp.Succeeded {
			written = append(written, at)
			m.remember(u.Name, instantKey(at), "missed", "no member claimed it: its owner was gone or fenced")
		}
	}
	return written, len(written)
}

// recordLost marks the job's recent claims that have no outcome and whose
// member's session is gone as lost.
func (m *Member) recordLost(ctx context.Context, job string) int {
	resp, err := m.cli.Get(ctx, m.key("claims", job)+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(100))
	if err != nil {
		return 0
	}
	// The members alive now, read from etcd rather than from the watch,
	// which may not yet have brought the deletion of the record of the
	// member whose leaving freed this job.
	members, err := m.cli.Get(ctx, m.key("members")+"/", clientv3.WithPrefix())
	if err != nil {
		return 0
	}
	alive := map[int64]bool{}
	for _, kv := range members.Kvs {
		alive[kv.Lease] = true
	}
	n := 0
	for _, kv := range resp.Kvs {
		var c claimRecord
		if json.Unmarshal(kv.Value, &c) != nil || c.State != "claimed" || alive[c.Lease] {
			continue
		}
		c.State, c.Reason = "lost", "its member's session ended before it wrote an outcome"
		v, _ := json.Marshal(c)
		r, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision)).Then(clientv3.OpPut(string(kv.Key), string(v))).Commit()
		if err == nil && r.Succeeded {
			n++
			m.remember(job, strings.TrimPrefix(string(kv.Key), m.key("claims", job)+"/"), "lost", c.Reason)
		}
	}
	return n
}
