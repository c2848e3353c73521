package lang

import (
	"reflect"
	"strings"
	"sync"
)

// The words of both dialects are spelled here once, as tables: the
// crontab fields with their bounds and value names (robfig/cron's bounds
// are the model), the macros, and the every-language's period words. lang
// parses with them and compile compiles from them. The token kinds are
// lexRules (lexer.go); expectWords below says what a user reads for each
// one, and for each grammar node, in "expected …" messages.

// fieldSpecs are the five crontab fields.
var fieldSpecs = [...]struct {
	name   string
	lo, hi int
	names  []string // the names of lo, lo+1, …; nil for a field of numbers only
}{
	Minute:     {"minute", 0, 59, nil},
	Hour:       {"hour", 0, 23, nil},
	DayOfMonth: {"day-of-month", 1, 31, nil},
	Month:      {"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	// 7 is a second Sunday, as cronie has it; it has no name of its own.
	DayOfWeek: {"day-of-week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

func (k FieldKind) String() string { return fieldSpecs[k].name }

// Bounds returns the smallest and largest value the field accepts. Day of
// week accepts 7 as a second Sunday, as cronie does.
func (k FieldKind) Bounds() (lo, hi int) { return fieldSpecs[k].lo, fieldSpecs[k].hi }

// Names returns the three-letter names the field's values may be written
// as, the name of lo first; nil for a field of numbers only.
func (k FieldKind) Names() []string { return fieldSpecs[k].names }

// macroTable is crontab's nicknames and the lines they stand for.
var macroTable = []struct{ name, line string }{
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
}

// macroLine returns the line a macro stands for.
func macroLine(name string) (string, bool) {
	for _, m := range macroTable {
		if m.name == name {
			return m.line, true
		}
	}
	return "", false
}

var macroNames = func() []string {
	var out []string
	for _, m := range macroTable {
		out = append(out, m.name)
	}
	return out
}()

// PeriodUnit is the calendar unit a period word stands for.
type PeriodUnit int

const (
	UnitMinute PeriodUnit = iota + 1
	UnitHour
	UnitDay // a calendar day; a weekday word is a day of some weekdays only
	UnitWeek
	UnitMonth
	UnitYear
)

// AllDays is the weekday set of "day": bit 0 is Sunday, bit 6 Saturday.
const AllDays uint8 = 0x7f

// periodWords are the words a period may be, besides a duration.
var periodWords = []struct {
	word string
	unit PeriodUnit
	days uint8 // UnitDay: the weekdays it is
}{
	{"minute", UnitMinute, 0},
	{"hour", UnitHour, 0},
	{"day", UnitDay, AllDays},
	{"week", UnitWeek, 0},
	{"month", UnitMonth, 0},
	{"year", UnitYear, 0},
	{"monday", UnitDay, 1 << 1},
	{"tuesday", UnitDay, 1 << 2},
	{"wednesday", UnitDay, 1 << 3},
	{"thursday", UnitDay, 1 << 4},
	{"friday", UnitDay, 1 << 5},
	{"saturday", UnitDay, 1 << 6},
	{"sunday", UnitDay, 1 << 0},
	{"workday", UnitDay, 0b0111110},
	{"weekend", UnitDay, 0b1000001},
}

// LookupPeriod returns the unit a period word (in lower case) stands for
// and, for a day word, its weekdays.
func LookupPeriod(word string) (unit PeriodUnit, days uint8, ok bool) {
	for _, p := range periodWords {
		if p.word == word {
			return p.unit, p.days, true
		}
	}
	return 0, 0, false
}

var calendarWords = func() []string {
	var out []string
	for _, p := range periodWords {
		out = append(out, p.word)
	}
	return out
}()

// expectWords says in words what participle's "expected …" names: a
// token kind (as "<duration>"), a literal (as `"*"`), or a grammar node
// (by its type, which participle names with a capital first letter). Only
// a failed parse needs it, so it is made then.
var expectWords = sync.OnceValue(func() map[string]string {
	m := map[string]string{`"*"`: `"*"`, `"@"`: `"@"`, `"every"`: `"every"`, `"in"`: `"in"`}
	for k, w := range map[kind]string{
		kDuration: "a duration like 10m",
		kClock:    "a clock time like 04:15",
		kNumber:   "a number",
		kWord:     "a word",
		kZone:     "a zone like Europe/Berlin",
		kMacro:    "a macro like @daily",
	} {
		m["<"+strings.ToLower(lexRules[k].Name)+">"] = w
	}
	for t, w := range map[reflect.Type]string{
		reflect.TypeFor[gAmount]():   "a duration like 50m or a clock time like 04:15",
		reflect.TypeFor[gAnchors]():  "a duration like 50m or a clock time like 04:15",
		reflect.TypeFor[gAnchor]():   "a duration like 50m or a clock time like 04:15",
		reflect.TypeFor[gPeriod]():   "a period like 10m, day or monday",
		reflect.TypeFor[gZoneName](): "a zone name like Europe/Berlin",
		reflect.TypeFor[gItem]():     `a number, a range or "*"`,
		reflect.TypeFor[gCron]():     "a crontab line",
		reflect.TypeFor[gEvery]():    `"every" or "@"`,
		reflect.TypeFor[gPart]():     `"every", "@" or "in"`,
		reflect.TypeFor[gClause]():   `"every"`,
	} {
		name := t.Name()
		m[strings.ToUpper(name[:1])+name[1:]] = w
	}
	return m
})
