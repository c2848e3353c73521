package config

import (
	"crypto/sha256"
	"slices"

	"github.com/kopf/kopf/lang"
)

// A daemon reads its config file again at every save, and in a file of
// 10k jobs in which one changed, the reload should cost about what that
// one job costs. Reparse therefore takes each job or proc whose entry is
// written exactly as before from the file's previous version instead of
// decoding and compiling it again, and the supervisor keeps a unit whose
// entry did not change without comparing its settings (Unit.SameEntry).
//
// An entry's digest covers everything its settings are decoded from: its
// kind, its text (name and settings, as written) and the text of the
// file's "protos". The same digest means the same settings; only where
// the entry sits in the file may differ, and its positions are moved
// there. Only JSON files are read this way: a YAML entry may take values
// from anchors elsewhere in the file, and its units have no digest.

// entryDigest identifies the text an entry was decoded from; the zero
// value is "not known".
type entryDigest [16]byte

// SameEntry reports whether u and o were decoded from the same text (the
// same entry of the same kind, with the same protos), so that their
// settings are the same; false when either's text is not known.
func (u *Unit) SameEntry(o *Unit) bool {
	return u.entry != entryDigest{} && u.entry == o.entry
}

// digestEntry is the digest of an entry of kind ("job" or "proc") written
// as raw, in a file whose protos have the digest protos.
func digestEntry(kind string, raw []byte, protos entryDigest) entryDigest {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write(protos[:])
	h.Write(raw)
	var d entryDigest
	copy(d[:], h.Sum(nil))
	return d
}

// digestProtos is the digest of the "protos" section's text, or of its
// absence.
func digestProtos(raw []byte) entryDigest {
	var d entryDigest
	if raw != nil {
		sum := sha256.Sum256(raw)
		copy(d[:], sum[:])
	}
	return d
}

// reuse is what Reparse may take from a file's previous version.
type reuse struct {
	jobs  map[string]*Job
	procs map[string]*Proc
	prev  *Config
}

func newReuse(prev *Config) *reuse {
	if prev == nil {
		return nil
	}
	r := &reuse{jobs: make(map[string]*Job, len(prev.Jobs)), procs: make(map[string]*Proc, len(prev.Procs)), prev: prev}
	for _, j := range prev.Jobs {
		r.jobs[j.Name] = j
	}
	for _, p := range prev.Procs {
		r.procs[p.Name] = p
	}
	return r
}

// unit returns the unit of the previous version named name whose entry
// has digest d, moved to where its entry's name now is, or nil.
func (r *reuse) unit(kind, name string, d entryDigest, at lang.Pos) any {
	if r == nil || d == (entryDigest{}) {
		return nil
	}
	switch kind {
	case "job":
		if j := r.jobs[name]; j != nil && j.entry == d {
			return j.movedTo(at)
		}
	case "proc":
		if p := r.procs[name]; p != nil && p.entry == d {
			return p.movedTo(at)
		}
	}
	return nil
}

// protosOf returns the protos the previous version's unit name took.
func (r *reuse) protosOf(name string) []string { return r.prev.protoUses[name] }

// movedTo returns j with its entry's name at at: j itself when it has not
// moved, or a copy whose positions are moved there.
func (j *Job) movedTo(at lang.Pos) *Job {
	if j.Pos == at {
		return j
	}
	m := move{from: j.Pos, to: at}
	c := *j
	c.Pos = at
	c.Schedules = slices.Clone(j.Schedules)
	for i := range c.Schedules {
		c.Schedules[i].Pos = m.pos(c.Schedules[i].Pos)
	}
	c.Triggers = slices.Clone(j.Triggers)
	for i := range c.Triggers {
		c.Triggers[i].Pos = m.pos(c.Triggers[i].Pos)
	}
	return &c
}

func (p *Proc) movedTo(at lang.Pos) *Proc {
	if p.Pos == at {
		return p
	}
	m := move{from: p.Pos, to: at}
	c := *p
	c.Pos = at
	if p.Health != nil {
		h := *p.Health
		h.Pos = m.pos(h.Pos)
		c.Health = &h
	}
	return &c
}

// move moves positions inside an entry whose text did not change, from
// where its name was (from) to where it is (to). The text between the
// name and a position is the same, so the position moves by as many
// bytes, and by as many lines; its column changes only on the name's own
// line.
type move struct{ from, to lang.Pos }

func (m move) pos(p lang.Pos) lang.Pos {
	if !p.IsValid() {
		return p
	}
	q := p
	q.Offset += m.to.Offset - m.from.Offset
	q.Line += m.to.Line - m.from.Line
	if p.Line == m.from.Line {
		q.Col += m.to.Col - m.from.Col
	}
	return q
}
