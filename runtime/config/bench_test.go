package config

import (
	"fmt"
	"strings"
	"testing"
)

// jobsFile is a config of n jobs as bench/daemon writes them: one line,
// each job a command and a daily schedule; change gives job n/2 another.
func jobsFile(n int, change bool) []byte {
	var b strings.Builder
	b.WriteString(`{"jobs":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		sched := fmt.Sprintf("%d 4 * * *", i%60)
		if change && i == n/2 {
			sched = "17 5 * * *"
		}
		fmt.Fprintf(&b, `"daily-%d":{"command":["/bin/true"],"schedule":%q}`, i, sched)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// Reading a file of 10k jobs, at a daemon's start.
func BenchmarkParse10k(b *testing.B) {
	src := jobsFile(10000, false)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, _, err := ParsePart("k.json", src); err != nil {
			b.Fatal(err)
		}
	}
}

// Reading it again after one job changed: the other 9,999 are taken
// from the previous version.
func BenchmarkReparse10kOneChanged(b *testing.B) {
	prev, _, err := ParsePart("k.json", jobsFile(10000, false))
	if err != nil {
		b.Fatal(err)
	}
	src := jobsFile(10000, true)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, _, err := Reparse("k.json", src, prev); err != nil {
			b.Fatal(err)
		}
	}
}
