package compile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kopf/kopf/lang"
)

// Schedule is a compiled schedule: a union of terms, each a set of
// wall-clock times on a set of days in one zone. It is immutable, safe for
// concurrent use, and Next does not allocate.
type Schedule struct {
	terms    []term
	loc      *time.Location
	sources  []string
	resolved []string // the sources with H fields resolved
	warnings []Warning
}

// Warning is something legal but likely to surprise, found while compiling.
type Warning struct {
	Pos lang.Pos
	Msg string
}

func (w Warning) String() string {
	if !w.Pos.IsValid() {
		return "warning: " + w.Msg
	}
	return w.Pos.String() + ": warning: " + w.Msg
}

// ErrNever is wrapped by the error for a schedule that can never fire.
var ErrNever = errors.New("schedule never fires")

// Parse parses and compiles one schedule in either dialect, in UTC unless
// the schedule names its own zone.
func Parse(src string) (*Schedule, error) { return ParseIn(src, time.UTC) }

// ParseIn is Parse with loc as the zone for a schedule that names none.
func ParseIn(src string, loc *time.Location) (*Schedule, error) {
	return ParseWith(src, Options{Location: loc})
}

// Options are what a schedule is compiled with besides its text.
type Options struct {
	// Location is the zone of a schedule that names none; nil is UTC.
	Location *time.Location
	// Name is the job's name, which a crontab line's H fields hash
	// (Jenkins' syntax): "H H * * *" is one fixed time of day for each
	// name. A line with H and no Name is an error.
	Name string
}

// ParseWith parses and compiles one schedule with opts.
func ParseWith(src string, opts Options) (*Schedule, error) {
	ast, err := lang.Parse(src)
	if err != nil {
		return nil, err
	}
	return compileWith(ast, opts, src)
}

// Compile turns a parsed schedule into its time set. loc is the zone used
// when the schedule names none; nil means UTC.
func Compile(ast *lang.Schedule, loc *time.Location) (*Schedule, error) {
	return CompileWith(ast, Options{Location: loc})
}

// CompileWith is Compile with opts.
func CompileWith(ast *lang.Schedule, opts Options) (*Schedule, error) {
	return compileWith(ast, opts, "")
}

// compileWith compiles ast, parsed from src ("" when not known): where src
// is already the schedule's canonical text, as it mostly is, it is that
// text, and printing it again allocates nothing.
func compileWith(ast *lang.Schedule, opts Options, src string) (*Schedule, error) {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	if ast.Zone != nil {
		z, err := LoadLocation(ast.Zone.Name)
		if err != nil {
			return nil, lang.ErrorList{lang.Errorf(ast.Zone.Pos, "unknown time zone %q; expected an IANA name like Europe/Berlin, UTC or Local", ast.Zone.Name)}
		}
		loc = z
	}
	c := &compiler{zone: zoneOf(loc), name: opts.Name}
	c.terms = c.few[:0]
	if ast.Cron != nil {
		c.cron(ast.Cron)
	} else {
		c.every(ast.Every)
	}
	if err := c.errs.Err(); err != nil {
		c.errs.Sort()
		return nil, c.errs
	}
	// The text and the resolved text share one array, and the terms are
	// made at their number: compiling a line should allocate little.
	var buf [96]byte
	text, _ := ast.AppendText(buf[:0])
	if string(text) != src {
		src = string(text)
	}
	texts := []string{src, c.resolved}
	if c.resolved == "" {
		texts[1] = texts[0]
	}
	s := &Schedule{loc: loc, sources: texts[0:1:1], resolved: texts[1:2:2], warnings: c.warnings, terms: make([]term, 0, len(c.terms))}
	var unused []*clockBits // built, and equal to one in use or dropped
	for _, t := range c.terms {
		t.days.prepare()
		t.setDST(DST{})
		built := t.clock.bits
		if !t.clock.seal().empty() && !t.days.empty() {
			if t.clock.bits != nil {
				t.clock.bits = intern(t.clock.bits)
			}
			s.terms = append(s.terms, t)
		}
		if built != nil && t.clock.bits != built && !slices.Contains(unused, built) {
			unused = append(unused, built)
		}
	}
	for _, b := range unused {
		// A bitmap may back several terms (intersect shares one where a
		// clock meets a single span): it goes back only if none kept it.
		if !slices.ContainsFunc(s.terms, func(t term) bool { return t.clock.bits == b }) {
			bitsPool.Put(b)
		}
	}
	if len(s.terms) == 0 {
		return nil, lang.ErrorList{&lang.Error{Pos: ast.Pos, Msg: fmt.Sprintf("%q never fires%s", ast.String(), c.neverHint), Err: ErrNever}}
	}
	return s, nil
}

// Union returns the schedule that fires whenever any of ss fires; at an
// instant several of them share it fires once. Its location is the first
// schedule's.
func Union(ss ...*Schedule) *Schedule {
	u := &Schedule{}
	for _, s := range ss {
		if u.loc == nil {
			u.loc = s.loc
		}
		u.terms = append(u.terms, s.terms...)
		u.sources = append(u.sources, s.sources...)
		u.resolved = append(u.resolved, s.resolved...)
		u.warnings = append(u.warnings, s.warnings...)
	}
	if u.loc == nil {
		u.loc = time.UTC
	}
	return u
}

// Next returns the first fire time strictly after after, in the schedule's
// location, and false when there is none.
func (s *Schedule) Next(after time.Time) (time.Time, bool) {
	u := after.Unix() + 1 // fire times are whole seconds
	best, found := int64(0), false
	for i := range s.terms {
		if c, ok := s.terms[i].next(u); ok && (!found || c < best) {
			best, found = c, true
		}
	}
	if !found {
		return time.Time{}, false
	}
	return time.Unix(best, 0).In(s.loc), true
}

// Location is the zone the schedule's fire times are reported in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Warnings are the compiler's notes on likely surprises, with positions.
func (s *Schedule) Warnings() []Warning { return s.warnings }

// String returns the schedule in canonical form; a union's parts are joined
// by "; ".
func (s *Schedule) String() string { return strings.Join(s.sources, "; ") }

// Resolved is String with each H field replaced by the values it hashed to
// for the schedule's name: "H H * * *" may be "37 4 * * *". A schedule
// without H fields reads the same as String.
func (s *Schedule) Resolved() string { return strings.Join(s.resolved, "; ") }

var (
	locMu    sync.Mutex
	locCache = map[string]*time.Location{}
)

// LoadLocation is time.LoadLocation with a cache, so that every schedule in
// one zone shares one *time.Location (and one offset table). "Local" is the
// machine's zone.
func LoadLocation(name string) (*time.Location, error) {
	switch name {
	case "UTC", "":
		return time.UTC, nil
	case "Local":
		return time.Local, nil
	}
	locMu.Lock()
	defer locMu.Unlock()
	if l, ok := locCache[name]; ok {
		return l, nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locCache[name] = l
	return l, nil
}

// compiler collects the terms, errors and warnings of one schedule.
type compiler struct {
	zone      *zone
	name      string // hashed by H fields
	resolved  string // a crontab line with its H fields resolved; "" without H
	terms     []term
	few       [2]term // terms' room for a schedule of a term or two
	errs      lang.ErrorList
	warnings  []Warning
	neverHint string // why the schedule never fires, when it is known
}

func (c *compiler) errorf(pos lang.Pos, format string, args ...any) {
	c.errs.Add(pos, format, args...)
}

func (c *compiler) warnf(pos lang.Pos, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}
