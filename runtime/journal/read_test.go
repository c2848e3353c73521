package journal

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeErrors pins how a line that is not an event is described: in
// the journal's own words, not encoding/json's Go types.
func TestDecodeErrors(t *testing.T) {
	const at = `"time":"2026-03-07T12:00:00Z"`
	tests := []struct{ line, want string }{
		{``, "empty line"},
		{`   `, "empty line"},
		{`garbage`, "not JSON: invalid character 'g' looking for beginning of value"},
		{`{` + at + `,"type":"quit"}x`, "not JSON: invalid character 'x' after top-level value"},
		{`{` + at + `,"type":"quit"`, "not JSON: unexpected end of JSON input"},
		{`[1]`, "not an event: a list, want an object"},
		{`"quit"`, "not an event: a string, want an object"},
		{`{` + at + `,"type":7}`, `not an event: "type" is a number, want a string`},
		{`{` + at + `,"type":"spawned","pid":"7"}`, `not an event: "pid" is a string, want a whole number`},
		{`{` + at + `,"type":"spawned","pid":1.5}`, `not an event: "pid" is 1.5, want a whole number`},
		{`{` + at + `,"type":"spawned","start_ticks":-1}`, `not an event: "start_ticks" is -1, want a whole number, 0 or more`},
		{`{` + at + `,"type":"exited","seconds":"2"}`, `not an event: "seconds" is a string, want a number`},
		{`{` + at + `,"type":"exited","graceful":1}`, `not an event: "graceful" is a number, want true or false`},
		{`{` + at + `,"type":"spawned","argv":"ls"}`, `not an event: "argv" is a string, want a list`},
		{`{` + at + `,"type":"state","running":{}}`, `not an event: "running" is an object, want a list`},
		{`{` + at + `,"type":"state","running":[{"pid":true}]}`, `not an event: "running.pid" is true or false, want a whole number`},
		{`{"type":"quit"}`, `not an event: no "time"`},
		{`{` + at + `}`, `not an event: no "type"`},
		{`{"time":"noon","type":"quit"}`, `not an event: parsing time "noon"`},
	}
	for _, tt := range tests {
		_, err := decode([]byte(tt.line))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("decode(%s) = %v, want %s", tt.line, err, tt.want)
		}
	}
	// A newer kopf's fields and types are no error.
	ev, err := decode([]byte(`{` + at + `,"type":"paused","unit":"web","why":"asked"}`))
	if err != nil || ev.Type != "paused" || ev.Unit != "web" {
		t.Errorf("decode of a newer event = %+v, %v; want it read", ev, err)
	}
}

// TestScanLongLines: a line longer than maxLine is reported, costs no more
// than the buffer, and the lines after it are read.
func TestScanLongLines(t *testing.T) {
	in := "a\n" + strings.Repeat("x", maxLine+1) + "\n" + strings.Repeat("y", maxLine) + "\nb\ntail"
	type line struct {
		n, off int
		len    int
		err    string
	}
	var got []line
	complete, tail, err := scan(strings.NewReader(in), func(n int, off int64, l []byte, err error) error {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		got = append(got, line{n, int(off), len(l), msg})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []line{
		{1, 0, 1, ""},
		{2, 2, 0, "line of 1048577 bytes skipped: longer than 1 MiB"},
		{3, 2 + maxLine + 2, maxLine, ""},
		{4, 2 + maxLine + 2 + maxLine + 1, 1, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("lines %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %v, want %v", i+1, got[i], want[i])
		}
	}
	if wantComplete := int64(len(in) - len("tail")); complete != wantComplete || tail != 4 {
		t.Errorf("scan returned complete %d, tail %d; want %d, 4", complete, tail, wantComplete)
	}
}

// TestUnchanged: a rotation between opening the files and looking at
// their names again is seen, so that Read opens them again.
func TestUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	names := []string{path + ".1", path}
	files, seen, errs, err := openNames(names)
	if err != nil || len(errs) > 0 || len(files) != 1 {
		t.Fatalf("openNames: %v, %v, %d files", err, errs, len(files))
	}
	defer files[0].Close()
	if !unchanged(names, seen) {
		t.Errorf("unchanged before a rotation = false")
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if unchanged(names, seen) {
		t.Errorf("unchanged after a rotation = true")
	}
}

// TestBackLines: reading back from the end finds the lines scan finds
// reading forward, at the same offsets, the last first, whatever the
// chunks cut; a line longer than maxLine comes as nil from both, and a
// last line without its newline from neither.
func TestBackLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(28, 1))
	type line struct {
		off  int64
		text string
		long bool
	}
	for try := range 30 {
		var b strings.Builder
		for range rng.IntN(30) {
			switch n := rng.IntN(20); {
			case n == 0:
				b.WriteString(strings.Repeat("L", maxLine+1+rng.IntN(100<<10)))
			case n == 1:
				b.WriteString(strings.Repeat("M", maxLine-rng.IntN(2)))
			default:
				b.WriteString(strings.Repeat("s", rng.IntN(100<<10)))
			}
			b.WriteByte('\n')
		}
		if rng.IntN(2) == 0 {
			b.WriteString("a line being written")
		}
		in := b.String()
		var want []line
		if _, _, err := scan(strings.NewReader(in), func(_ int, off int64, l []byte, err error) error {
			want = append([]line{{off, string(l), err != nil}}, want...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var got []line
		read, whole, err := backLines(strings.NewReader(in), int64(len(in)), 1<<40, func(off int64, l []byte) bool {
			got = append(got, line{off, string(l), l == nil})
			return true
		})
		if err != nil || !whole || read != int64(len(in)) {
			t.Fatalf("try %d: backLines read %d of %d bytes, whole %v, err %v; want all of it", try, read, len(in), whole, err)
		}
		if len(got) != len(want) {
			t.Fatalf("try %d: backLines gave %d lines, scan %d", try, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("try %d: line %d from the end: backLines gave %d bytes at %d (long %v), scan %d bytes at %d (long %v)",
					try, i, len(got[i].text), got[i].off, got[i].long, len(want[i].text), want[i].off, want[i].long)
			}
		}
	}
}

// TestBackLinesLimit: backLines reads no more than its limit, and what it
// hands out are the lines that lie whole within the bytes it read.
func TestBackLinesLimit(t *testing.T) {
	in := strings.Repeat(strings.Repeat("x", 999)+"\n", 1000) // 1,000 lines of 1,000 bytes
	r := &countingReader{r: strings.NewReader(in)}
	var offs []int64
	read, whole, err := backLines(r, int64(len(in)), 200_500, func(off int64, _ []byte) bool {
		offs = append(offs, off)
		return true
	})
	if err != nil || whole || read != 200_500 || r.n != read {
		t.Fatalf("backLines read %d (counted %d), whole %v, err %v; want 200500 bytes, not whole", read, r.n, whole, err)
	}
	if len(offs) != 200 || offs[199] != int64(len(in)-200_000) {
		t.Errorf("backLines gave %d lines, the earliest at %d; want the last 200, from %d", len(offs), offs[len(offs)-1], len(in)-200_000)
	}
}
