package compile

import (
	"fmt"
	"hash/fnv"
	"math/bits"
	"slices"
	"strings"

	"github.com/kopf/kopf/lang"
)

// cron compiles a crontab line into one term, with cronie's semantics:
// a day matches when both day fields do, unless both are restricted (their
// text does not start with "*"), in which case either one suffices; 7 is
// Sunday too; a line whose minute and hour fields do not start with "*" is a
// fixed-time schedule for DST.
func (c *compiler) cron(cr *lang.Cron) {
	f := c.resolveHash(cr.Fields)
	var mask [5]uint64
	for i := range f {
		mask[i] = c.cronField(f[i], cr.Macro == "")
	}
	dow := mask[lang.DayOfWeek]
	dow = (dow | dow>>7) & uint64(allDow) // 7 is Sunday
	d := days{
		dom:    uint32(mask[lang.DayOfMonth]),
		month:  uint16(mask[lang.Month]),
		dow:    uint8(dow),
		either: !f[lang.DayOfMonth].Star() && !f[lang.DayOfWeek].Star(),
	}
	c.terms = append(c.terms, term{
		days:  d,
		clock: productClock(uint32(mask[lang.Hour]), mask[lang.Minute], 1), // at second 0
		zone:  c.zone,
		fixed: !f[lang.Minute].Star() && !f[lang.Hour].Star(),
	})
	if cr.Macro == "" {
		c.cronDayWarnings(f, d)
	}
	c.neverHint = cronNeverHint(d)
}

// cronField returns the bit mask of a field's values and, when lint is set,
// warns about lists that do less than they seem to.
func (c *compiler) cronField(f lang.Field, lint bool) uint64 {
	var m uint64
	for _, r := range f.Ranges {
		var rm uint64
		for v := r.Lo; v <= r.Hi; v += r.Step {
			rm |= 1 << v
		}
		if lint {
			c.cronRangeWarnings(f, r, rm, m)
		}
		m |= rm
	}
	return m
}

func (c *compiler) cronRangeWarnings(f lang.Field, r lang.Range, rm, before uint64) {
	lo, hi := f.Kind.Bounds()
	switch {
	case rm&before != 0 && (f.Kind != lang.DayOfWeek || rm&before&^1 != 0 || !sundayPair(before, rm)):
		v := bits.TrailingZeros64(rm & before)
		c.warnf(r.Pos, "%s %d is already in the %s field %q", valueWord(f.Kind), v, f.Kind, f)
	case !r.Star && !r.Single && r.Lo == r.Hi:
		c.warnf(r.Pos, "range %s holds the single value %d", r, r.Lo)
	case r.HasStep && r.Step == 1:
		c.warnf(r.Pos, "step 1 in %s changes nothing; write %s", r, r.Span())
	}
	if r.Step > 1 && !r.Single && r.Lo != r.Hi {
		span := r.Hi - r.Lo
		if r.Step > span {
			c.warnf(r.Pos, "step %d is larger than the range %s: only %d is selected", r.Step, r.Span(), r.Lo)
		} else if r.Star && (f.Kind == lang.Minute || f.Kind == lang.Hour) && (hi-lo+1)%r.Step != 0 {
			last := lo + (hi-lo)/r.Step*r.Step
			unit := "hour"
			if f.Kind == lang.Hour {
				unit = "day"
			}
			c.warnf(r.Pos, "%s does not divide the %s: after %s %d comes %d, %d apart instead of %d", r, unit, f.Kind, last, lo, hi+1-last, r.Step)
		}
	}
}

// sundayPair reports whether the only overlap is 0 and 7, both Sunday, as
// in "0,7" or "*"+"7"; cronie accepts that silently and so do we.
func sundayPair(a, b uint64) bool {
	return (a&1 != 0 && b&(1<<7) != 0) || (a&(1<<7) != 0 && b&1 != 0)
}

func valueWord(k lang.FieldKind) string {
	switch k {
	case lang.Month:
		return "month"
	case lang.DayOfWeek:
		return "day"
	}
	return "value"
}

func (c *compiler) cronDayWarnings(f [5]lang.Field, d days) {
	dom, dow := f[lang.DayOfMonth], f[lang.DayOfWeek]
	switch {
	case !dom.Star() && !dow.Star():
		c.warnf(dow.Pos, "day-of-month %q and day-of-week %q are both restricted: cron fires on days matching EITHER of them", dom, dow)
	case dom.Star() && !dom.Omitted && dom.String() != "*" && !dow.Star():
		c.warnf(dom.Pos, "day-of-month %q starts with \"*\", so cron counts it as unrestricted and fires only on days matching BOTH it and day-of-week %q", dom, dow)
	case dow.Star() && !dow.Omitted && dow.String() != "*" && !dom.Star():
		c.warnf(dow.Pos, "day-of-week %q starts with \"*\", so cron counts it as unrestricted and fires only on days matching BOTH it and day-of-month %q", dow, dom)
	}
	if dom.Star() || !dow.Star() {
		return
	}
	// Days that some selected months lack: cron silently skips those months.
	var short []string
	top := 31 - bits.LeadingZeros32(d.dom)
	for m := 1; m <= 12; m++ {
		if d.month&(1<<m) != 0 && maxMonthLen(m) < top {
			short = append(short, lang.Month.Names()[m-1])
		}
	}
	if len(short) > 0 && len(short) < bits.OnesCount16(d.month) {
		c.warnf(dom.Pos, "day %d does not occur in %s; cron skips those months", top, strings.Join(short, ", "))
	}
}

func maxMonthLen(m int) int {
	if m == 2 {
		return 29
	}
	return monthLen(2001, m)
}

// cronNeverHint explains the usual way a crontab line never fires: every day
// of month it names is missing from every month it names.
func cronNeverHint(d days) string {
	if d.either && d.dow != 0 {
		return ""
	}
	low := bits.TrailingZeros32(d.dom)
	var months []string
	for m := 1; m <= 12; m++ {
		if d.month&(1<<m) != 0 {
			if maxMonthLen(m) >= low {
				return ""
			}
			months = append(months, lang.Month.Names()[m-1])
		}
	}
	if len(months) == 0 {
		return ""
	}
	return fmt.Sprintf(": day %d does not occur in %s", low, strings.Join(months, ", "))
}

// resolveHash replaces each H range of the fields by what it hashes to for
// the compiler's name (Jenkins' H): H is one value of its field, H(a-b)
// one value from a to b, and H/n or H(a-b)/n the values from a hashed
// start below n, every n. It records the resolved line for Resolved.
func (c *compiler) resolveHash(fields [5]lang.Field) [5]lang.Field {
	hashed, told := false, false
	for i := range fields {
		if !slices.ContainsFunc(fields[i].Ranges, func(r lang.Range) bool { return r.Hash }) {
			continue // a plain field is used as it is
		}
		rs := slices.Clone(fields[i].Ranges)
		for k, r := range rs {
			if !r.Hash {
				continue
			}
			hashed = true
			if c.name == "" {
				if !told {
					c.errorf(r.Pos, "H hashes a job's name, and this schedule has none: in a config file the job's name is used; kopf next and kopf check take --name NAME")
					told = true
				}
				continue
			}
			rs[k] = hashRange(c.name, fields[i].Kind, r)
		}
		fields[i].Ranges = rs
	}
	if hashed && c.name != "" {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = f.String()
		}
		c.resolved = strings.Join(parts, " ")
	}
	return fields
}

// hashRange is the plain range an H range stands for under name.
func hashRange(name string, k lang.FieldKind, r lang.Range) lang.Range {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", name, k)
	v := h.Sum64()
	out := lang.Range{Pos: r.Pos, Step: 1}
	if !r.HasStep {
		out.Single = true
		out.Lo = r.Lo + int(v%uint64(r.Hi-r.Lo+1))
		out.Hi = out.Lo
		return out
	}
	out.Lo = r.Lo + int(v%uint64(r.Step))
	out.Hi, out.Step, out.HasStep = r.Hi, r.Step, true
	if out.Lo > out.Hi { // a step larger than the range: its one value
		out.Lo = r.Lo
	}
	return out
}
