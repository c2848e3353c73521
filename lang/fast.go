package lang

import (
	"github.com/alecthomas/participle/v2/lexer"
)

// The grammar is participle's (grammar.go): it is the definition of both
// dialects, it renders the EBNF in the docs, and it finds and words every
// syntax error. But participle parses by reflection, with a branch of its
// parse context per alternative and an allocation per node: 12 µs and 150
// allocations for "*/15 * * * *", where the whole of parsing and compiling
// a line should take 3 µs. So Parse first tries fastParse, a recursive
// descent over the same tokens that builds the grammar's structs exactly as
// participle would; on anything it does not take, participle parses the
// line again and reports. fast_test.go checks that the two agree, tree for
// tree, on the test corpora, on random token sequences and in a fuzz test.

// fastParse parses src into the grammar's structs, or reports false when
// src is not a schedule it takes (participle then decides).
func fastParse(src string) (*gSchedule, bool) {
	var buf [16]lexer.Token // room for a line's tokens
	toks, ok := lex(src, buf[:0])
	if !ok {
		return nil, false
	}
	p := fastParser{toks: toks}
	g := p.schedule()
	if g == nil || p.i != len(p.toks) {
		return nil, false
	}
	return g, true
}

type fastParser struct {
	toks   []lexer.Token
	i      int
	failed bool // a crontab item broke off
}

func (p *fastParser) fail() bool {
	p.failed = true
	return false
}

// lex cuts src into tokens with the scanner participle uses, appending
// them to toks.
func lex(src string, toks []lexer.Token) ([]lexer.Token, bool) {
	s := scan{def: scanner, src: src, pos: lexer.Position{Line: 1, Column: 1}}
	for {
		t, err := s.Next()
		if err != nil {
			return nil, false
		}
		if t.EOF() {
			return toks, true
		}
		toks = append(toks, t)
	}
}

// at reports whether the next token's text is v.
func (p *fastParser) at(v string) bool {
	return p.i < len(p.toks) && p.toks[p.i].Value == v
}

// atKind reports whether the next token is of kind k.
func (p *fastParser) atKind(k kind) bool {
	return p.i < len(p.toks) && p.toks[p.i].Type == scanner.types[k]
}

// pos is the next token's position, where a node that starts there is.
func (p *fastParser) pos() lexer.Position { return p.toks[p.i].Pos }

func (p *fastParser) next() lexer.Token {
	t := p.toks[p.i]
	p.i++
	return t
}

// schedule: prefix? (every | cron)
func (p *fastParser) schedule() *gSchedule {
	if p.i == len(p.toks) {
		return nil
	}
	g := &gSchedule{Pos: p.pos()}
	if p.at("CRON_TZ") || p.at("TZ") {
		pre := &gPrefix{Pos: p.pos(), Var: p.next().Value}
		if !p.at("=") {
			return nil
		}
		p.i++
		if pre.Zone = p.zone(); pre.Zone == nil {
			return nil
		}
		g.Prefix = pre
	}
	if p.at("every") || p.at("@") || p.at("in") {
		g.Every = p.every()
		if g.Every == nil {
			return nil
		}
		return g
	}
	if g.Cron = p.cron(); g.Cron == nil {
		return nil
	}
	return g
}

// zone: Zone | Word
func (p *fastParser) zone() *gZoneName {
	if !p.atKind(kZone) && !p.atKind(kWord) {
		return nil
	}
	return &gZoneName{Pos: p.pos(), Name: p.next().Value}
}

// every: part+, where part is clause | "@" anchors | "in" zone.
func (p *fastParser) every() *gEvery {
	e := &gEvery{}
	for p.at("every") || p.at("@") || p.at("in") {
		part := &gPart{Pos: p.pos()}
		switch {
		case p.at("every"):
			if part.Clause = p.clause(); part.Clause == nil {
				return nil
			}
		case p.at("@"):
			p.i++
			if part.Short = p.anchors(); part.Short == nil {
				return nil
			}
		default:
			p.i++
			if part.In = p.zone(); part.In == nil {
				return nil
			}
		}
		e.Parts = append(e.Parts, part)
	}
	return e
}

// clause: "every" period (("@" anchors) | ("offset" amount))*
func (p *fastParser) clause() *gClause {
	c := &gClause{Pos: p.pos()}
	p.i++ // "every"
	switch {
	case p.atKind(kDuration):
		c.Period = &gPeriod{Pos: p.pos(), Dur: p.next().Value}
	case p.atKind(kWord):
		c.Period = &gPeriod{Pos: p.pos(), Word: p.next().Value}
	default:
		return nil
	}
	for p.at("@") || p.at("offset") {
		m := &gMod{Pos: p.pos()}
		if p.next().Value == "@" {
			if m.At = p.anchors(); m.At == nil {
				return nil
			}
		} else if m.Offset = p.amount(); m.Offset == nil {
			return nil
		}
		c.Mods = append(c.Mods, m)
	}
	return c
}

// anchors: anchor ("," anchor)*, where anchor is amount ("-" amount)?.
func (p *fastParser) anchors() *gAnchors {
	if p.i == len(p.toks) {
		return nil
	}
	as := &gAnchors{Pos: p.pos()}
	for {
		if p.i == len(p.toks) {
			return nil
		}
		a := &gAnchor{Pos: p.pos()}
		if a.From = p.amount(); a.From == nil {
			return nil
		}
		if p.at("-") {
			p.i++
			if a.To = p.amount(); a.To == nil {
				return nil
			}
		}
		as.List = append(as.List, a)
		if !p.at(",") {
			return as
		}
		p.i++
	}
}

// amount: Clock | Duration
func (p *fastParser) amount() *gAmount {
	switch {
	case p.atKind(kClock):
		return &gAmount{Pos: p.pos(), Clock: p.next().Value}
	case p.atKind(kDuration):
		return &gAmount{Pos: p.pos(), Dur: p.next().Value}
	}
	return nil
}

// cron: (Macro | item+) ("in" zone)?, where the first item is not a word
// other than "H".
func (p *fastParser) cron() *gCron {
	if p.i == len(p.toks) {
		return nil
	}
	c := &gCron{Pos: p.pos()}
	switch {
	case p.atKind(kMacro):
		c.Macro = p.next().Value
	case p.atKind(kWord) && !p.at("H"):
		return nil
	default:
		// The items, eight to an allocation; each starts with one of the
		// tokens left, so there are at most as many.
		n := 0
		for _, t := range p.toks[p.i:] {
			if t.Value == "*" || t.Type == scanner.types[kNumber] || t.Type == scanner.types[kWord] {
				n++
			}
		}
		c.Items = make([]*gItem, 0, n)
		var slab []gItem
		for len(c.Items) < n {
			if len(slab) == 0 {
				slab = make([]gItem, min(n-len(c.Items), 8))
			}
			if !p.item(&slab[0]) {
				break
			}
			c.Items = append(c.Items, &slab[0])
			slab = slab[1:]
		}
		if len(c.Items) == 0 || p.failed {
			return nil
		}
	}
	if p.at("in") {
		p.i++
		if c.In = p.zone(); c.In == nil {
			return nil
		}
	}
	return c
}

// item: ("*" | hash | value ("-" value)?) ("/" Number)? ","?, where value
// is Number or a Word but "in", and hash is "H" ("(" Number "-" Number ")")?.
// It parses one into it, and returns false where no item starts; one that
// starts and breaks off sets failed.
func (p *fastParser) item(it *gItem) bool {
	if p.i == len(p.toks) {
		return false
	}
	*it = gItem{Pos: p.pos()}
	switch {
	case p.at("*"):
		p.i++
		it.Star = true
	case p.at("H"):
		h := &gHash{Pos: p.pos(), H: p.next().Value}
		if p.at("(") {
			p.i++
			if !p.atKind(kNumber) {
				return p.fail()
			}
			h.Lo = p.next()
			if !p.at("-") {
				return p.fail()
			}
			p.i++
			if !p.atKind(kNumber) {
				return p.fail()
			}
			h.Hi = p.next()
			if !p.at(")") {
				return p.fail()
			}
			p.i++
		}
		it.Hash = h
	case (p.atKind(kNumber) || p.atKind(kWord)) && !p.at("in"):
		it.Lo = p.next()
		if p.at("-") {
			p.i++
			if !p.atKind(kNumber) && !p.atKind(kWord) {
				return p.fail()
			}
			it.Hi = p.next()
		}
	default:
		return false
	}
	if p.at("/") {
		p.i++
		if !p.atKind(kNumber) {
			return p.fail()
		}
		it.Step = p.next()
	}
	if p.at(",") {
		p.i++
		it.Comma = true
	}
	return true
}
