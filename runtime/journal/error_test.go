package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOnError: a failing write is told once for each run of failures, and
// OnError may record an event itself.
func TestOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	var told []error
	var j *Journal
	j, _, err := Open(path, Options{OnError: func(err error) {
		told = append(told, err)
		j.Record(Event{Type: Warning, Component: "journal", Error: err.Error()})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	writable := j.f
	readOnly, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	setFile := func(f *os.File) {
		j.mu.Lock()
		j.f = f
		j.mu.Unlock()
	}

	setFile(readOnly)
	for range 3 {
		j.Record(Event{Type: Skipped, Unit: "backup", Reason: "x"})
	}
	if len(told) != 1 || !errors.Is(told[0], syscall.EBADF) {
		t.Errorf("after 3 failed writes OnError was told %v, want one EBADF", told)
	}
	setFile(writable)
	j.Record(Event{Type: Skipped, Unit: "backup", Reason: "x"})
	setFile(readOnly)
	j.Record(Event{Type: Skipped, Unit: "backup", Reason: "x"})
	if len(told) != 2 {
		t.Errorf("a failure after a success was not told: %v", told)
	}
	setFile(writable)
}

// TestRotateFails: when the journal cannot be rotated, events go on into
// the current file, the failure is told once, and a later rotation works.
func TestRotateFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.Mkdir(path+".new", 0o700); err != nil { // no file can be made there
		t.Fatal(err)
	}
	var told []error
	j, _, err := Open(path, Options{MaxSize: 300, OnError: func(err error) { told = append(told, err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for range 10 {
		j.Record(Event{Type: Skipped, Unit: "backup", Reason: "a reason long enough to fill the file soon"})
	}
	if len(told) != 1 || !strings.HasPrefix(told[0].Error(), "cannot rotate journal: ") {
		t.Errorf("OnError was told %v, want one rotation failure", told)
	}
	if _, err := os.Stat(path + ".1"); err == nil {
		t.Errorf("%s.1 exists after failed rotations", path)
	}
	if err := os.Remove(path + ".new"); err != nil {
		t.Fatal(err)
	}
	j.Record(Event{Type: Skipped, Unit: "backup", Reason: "x"})
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Errorf("no rotation once it can be done: %v", err)
	}
	var types []EventType
	if err := Read(path, 0, func(ev Event, _ []byte) error { types = append(types, ev.Type); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if len(types) != 13 || types[0] != Acquired || types[11] != State {
		t.Errorf("events %q, want acquired, 10 skipped, state and skipped", types)
	}
}
