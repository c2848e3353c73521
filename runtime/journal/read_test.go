package journal

import (
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
