package lang

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Parse parses one schedule in either dialect. Its errors are an ErrorList
// whose entries each carry the position of the token that caused them.
func Parse(src string) (*Schedule, error) {
	g, ok := fastParse(src)
	var err error
	if !ok {
		g, err = parser().ParseString("", src)
	}
	if err != nil {
		if toks, lexErr := Lex(src); lexErr == nil && len(toks) == 0 {
			return nil, ErrorList{Errorf(Pos{Line: 1, Col: 1}.Shift(src), "the schedule is empty; expected a crontab line like \"0 4 * * *\" or an every-expression like \"every 10m\"")}
		}
		if startsEvery(src) {
			if _, everyErr := everyParser().ParseString("", src); everyErr != nil {
				err = everyErr
			}
		}
		return nil, ErrorList{convertParseError(src, err)}
	}
	b := builder{src: src}
	s := b.schedule(g)
	if err := b.errs.Err(); err != nil {
		b.errs.Sort()
		return nil, b.errs
	}
	return s, nil
}

type builder struct {
	src  string
	errs ErrorList
}

func (b *builder) errorf(p lexer.Position, format string, args ...any) {
	b.errs.Add(posOf(p), format, args...)
}

func (b *builder) schedule(g *gSchedule) *Schedule {
	s := &Schedule{Pos: posOf(g.Pos)}
	if g.Prefix != nil {
		s.Zone = &Zone{Pos: posOf(g.Prefix.Zone.Pos), Name: g.Prefix.Zone.Name, Form: g.Prefix.Var}
	}
	if g.Every != nil {
		s.Every = b.every(g.Every, s)
		return s
	}
	s.Cron = b.cron(g.Cron)
	if in := g.Cron.In; in != nil {
		if s.Zone != nil {
			b.errorf(in.Pos, "the zone is already given as %s at %s; a schedule has one zone", s.Zone.Name, s.Zone.Pos)
		} else {
			s.Zone = &Zone{Pos: posOf(in.Pos), Name: in.Name, Form: "in"}
		}
	}
	return s
}

// ---- the every-language ----

func (b *builder) every(g *gEvery, s *Schedule) *Every {
	e := &Every{}
	for _, p := range g.Parts {
		switch {
		case p.Clause != nil:
			e.Clauses = append(e.Clauses, b.clause(p.Clause))
		case p.Short != nil:
			c := &Clause{Pos: posOf(p.Pos), Short: true, Period: Period{Pos: posOf(p.Pos), Word: "day"}}
			c.Anchors = b.anchors(p.Short)
			e.Clauses = append(e.Clauses, c)
		case p.In != nil:
			if s.Zone != nil {
				b.errorf(p.Pos, "the zone is already given as %s at %s; a schedule has one zone", s.Zone.Name, s.Zone.Pos)
				continue
			}
			s.Zone = &Zone{Pos: posOf(p.In.Pos), Name: p.In.Name, Form: "in"}
		}
	}
	if len(e.Clauses) == 0 {
		b.errorf(g.Parts[0].Pos, `expected a clause ("every …" or "@ …"), not only a zone`)
	}
	return e
}

func (b *builder) clause(g *gClause) *Clause {
	c := &Clause{Pos: posOf(g.Pos), Period: b.period(g.Period)}
	for _, m := range g.Mods {
		if m.At != nil {
			c.Anchors = append(c.Anchors, b.anchors(m.At)...)
			continue
		}
		if c.Offset != nil {
			b.errorf(m.Pos, "offset is already given as %s; a clause has one offset", c.Offset)
			continue
		}
		a := b.amount(m.Offset, false)
		c.Offset = &a
	}
	return c
}

func (b *builder) period(g *gPeriod) Period {
	p := Period{Pos: posOf(g.Pos), Text: g.Word + g.Dur}
	if g.Word != "" {
		w := strings.ToLower(g.Word)
		if !contains(calendarWords, w) {
			b.errorf(g.Pos, "unknown period %q%s; expected a duration like 10m or one of %s",
				g.Word, suggest(w, calendarWords), strings.Join(calendarWords, ", "))
		}
		p.Word = w
		return p
	}
	p.Sec = b.duration(g.Pos, g.Dur)
	if p.Sec == 0 {
		b.errorf(g.Pos, "a period must be longer than zero")
	}
	return p
}

func (b *builder) anchors(g *gAnchors) []Anchor {
	out := make([]Anchor, 0, len(g.List))
	for _, a := range g.List {
		an := Anchor{Pos: posOf(a.Pos), At: b.amount(a.From, false)}
		if a.To != nil {
			to := b.amount(a.To, true)
			an.To = &to
		}
		out = append(out, an)
	}
	return out
}

// amount converts a clock time or a duration to seconds. A clock time is
// checked as a time of day; 24:00 is allowed only where a window ends.
func (b *builder) amount(g *gAmount, windowEnd bool) Amount {
	a := Amount{Pos: posOf(g.Pos), Text: g.Clock + g.Dur}
	if g.Dur != "" {
		a.Sec = b.duration(g.Pos, g.Dur)
		return a
	}
	a.Clock = true
	parts := strings.Split(g.Clock, ":")
	var hms [3]int64
	for i, part := range parts {
		n, err := strconv.ParseInt(part, 10, 64)
		if err != nil || len(part) > 2 {
			b.errorf(g.Pos, "%s is not a clock time; expected HH:MM or HH:MM:SS", g.Clock)
			return a
		}
		hms[i] = n
	}
	h, m, s := hms[0], hms[1], hms[2]
	switch {
	case len(parts[1]) != 2 || (len(parts) == 3 && len(parts[2]) != 2):
		b.errorf(g.Pos, "%s is not a clock time; expected HH:MM or HH:MM:SS with two-digit minutes and seconds", g.Clock)
	case m > 59 || s > 59:
		b.errorf(g.Pos, "%s is not a clock time: minutes and seconds run from 00 to 59", g.Clock)
	case h == 24 && m == 0 && s == 0 && windowEnd:
	case h > 23:
		b.errorf(g.Pos, "%s is outside the day: hours run from 00 to 23 (24:00 may only end a window)", g.Clock)
	}
	a.Sec = h*3600 + m*60 + s
	return a
}

// duration parses "2d8h30m" into seconds.
func (b *builder) duration(p lexer.Position, text string) int64 {
	var total int64
	n := int64(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= '0' && c <= '9' {
			if n > (1<<40)/10 {
				b.errorf(p, "duration %s is too long", text)
				return 0
			}
			n = n*10 + int64(c-'0')
			continue
		}
		for _, u := range durationUnits {
			if u.name == c {
				total += n * u.sec
			}
		}
		n = 0
		if total > 1<<40 {
			b.errorf(p, "duration %s is too long", text)
			return 0
		}
	}
	return total
}

// ---- crontab lines ----

func (b *builder) cron(g *gCron) *Cron {
	c := &Cron{Pos: posOf(g.Pos)}
	if g.Macro != "" {
		return b.macro(g, c)
	}
	fields := b.splitFields(g.Items)
	if len(fields) > 5 {
		b.errorf(fields[5][0].Pos, "a crontab schedule has at most five fields (minute hour day-of-month month day-of-week); a user name or command does not belong in it")
		return c
	}
	// The ranges of all five fields in one allocation, each field's
	// list cut to its length so that nothing appends into the next.
	n := 0
	for _, items := range fields {
		n += len(items)
	}
	ranges := make([]Range, 0, n)
	for i, items := range fields {
		c.Fields[i] = b.field(FieldKind(i), items, ranges[:0:len(items)])
		ranges = ranges[len(items):len(items)]
	}
	for i := len(fields); i < 5; i++ {
		c.Fields[i] = starField(FieldKind(i))
	}
	return c
}

// splitFields groups the items into fields: an item followed by "," goes on
// in the same field. It reports a space inside a field, a missing space
// between two fields and a list that ends in ",".
func (b *builder) splitFields(items []*gItem) [][]*gItem {
	fields := make([][]*gItem, 0, 5)
	start := 0
	for i, it := range items {
		end := itemEnd(it)
		if i+1 == len(items) {
			if it.Comma {
				comma := end + strings.IndexByte(b.src[end:], ',')
				b.errs.Add(posOf(it.Pos).Shift(b.src[it.Pos.Offset:comma+1]), "expected a value after \",\"")
			}
			fields = append(fields, items[start:])
			break
		}
		next := items[i+1]
		gap := b.src[end:next.Pos.Offset]
		switch {
		case it.Comma && gap != ",":
			text := strings.Join(strings.Fields(b.src[items[start].Pos.Offset:itemEnd(next)]), " ")
			space := max(strings.IndexAny(gap, " \t\r\n#"), 0)
			b.errs.Add(posOf(it.Pos).Shift(b.src[it.Pos.Offset:end+space]), "unexpected space inside the %s field %q", FieldKind(len(fields)%5), text)
		case it.Comma:
		case gap == "":
			b.errorf(next.Pos, "expected a space or \",\" before %q", b.src[next.Pos.Offset:itemEnd(next)])
			fallthrough
		default:
			fields = append(fields, items[start:i+1])
			start = i + 1
		}
	}
	return fields
}

// itemEnd is the offset just past an item's last token, its comma aside.
func itemEnd(it *gItem) int {
	for _, t := range []lexer.Token{it.Step, it.Hi, it.Lo} {
		if t.Value != "" {
			return t.Pos.Offset + len(t.Value)
		}
	}
	return it.Pos.Offset + 1 // "*"
}

func (b *builder) macro(g *gCron, c *Cron) *Cron {
	name := strings.ToLower(g.Macro)
	c.Macro = name
	exp, ok := macroLine(name)
	switch {
	case name == "@reboot":
		b.errorf(g.Pos, "@reboot is not a time schedule; use the job setting run-on-start instead")
		return c
	case !ok:
		b.errorf(g.Pos, "unknown macro %s%s; expected one of %s", g.Macro, suggest(name, macroNames), strings.Join(macroNames, ", "))
		return c
	}
	c.Fields = macroFields(exp)
	for i := range c.Fields {
		c.Fields[i].Omitted = true
		c.Fields[i].Pos = c.Pos
	}
	return c
}

var (
	macroMu    sync.Mutex
	macroCache = map[string][5]Field{}
)

// macroFields parses a macro's expansion once and hands out copies.
func macroFields(exp string) [5]Field {
	macroMu.Lock()
	defer macroMu.Unlock()
	f, ok := macroCache[exp]
	if !ok {
		e, err := Parse(exp)
		if err != nil {
			panic("lang: bad macro expansion " + exp + ": " + err.Error())
		}
		f = e.Cron.Fields
		macroCache[exp] = f
	}
	for i := range f {
		f[i].Ranges = append([]Range(nil), f[i].Ranges...)
	}
	return f
}

func starField(k FieldKind) Field {
	lo, hi := k.Bounds()
	return Field{Kind: k, Omitted: true, Ranges: []Range{{Star: true, Lo: lo, Hi: hi, Step: 1}}}
}

// field builds field k from its items, into ranges (empty, with room for
// them).
func (b *builder) field(k FieldKind, items []*gItem, ranges []Range) Field {
	f := Field{Kind: k, Pos: posOf(items[0].Pos), Ranges: ranges}
	lo, hi := k.Bounds()
	for _, it := range items {
		r := Range{Pos: posOf(it.Pos), Step: 1}
		switch {
		case it.Star:
			r.Star, r.Lo, r.Hi = true, lo, hi
		case it.Hash != nil:
			r = b.hash(k, it, r)
		case it.Hi.Value == "":
			r.Single = true
			r.Lo, r.LoName = b.value(k, it.Lo)
			r.Hi = r.Lo
		default:
			r.Lo, r.LoName = b.value(k, it.Lo)
			r.Hi, r.HiName = b.value(k, it.Hi)
			if k == DayOfWeek && r.Hi == 0 && r.Lo > 0 {
				// Sunday ends the week as 7 as well as starting it as 0:
				// sat-sun and 5-0 run to Sunday, as in cronie since 2025
				// (its get_range, PR #200).
				r.Hi = 7
			}
			if r.Lo > r.Hi {
				b.errorf(it.Pos, "range %s runs backwards; cron ranges do not wrap around, write %s", r, wrapHint(k, r))
			}
		}
		if it.Step.Value != "" {
			r.Step, r.HasStep = b.step(k, it, r), true
		}
		f.Ranges = append(f.Ranges, r)
	}
	return f
}

// hashBounds are the values a bare H of field k takes: Jenkins keeps a
// day of month to 1-28, which every month has, and a weekday to 0-6.
func hashBounds(k FieldKind) (int, int) {
	switch k {
	case DayOfMonth:
		return 1, 28
	case DayOfWeek:
		return 0, 6
	}
	return k.Bounds()
}

// hash reads an H or H(a-b) item.
func (b *builder) hash(k FieldKind, it *gItem, r Range) Range {
	r.Hash = true
	r.Lo, r.Hi = hashBounds(k)
	if it.Hash.Lo.Value == "" {
		return r
	}
	lo, hi := k.Bounds()
	r.HashRange = true
	a, errA := strconv.Atoi(it.Hash.Lo.Value)
	z, errZ := strconv.Atoi(it.Hash.Hi.Value)
	switch {
	case errA != nil || a < lo || a > hi:
		b.errorf(it.Hash.Lo.Pos, "%s is out of range for the %s field; expected %d to %d", it.Hash.Lo.Value, k, lo, hi)
	case errZ != nil || z < lo || z > hi:
		b.errorf(it.Hash.Hi.Pos, "%s is out of range for the %s field; expected %d to %d", it.Hash.Hi.Value, k, lo, hi)
	case a > z:
		b.errorf(it.Pos, "range H(%d-%d) runs backwards; write H(%d-%d)", a, z, z, a)
	default:
		r.Lo, r.Hi = a, z
	}
	return r
}

// wrapHint splits a backwards range into the two ranges it probably meant:
// 50-10 is 50-59,0-10 and sat-sun is sat,sun.
func wrapHint(k FieldKind, r Range) string {
	lo, hi := k.Bounds()
	var hiName, loName string
	if k == DayOfWeek {
		hi = 6
		if r.LoName != "" {
			hiName, loName = DayOfWeek.Names()[6], DayOfWeek.Names()[0]
		}
	}
	if k == Month && r.LoName != "" {
		hiName, loName = Month.Names()[11], Month.Names()[0]
	}
	span := func(a int, an string, b int, bn string) string {
		if a == b {
			return valueString(a, an)
		}
		return valueString(a, an) + "-" + valueString(b, bn)
	}
	return span(r.Lo, r.LoName, hi, hiName) + "," + span(lo, loName, r.Hi, r.HiName)
}

func (b *builder) step(k FieldKind, it *gItem, r Range) int {
	if r.Single {
		b.errorf(it.Pos, "a step needs a range or *: write %s-%d/%s or */%s", valueString(r.Lo, r.LoName), mustHi(k), it.Step.Value, it.Step.Value)
		return 1
	}
	n, err := strconv.Atoi(it.Step.Value)
	if err != nil || n == 0 || n > 1000 {
		b.errorf(it.Step.Pos, "step %s is out of range; expected a number from 1 to the size of the %s field", it.Step.Value, k)
		return 1
	}
	return n
}

func mustHi(k FieldKind) int {
	_, hi := k.Bounds()
	if k == DayOfWeek {
		return 6
	}
	return hi
}

// value reads one number or three-letter name in field k.
func (b *builder) value(k FieldKind, v lexer.Token) (int, string) {
	lo, hi := k.Bounds()
	if !isDigit(v.Value[0]) {
		names := k.Names()
		if names == nil {
			b.errorf(v.Pos, "unexpected name %q in the %s field; names are allowed only for months and days of the week", v.Value, k)
			return lo, ""
		}
		name := strings.ToLower(v.Value)
		for i, n := range names {
			if n == name {
				return lo + i, name
			}
		}
		if len(name) > 3 && contains(names, name[:3]) {
			b.errorf(v.Pos, "unknown %s name %q; crontab takes the first three letters: %s", k, v.Value, name[:3])
		} else {
			b.errorf(v.Pos, "unknown %s name %q%s; expected one of %s", k, v.Value, suggest(name, names), strings.Join(names, ", "))
		}
		return lo, ""
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil || n < lo || n > hi {
		b.errorf(v.Pos, "%s is out of range for the %s field; expected %d to %d", v.Value, k, lo, hi)
		return lo, ""
	}
	return n, ""
}

// ---- parse errors ----

// convertParseError rewrites participle's error as "expected X after Y".
func convertParseError(src string, err error) *Error {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		pos := posOf(ute.Unexpected.Pos)
		found := "end of input"
		if !ute.Unexpected.EOF() {
			found = fmt.Sprintf("%q", ute.Unexpected.Value)
		}
		prev := previousToken(src, pos.Offset)
		if prev == "" && isWord(ute.Unexpected.Value) {
			return Errorf(pos, "unknown word %s; a schedule starts with \"every\", \"@\", a zone prefix like CRON_TZ=UTC or a crontab minute field", found)
		}
		expect := describeExpected(ute.Message())
		switch {
		case expect == "" && prev == "":
			return Errorf(pos, "unexpected %s", found)
		case expect == "":
			return Errorf(pos, "unexpected %s after %q", found, prev)
		case prev == "":
			return Errorf(pos, "expected %s, found %s", expect, found)
		}
		return Errorf(pos, "expected %s after %q, found %s", expect, prev, found)
	}
	if e, ok := convertLexError(err).(*Error); ok {
		return e
	}
	return &Error{Msg: err.Error()}
}

// lookahead matches participle's lookahead groups, which say nothing a
// user needs to read.
var lookahead = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\(\?[!=][^)]*\)\s*`) })

// describeExpected turns participle's "(expected <duration> | <clock>)"
// into "a duration like 10m or a clock time like 04:15".
func describeExpected(msg string) string {
	i := strings.Index(msg, "(expected ")
	if i < 0 {
		return ""
	}
	inner := strings.TrimSuffix(msg[i+len("(expected "):], ")")
	inner = lookahead().ReplaceAllString(inner, "")
	var words []string
	for _, alt := range strings.Split(inner, "|") {
		// An alternative may be a sequence ("GPeriod GMod*"); only its
		// first element can come next.
		first := strings.Fields(strings.Trim(strings.TrimSpace(alt), "()"))
		if len(first) == 0 {
			continue
		}
		a := strings.TrimRight(first[0], "*+?")
		w, ok := expectWords()[a]
		if !ok {
			w = a
		}
		if !contains(words, w) {
			words = append(words, w)
		}
	}
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// startsEvery reports whether src's first token begins an every-expression.
func startsEvery(src string) bool {
	toks, _ := Lex(src)
	if len(toks) == 0 {
		return false
	}
	switch strings.ToLower(toks[0].Text) {
	case "every", "@", "in":
		return true
	}
	return false
}

// previousToken returns the text of the last token that ends at or before
// offset, or "".
func previousToken(src string, offset int) string {
	toks, _ := Lex(src[:offset])
	if len(toks) == 0 {
		return ""
	}
	return toks[len(toks)-1].Text
}

// ---- small helpers ----

func isWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_') {
			return false
		}
	}
	return s != ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the closest candidate within a
// small edit distance, or "".
func suggest(word string, candidates []string) string {
	if best := Closest(word, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Closest returns the candidate nearest to word by edit distance when it is
// near enough to be a likely typo (one edit for short words, two for longer
// ones), or "".
func Closest(word string, candidates []string) string {
	limit := 1
	if len([]rune(word)) > 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the number of edits from a to b, counting a swap of two
// neighbouring characters as one (the optimal string alignment distance):
// "wbe" is one edit from "web", as a typist sees it.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	before := make([]int, len(rb)+1) // the row two back, for swaps
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(rb)]
}
