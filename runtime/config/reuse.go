package config

import (
	"encoding/binary"
	"hash/maphash"
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
// value is "not known". It is two 64-bit maphash sums with seeds of their
// own: the digests live in one process only, and a cryptographic hash
// cost a tenth of a reload of 10k jobs.
type entryDigest [2]uint64

var digestSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// SameEntry reports whether u and o were decoded from the same text (the
// same entry of the same kind, with the same protos), so that their
// settings are the same; false when either's text is not known.
func (u *Unit) SameEntry(o *Unit) bool {
	return u.entry != entryDigest{} && u.entry == o.entry
}

// digestEntry is the digest of an entry of kind ("job" or "proc") written
// as raw, in a file whose protos have the digest protos.
func digestEntry(kind string, raw []byte, protos entryDigest) entryDigest {
	var d entryDigest
	var head [32]byte
	b := append(append(head[:0], kind...), 0)
	b = binary.LittleEndian.AppendUint64(b, protos[0])
	b = binary.LittleEndian.AppendUint64(b, protos[1])
	for i, seed := range digestSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.Write(b)
		h.Write(raw)
		d[i] = h.Sum64()
	}
	if d == (entryDigest{}) {
		d[0] = 1 // zero is "not known"
	}
	return d
}

// digestProtos is the digest of the "protos" section's text, or of its
// absence.
func digestProtos(raw []byte) entryDigest {
	var d entryDigest
	if raw != nil {
		for i, seed := range digestSeeds {
			d[i] = maphash.Bytes(seed, raw)
		}
	}
	return d
}

// reuse is what Reparse may take from a file's previous version: its
// units, sorted by name, are looked up by binary search.
type reuse struct {
	prev *Config
}

func newReuse(prev *Config) *reuse {
	if prev == nil {
		return nil
	}
	return &reuse{prev: prev}
}

// unit returns the unit of the previous version whose entry, named by
// the string literal lit, has digest d, moved to where its entry's name
// now is (at), and its name; nil when there is none. The lookup copies
// nothing: the name of an entry taken is the previous unit's.
func (r *reuse) unit(kind string, lit []byte, d entryDigest, at lang.Pos) (any, string) {
	if r == nil || !plainJSON(lit) {
		return nil, ""
	}
	name := lit[1 : len(lit)-1]
	byName := func(u *Unit, n []byte) int {
		// Compared in place: string(n) in a comparison copies nothing,
		// in a call to strings.Compare it does.
		switch {
		case u.Name == string(n):
			return 0
		case u.Name < string(n):
			return -1
		}
		return 1
	}
	switch kind {
	case "job":
		i, ok := slices.BinarySearchFunc(r.prev.Jobs, name, func(j *Job, n []byte) int { return byName(&j.Unit, n) })
		if j := r.prev.Jobs; ok && j[i].entry == d {
			return j[i].movedTo(at), j[i].Name
		}
	case "proc":
		i, ok := slices.BinarySearchFunc(r.prev.Procs, name, func(p *Proc, n []byte) int { return byName(&p.Unit, n) })
		if p := r.prev.Procs; ok && p[i].entry == d {
			return p[i].movedTo(at), p[i].Name
		}
	}
	return nil, ""
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
