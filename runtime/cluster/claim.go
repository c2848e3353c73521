package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kopf/kopf/runtime/journal"
)

// Request asks for a run of a unit.
type Request struct {
	Unit string
	// Instants are the schedule instants the run is for; none for a run a
	// trigger or a period started, which claims a key of its own, and for
	// a proc, which claims nothing but its ownership.
	Instants []time.Time
	// CatchUp: the run catches up Instants[0], which this member recorded
	// missed when it took the unit.
	CatchUp bool
	Proc    bool
	Start   time.Time
}

// Claim asks the cluster at now for a run. It succeeds only while this
// member is before its fence deadline, owns the unit with the epoch it
// took it at, and none of the instants was claimed. The caller starts the
// run only on success, and only while Live.
func (m *Member) Claim(ctx context.Context, req Request, now time.Time) (Claim, error) {
	m.mu.Lock()
	epoch, owned := m.told[req.Unit]
	group := m.groupOf[req.Unit]
	live, deadline, lease := m.live(), m.deadline, m.lease
	m.mu.Unlock()
	c := Claim{Unit: req.Unit, Epoch: epoch}
	if len(req.Instants) > 0 {
		c.At = req.Instants[0]
	}
	switch {
	case !live:
		return c, m.refused(c, ErrFenced)
	case !owned:
		return c, m.refused(c, ErrNotOwner)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	t := m.claimTxn(req, group, epoch, lease)
	c.Keys = t.keys
	resp, err := m.commit(ctx, req.Unit, t, now)
	if err != nil {
		if ctx.Err() != nil && !m.Live() {
			err = ErrFenced
		}
		m.unrecorded(c, epoch, "this member could not reach etcd to claim it: "+err.Error())
		return c, m.refused(c, err)
	}
	if c.Fence, err = m.fenceOf(c, epoch, t, resp); err != nil {
		return c, m.refused(c, err)
	}
	if !m.Live() {
		// Granted, but the answer came after the fence deadline: the run
		// does not start, and its claim says so once etcd answers.
		m.notStarted(c)
		return c, m.refused(c, ErrFenced)
	}
	c.Deadline = now.Add(time.Until(m.Deadline()))
	if !req.Proc {
		m.cfg.Events(journal.Event{Type: journal.Claimed, Time: now, Unit: req.Unit, At: c.At, Fence: c.Fence, Epoch: epoch, Member: m.cfg.Member})
	}
	return c, nil
}

// claimTxn is a claim's transaction: while this member owns the unit's
// group at epoch, and each instant's key is free (a catch-up's first: recorded
// missed by this owner), put the claim record at each; else read the
// owner's key and the first claim's.
type claimTxn struct {
	conds []clientv3.Cmp
	puts  []clientv3.Op
	elses []clientv3.Op
	keys  []string // the claims' keys; none for a proc
	rec   []byte   // the record put; nil for a proc
}

func (m *Member) claimTxn(req Request, group string, epoch int64, lease clientv3.LeaseID) claimTxn {
	ok := m.prefix + "owners/" + group
	t := claimTxn{conds: []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(ok), "=", epoch),
		clientv3.Compare(clientv3.Value(ok), "=", m.cfg.Member),
	}}
	if !req.Proc {
		t.rec, _ = json.Marshal(claimRecord{State: "claimed", Member: m.cfg.Member, Lease: int64(lease), Epoch: epoch, Start: req.Start.UTC(), ID: claimID()})
		for _, at := range req.Instants {
			t.keys = append(t.keys, m.key("claims", req.Unit, instantKey(at)))
		}
		if len(t.keys) == 0 {
			t.keys = append(t.keys, m.key("claims", req.Unit, runKey(req.Start, m.cfg.Member)))
		}
		for i, k := range t.keys {
			if req.CatchUp && i == 0 {
				t.conds = append(t.conds, clientv3.Compare(clientv3.Value(k), "=", missedValue(m.cfg.Member, epoch)))
			} else {
				t.conds = append(t.conds, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
			}
			t.puts = append(t.puts, clientv3.OpPut(k, string(t.rec)))
		}
	}
	t.elses = []clientv3.Op{clientv3.OpGet(ok)}
	if len(t.keys) > 0 {
		t.elses = append(t.elses, clientv3.OpGet(t.keys[0]))
	}
	return t
}

// commit sends t, again when etcd does not answer for a moment (a leader
// election, a node that died), within claimRetry of now and ctx's
// deadline (the fence's). A retry that finds the claim already there with
// this attempt's own record knows the earlier attempt went through
// (fenceOf).
func (m *Member) commit(ctx context.Context, unit string, t claimTxn, now time.Time) (*clientv3.TxnResponse, error) {
	giveUp := now.Add(claimRetry)
	for attempt := 1; ; attempt++ {
		// An attempt that etcd holds (a proposal lost with its leader
		// waits for a server timeout) is given up early and tried again.
		actx, cancel := context.WithTimeout(ctx, claimAttempt)
		resp, err := m.cli.Txn(actx).If(t.conds...).Then(t.puts...).Else(t.elses...).Commit()
		cancel()
		if err == nil || ctx.Err() != nil || !m.cfg.Now().Before(giveUp) {
			return resp, err
		}
		m.log.Debug("cluster: claim of "+unit+" failed; trying again", "err", err, "attempt", attempt)
		m.sleep(claimBackoff)
	}
}

// fenceOf reads a claim's answer: the fence token of a claim granted — by
// this transaction, or by an earlier attempt of it whose answer was lost —
// or why it was refused.
func (m *Member) fenceOf(c Claim, epoch int64, t claimTxn, resp *clientv3.TxnResponse) (int64, error) {
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 || kvs[0].CreateRevision != epoch || string(kvs[0].Value) != m.cfg.Member {
		return 0, ErrNotOwner
	}
	if len(resp.Responses) < 2 || len(t.rec) == 0 {
		return 0, ErrTaken
	}
	mine := resp.Responses[1].GetResponseRange().Kvs
	if len(mine) == 0 || string(mine[0].Value) != string(t.rec) {
		// A run that several instants joined, one of them claimed already
		// (a member whose clock was ahead ran it): the others are
		// recorded missed, not left unaccounted for.
		m.unrecorded(c, epoch, "it joined a run with an instant another run had claimed already, so that run did not start")
		return 0, ErrTaken
	}
	return mine[0].CreateRevision, nil // an earlier attempt's, whose answer was lost
}

// How long, and how often, a claim is tried again while etcd does not
// answer. The start waits meanwhile; a leader election takes about a
// second.
const (
	claimRetry   = 3 * time.Second
	claimAttempt = time.Second
	claimBackoff = 100 * time.Millisecond
)

// pending is a write to etcd that records what a member could not
// record at the time (etcd did not answer): an instant it could not
// claim, a claim it did not start. The keep-alive loop writes them once
// etcd answers again.
type pending struct {
	key    string
	create int64 // the key's create revision the write expects; 0: absent
	value  string
}

// unrecorded keeps the instants of a claim that etcd did not answer, to
// record them missed once it does.
func (m *Member) unrecorded(c Claim, epoch int64, reason string) {
	if len(c.Keys) == 0 || c.At.IsZero() {
		return
	}
	v, _ := json.Marshal(claimRecord{State: "missed", Member: m.cfg.Member, Epoch: epoch, Reason: reason})
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range c.Keys {
		m.pending = append(m.pending, pending{key: k, value: string(v)})
	}
}

// notStarted records that a granted claim did not start.
func (m *Member) notStarted(c Claim) {
	v, _ := json.Marshal(claimRecord{State: "lost", Member: m.cfg.Member, Epoch: c.Epoch,
		Reason: "granted after this member's fence deadline, so it did not start"})
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range c.Keys {
		m.pending = append(m.pending, pending{key: k, create: c.Fence, value: string(v)})
	}
}

// flush writes the pending records; those etcd does not take stay.
func (m *Member) flush(ctx context.Context) {
	m.mu.Lock()
	ps := m.pending
	m.pending = nil
	m.mu.Unlock()
	var left []pending
	for i, p := range ps {
		_, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(p.key), "=", p.create)).Then(clientv3.OpPut(p.key, p.value)).Commit()
		if err != nil {
			left = ps[i:]
			break
		}
	}
	if len(left) > 0 {
		m.mu.Lock()
		m.pending = append(left, m.pending...)
		m.mu.Unlock()
	}
}

// claimID tells one Claim call's record from another's: a retry that
// finds its own ID knows an earlier attempt of the same call went
// through.
func claimID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// runKey names the claim of a run no instant started: its start, then
// '~' (which sorts after an instant of the same second) and the member.
func runKey(start time.Time, member string) string {
	start = start.UTC()
	return start.Format("2006-01-02T15:04:05Z") + "~" + strconv.Itoa(start.Nanosecond()) + "-" + member
}

// missedValue is the value recordMissed writes, which a catch-up claim
// compares with.
func missedValue(member string, epoch int64) string {
	v, _ := json.Marshal(claimRecord{State: "missed", Member: member, Epoch: epoch, Reason: "no member claimed it: its owner was gone or fenced"})
	return string(v)
}

// refused journals a refused claim and returns err.
func (m *Member) refused(c Claim, err error) error {
	m.cfg.Events(journal.Event{Type: journal.ClaimRefused, Time: time.Now(), Unit: c.Unit, At: c.At, Epoch: c.Epoch, Member: m.cfg.Member, Reason: err.Error()})
	return err
}

// Ended writes a run's outcome into its claims.
func (m *Member) Ended(c Claim, start, end time.Time, outcome string) {
	if len(c.Keys) == 0 {
		return
	}
	m.mu.Lock()
	lease := m.lease
	m.mu.Unlock()
	rec, _ := json.Marshal(claimRecord{State: "ended", Member: m.cfg.Member, Lease: int64(lease), Epoch: c.Epoch, Start: start.UTC(), End: end.UTC(), Outcome: outcome})
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	defer cancel()
	var ops []clientv3.Op
	var conds []clientv3.Cmp
	for _, k := range c.Keys {
		// Only a claim this run wrote: not one retention deleted since.
		conds = append(conds, clientv3.Compare(clientv3.CreateRevision(k), "=", c.Fence))
		ops = append(ops, clientv3.OpPut(k, string(rec)))
	}
	if _, err := m.cli.Txn(ctx).If(conds...).Then(ops...).Commit(); err != nil {
		// etcd did not answer — a partition, which may be why the run
		// ended (on-lease-loss "kill"). The outcome is written once etcd
		// answers, over the "lost" a new owner may have written meanwhile:
		// what happened beats what was assumed.
		m.log.Warn("cluster: writing the outcome of "+c.Unit+"; it is written once etcd answers", "err", err)
		m.mu.Lock()
		for _, k := range c.Keys {
			m.pending = append(m.pending, pending{key: k, create: c.Fence, value: string(rec)})
		}
		m.mu.Unlock()
	}
}

// Forward sends a trigger to the owner of job, whichever member it is.
func (m *Member) Forward(ctx context.Context, job string, args []string, by string) error {
	v, _ := json.Marshal(triggerRecord{Args: args, By: by, From: m.cfg.Member})
	id := fmt.Sprintf("%s-%d", m.cfg.Member, time.Now().UnixNano())
	_, err := m.cli.Put(ctx, m.key("triggers", job, id), string(v))
	return err
}

type triggerRecord struct {
	Args []string `json:"args,omitempty"`
	By   string   `json:"by"`
	From string   `json:"from"`
}

// consumeTrigger takes a trigger for a job this member owns: deleting it
// is the consumption, so exactly one member delivers it.
func (m *Member) consumeTrigger(job string, kv interface {
	GetKey() []byte
	GetValue() []byte
	GetModRevision() int64
}) {
	m.mu.Lock()
	_, mine := m.told[job]
	live := m.live()
	m.mu.Unlock()
	if !mine || !live {
		return
	}
	k := string(kv.GetKey())
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	defer cancel()
	resp, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(k), "=", kv.GetModRevision())).Then(clientv3.OpDelete(k)).Commit()
	if err != nil || !resp.Succeeded {
		return
	}
	var t triggerRecord
	if json.Unmarshal(kv.GetValue(), &t) != nil {
		m.log.Warn("cluster: a trigger for "+job+" is not readable; dropped", "key", k)
		return
	}
	if m.cfg.Trigger != nil {
		by := t.By
		if t.From != "" && t.From != m.cfg.Member {
			by += " on " + t.From
		}
		m.cfg.Trigger(job, t.Args, by)
	}
}

// pendingTriggers consumes the triggers waiting for the jobs this member
// owns: one read of every trigger waiting (there are few: each is
// consumed as soon as its job has an owner), oldest first.
func (m *Member) pendingTriggers() {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.TTL)
	defer cancel()
	from := m.key("triggers") + "/"
	resp, err := m.cli.Get(ctx, from, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return
	}
	owned := m.Owned()
	for _, kv := range resp.Kvs {
		job, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), from), "/")
		if _, ok := owned[unescape(job)]; ok {
			m.consumeTrigger(unescape(job), kv)
		}
	}
}

// Collect deletes the claims older than the retention, of every job the
// cluster has had (each has a marks/ key), whoever owns it now or none; a
// job that no member has owned for longer than the retention loses its
// mark too. kopf run calls it every hour; deletes are idempotent, so
// members that collect at once do no harm.
func (m *Member) Collect(ctx context.Context) (int64, error) {
	cut := m.cfg.Now().Add(-m.cfg.Retention)
	cutoff := instantKey(cut.Truncate(time.Second))
	marks, err := m.cli.Get(ctx, m.key("marks")+"/", clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	var n int64
	for _, kv := range marks.Kvs {
		job := unescape(strings.TrimPrefix(string(kv.Key), m.key("marks")+"/"))
		from := m.key("claims", job) + "/"
		resp, err := m.cli.Delete(ctx, from, clientv3.WithRange(from+cutoff))
		if err != nil {
			return n, err
		}
		n += resp.Deleted
		if at, err := time.Parse(time.RFC3339Nano, string(kv.Value)); err == nil && at.Before(cut) {
			// Gone from every config for the retention: its mark goes,
			// unless a member owns it (the mark only changes at a take).
			ok := m.prefix + "owners/" + m.group(job)
			m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(ok), "=", 0), clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision)).
				Then(clientv3.OpDelete(string(kv.Key))).Commit()
		}
	}
	return n, nil
}

// ClaimInfo is one claim, as kopf cluster claims shows it.
type ClaimInfo struct {
	Key     string    `json:"key"` // the instant, or the run's start~n-member
	State   string    `json:"state"`
	Member  string    `json:"member"`
	Epoch   int64     `json:"epoch,omitempty"`
	Fence   int64     `json:"fence"`
	Start   time.Time `json:"start,omitzero"`
	End     time.Time `json:"end,omitzero"`
	Outcome string    `json:"outcome,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

// Claims returns a job's latest claims, newest first.
func (m *Member) Claims(ctx context.Context, job string, limit int64) ([]ClaimInfo, error) {
	from := m.key("claims", job) + "/"
	resp, err := m.cli.Get(ctx, from, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(limit))
	if err != nil {
		return nil, err
	}
	var out []ClaimInfo
	for _, kv := range resp.Kvs {
		var c claimRecord
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			c.State, c.Reason = "unreadable", err.Error()
		}
		out = append(out, ClaimInfo{
			Key: strings.TrimPrefix(string(kv.Key), from), State: c.State, Member: c.Member, Epoch: c.Epoch,
			Fence: kv.CreateRevision, Start: c.Start, End: c.End, Outcome: c.Outcome, Reason: c.Reason,
		})
	}
	return out, nil
}

// MemberInfo is a member as kopf status shows it.
type MemberInfo struct {
	Record
	// Offset is its wall clock less this member's, measured when its
	// record last changed (every keep-alive).
	Offset time.Duration `json:"offset"`
	Owns   []string      `json:"owns,omitempty"`
	// Disagrees lists the units whose config differs from the majority's.
	Disagrees []string `json:"disagrees,omitempty"`
}

// OwnerInfo is a unit's owner.
type OwnerInfo struct {
	Unit   string `json:"unit"`
	Member string `json:"member"`
	Epoch  int64  `json:"epoch"`
}

// Status is the cluster as this member sees it.
type Status struct {
	Name   string `json:"name"`
	Member string `json:"member"`
	Live   bool   `json:"live"`
	Joined bool   `json:"joined"` // has a session (etcd answered its request)
	// Etcd says etcd did not answer: the rest is this member's own view.
	Etcd     string       `json:"etcd_error,omitempty"`
	Deadline time.Time    `json:"fence_deadline"`
	Members  []MemberInfo `json:"members"`
	Owners   []OwnerInfo  `json:"owners"`
	// Recent are the latest instants this member recorded missed or
	// lost, oldest first.
	Recent []Recorded `json:"recent,omitempty"`
}

// Status reads the members and owners. When etcd does not answer within
// statusWait, it is the member's own view: the members it last saw, the
// units it owns, and the error in Status.Etcd.
func (m *Member) Status(ctx context.Context) (Status, error) {
	st := Status{Name: m.cfg.Name, Member: m.cfg.Member}
	owns := map[string][]string{}
	gctx, cancel := context.WithTimeout(ctx, statusWait)
	resp, err := m.cli.Get(gctx, m.key("owners")+"/", clientv3.WithPrefix())
	cancel()
	switch {
	case ctx.Err() != nil:
		return st, ctx.Err()
	case err != nil:
		st.Etcd = fmt.Sprintf("etcd at %s does not answer: %v", strings.Join(m.cfg.Endpoints, ","), err)
		for unit, epoch := range m.Owned() {
			st.Owners = append(st.Owners, OwnerInfo{Unit: unit, Member: m.cfg.Member, Epoch: epoch})
			owns[m.cfg.Member] = append(owns[m.cfg.Member], unit)
		}
		slices.SortFunc(st.Owners, func(a, b OwnerInfo) int { return strings.Compare(a.Unit, b.Unit) })
	default:
		// Each group's owner owns the units this member's config has in
		// it.
		m.mu.Lock()
		for _, kv := range resp.Kvs {
			g := strings.TrimPrefix(string(kv.Key), m.key("owners")+"/")
			for _, unit := range m.groups[g] {
				st.Owners = append(st.Owners, OwnerInfo{Unit: unit, Member: string(kv.Value), Epoch: kv.CreateRevision})
				owns[string(kv.Value)] = append(owns[string(kv.Value)], unit)
			}
		}
		m.mu.Unlock()
		slices.SortFunc(st.Owners, func(a, b OwnerInfo) int { return strings.Compare(a.Unit, b.Unit) })
	}
	m.mu.Lock()
	st.Live, st.Joined, st.Deadline = m.live(), m.lease != 0, m.deadline
	st.Recent = slices.Clone(m.recent)
	for name, r := range m.members {
		mi := MemberInfo{Record: r, Offset: m.offsets[name], Owns: owns[name]}
		slices.Sort(mi.Owns)
		for g := range r.Groups {
			if !slices.Contains(order(g, m.preferOf(g), m.members), name) {
				// The units of the group as this member's config has them:
				// the record says only that the member's differ.
				mi.Disagrees = append(mi.Disagrees, m.groups[g]...)
			}
		}
		slices.Sort(mi.Disagrees)
		mi.Groups = nil
		st.Members = append(st.Members, mi)
	}
	m.mu.Unlock()
	slices.SortFunc(st.Members, func(a, b MemberInfo) int { return strings.Compare(a.Member, b.Member) })
	return st, nil
}

// statusWait bounds Status's read of etcd.
const statusWait = 2 * time.Second

// IsRefusal reports whether err is the cluster refusing a run (rather
// than failing to answer).
func IsRefusal(err error) bool {
	return errors.Is(err, ErrFenced) || errors.Is(err, ErrNotOwner) || errors.Is(err, ErrTaken)
}
