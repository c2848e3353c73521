package config

import (
	"fmt"
	"slices"
	"strings"
)

// protoSet is the top-level "protos" of a config file: named partial
// settings that a job or proc, or another proto, takes with "proto". It
// works on the config tree, before job and proc read it, so that every
// rule applies to inherited settings as to written ones, and a problem
// in an inherited value is reported where the proto writes it.
type protoSet struct {
	l        *loader
	keys     []*node          // the protos' names, in file order
	vals     map[string]*node // the settings of each proto that is an object
	broken   map[string]bool  // protos that are not objects, already reported
	resolved map[string][]member
	uses     map[string][]string // the protos each proto takes
	active   []string            // the protos being resolved, outermost first
	used     map[string]bool     // taken by a unit, directly or not
}

// protos reads "protos", checks each proto's keys and resolves each one,
// which reports unknown protos and cycles, used or not.
func (l *loader) protos(n *node) *protoSet {
	p := &protoSet{
		l:        l,
		vals:     map[string]*node{},
		broken:   map[string]bool{},
		resolved: map[string][]member{},
		uses:     map[string][]string{},
		used:     map[string]bool{},
	}
	known := slices.Concat(jobKeys, procKeys)
	for _, m := range l.section("protos", n) {
		name := m.key.text
		switch {
		case name == "":
			l.errorf(m.key.pos, "a proto needs a name; \"\" is none")
			continue
		case m.val.kind != kindObject:
			l.errorf(m.val.pos, "proto %s must be an object of settings, found %s", quote(name), m.val.found())
			p.broken[name] = true
			continue
		}
		p.keys = append(p.keys, m.key)
		p.vals[name] = m.val
		// Whether a key fits depends on who uses the proto: a job-only
		// key is checked as such in a proc that takes it. A key that fits
		// neither is wrong whoever uses it, and said once, here.
		for _, s := range m.val.members {
			if k := s.key.text; !slices.Contains(known, k) {
				hint := ""
				if c := closestKey(k, known); c != "" {
					hint = fmt.Sprintf(" (did you mean %s?)", quote(c))
				}
				l.errorf(s.key.pos, "unknown key %s in proto %s%s", quote(k), quote(name), hint)
			}
		}
	}
	for _, k := range p.keys {
		p.resolve(k.text)
	}
	return p
}

// resolve returns a proto's settings with those of the protos it takes.
func (p *protoSet) resolve(name string) []member {
	if ms, ok := p.resolved[name]; ok {
		return ms
	}
	p.active = append(p.active, name)
	ms, uses := p.inherit(p.vals[name], true)
	p.active = p.active[:len(p.active)-1]
	p.resolved[name], p.uses[name] = ms, uses
	return ms
}

// inherit merges the settings of the protos that val's "proto" names, in
// order, and then val's own: a later key replaces an earlier one whole.
// It returns them with the names of the protos taken.
func (p *protoSet) inherit(val *node, isProto bool) ([]member, []string) {
	var refs *node
	var own []member
	for _, m := range val.members {
		switch k := m.key.text; {
		case k == "proto":
			refs = m.val
		case isProto && !slices.Contains(jobKeys, k) && !slices.Contains(procKeys, k):
			// reported by protos
		default:
			own = append(own, m)
		}
	}
	var ms []member
	var uses []string
	if refs != nil {
		for _, r := range p.l.stringList("proto", refs, "a proto name or an array of them") {
			if p.takes(r) {
				ms = overlay(ms, p.resolve(r.text))
				uses = append(uses, r.text)
			}
		}
	}
	return overlay(ms, own), uses
}

// takes checks a reference to a proto: it exists and is not being
// resolved, which would be a cycle.
func (p *protoSet) takes(r *node) bool {
	name := r.text
	switch {
	case p.broken[name]:
		return false
	case p.vals[name] == nil:
		var names []string
		for _, k := range p.keys {
			names = append(names, k.text)
		}
		hint := "; protos are defined under the top-level \"protos\""
		if s := closestKey(name, names); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
		}
		p.l.errorf(r.pos, "no proto named %s%s", quote(name), hint)
		return false
	}
	if i := slices.Index(p.active, name); i >= 0 {
		path := append(slices.Clone(p.active[i:]), name)
		p.l.errorf(r.pos, "proto cycle: %s", strings.Join(path, " → "))
		return false
	}
	return true
}

// overlay is base with top's keys replaced or added: base's keys that top
// does not set, in their order, then top's. "schedule" and "scheduling"
// are one key. "env" is merged variable by variable when both are
// objects: top's variables replace base's of the same name, and a null
// one unsets it.
func overlay(base, top []member) []member {
	set := map[string]bool{}
	for _, m := range top {
		set[sameKey(m.key.text)] = true
	}
	var baseEnv *node
	out := slices.DeleteFunc(slices.Clone(base), func(m member) bool {
		if m.key.text == "env" {
			baseEnv = m.val
		}
		return set[sameKey(m.key.text)]
	})
	out = append(out, top...)
	if baseEnv == nil || baseEnv.kind != kindObject {
		return out
	}
	for i, m := range out[len(out)-len(top):] {
		if m.key.text == "env" && m.val.kind == kindObject {
			vars := map[string]bool{}
			for _, v := range m.val.members {
				vars[v.key.text] = true
			}
			merged := slices.DeleteFunc(slices.Clone(baseEnv.members), func(v member) bool { return vars[v.key.text] })
			env := *m.val
			env.members = append(merged, m.val.members...)
			out[len(out)-len(top)+i].val = &env
		}
	}
	return out
}

func sameKey(k string) string {
	if k == "scheduling" {
		return "schedule"
	}
	return k
}

// unit returns a job's or proc's settings with those of its protos, the
// keys it has from them and does not set itself, and the protos it takes
// itself. Settings without "proto" are returned as they are.
func (p *protoSet) unit(val *node) (*node, map[string]bool, []string) {
	if val.kind != kindObject || !slices.ContainsFunc(val.members, func(m member) bool { return m.key.text == "proto" }) {
		return val, nil, nil
	}
	ms, uses := p.inherit(val, false)
	for _, name := range uses {
		p.use(name)
	}
	own := map[string]bool{}
	for _, m := range val.members {
		own[m.key.text] = true
	}
	inherited := map[string]bool{}
	for _, m := range ms {
		if !own[m.key.text] {
			inherited[m.key.text] = true
		}
	}
	return &node{kind: kindObject, pos: val.pos, members: ms}, inherited, uses
}

func (p *protoSet) use(name string) {
	if p.used[name] {
		return
	}
	p.used[name] = true
	for _, u := range p.uses[name] {
		p.use(u)
	}
}

// warnUnused warns about each proto that no job or proc takes, directly
// or through other protos.
func (p *protoSet) warnUnused() {
	for _, k := range p.keys {
		if !p.used[k.text] {
			p.l.warnf(k.pos, "proto %s is not used", quote(k.text))
		}
	}
}
