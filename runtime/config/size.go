package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the units a size takes, by lower-case name: binary
// multiples for the IEC names and for the single letters (as systemd and
// Docker read "512M"), decimal ones for the SI names.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// wantSize says what a size looks like, for messages.
const wantSize = `a size: bytes as a number, or a string like "4MiB", "512K" or "1GB"`

// ParseSize reads a size in bytes: a number with an optional unit —
// B; KiB, MiB, GiB, TiB and K, M, G, T (powers of 1024); KB, MB, GB, TB
// (powers of 1000) — like "4MiB", "512K", "1.5 GB". Case does not matter.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("invalid size %q: expected a number and a unit like 4MiB, 512K or 1GB", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %q is not a number", s, num)
	}
	b := f * float64(mult)
	if b >= math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(math.Round(b)), nil
}

// size reads a size in bytes, a number or a string (ParseSize); absent is
// -1, and so is an error (after it is reported).
func (l *loader) size(key string, n *node) int64 {
	switch {
	case n == nil:
		return -1
	case n.kind == kindNumber:
		if n.num < 0 || n.num != math.Trunc(n.num) || n.num >= math.MaxInt64/2 {
			l.errorf(n.pos, "%s must be a whole number of bytes, found %s", quote(key), n.text)
			return -1
		}
		return int64(n.num)
	case n.kind == kindString:
		b, err := ParseSize(n.text)
		if err != nil {
			l.errorf(n.pos, "%s: %v", quote(key), err)
			return -1
		}
		return b
	}
	l.errorf(n.pos, "%s must be %s; found %s", quote(key), wantSize, n.found())
	return -1
}
