package config

import (
	"fmt"
	"slices"

	"github.com/kopf/kopf/compile"
)

// dstKeys are the keys of a job's `dst`.
var dstKeys = []string{"gap", "overlap"}

// dst reads a job's `dst`: {"gap": "shift" | "skip", "overlap": "first" |
// "second" | "both"}, either half left to cronie's rule when absent.
func (l *loader) dst(n *node) compile.DST {
	var p compile.DST
	if n == nil {
		return p
	}
	if n.kind != kindObject {
		l.errorf(n.pos, "\"dst\" must be an object like {\"gap\": \"skip\", \"overlap\": \"both\"}, found %s", n.found())
		return p
	}
	for _, m := range n.members {
		k := m.key.text
		if !slices.Contains(dstKeys, k) {
			hint := ""
			if s := closestKey(k, dstKeys); s != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
			}
			l.errorf(m.key.pos, "unknown key %s in \"dst\"%s; expected \"gap\" or \"overlap\"", quote(k), hint)
			continue
		}
		v := l.str("dst "+k, m.val)
		if m.val.kind != kindString {
			continue // str said what is wrong
		}
		var err error
		switch k {
		case "gap":
			p.Gap, err = compile.ParseGap(v)
		case "overlap":
			p.Overlap, err = compile.ParseOverlap(v)
		}
		if err != nil {
			l.errorf(m.val.pos, "%v", err)
		}
	}
	return p
}
