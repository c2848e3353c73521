package journal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/proc"
	"golang.org/x/sys/unix"
)

// clock returns a clock that starts at 2026-03-07 12:00 UTC and moves a
// second on each call, so that no test waits for time to pass.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func open(t *testing.T, path string, opts journal.Options) (*journal.Journal, *journal.Previous) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = clock()
	}
	if opts.OnError == nil {
		opts.OnError = func(err error) { t.Errorf("OnError: %v", err) }
	}
	j, prev, err := journal.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return j, prev
}

func closeJournal(t *testing.T, j *journal.Journal) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

type entry struct {
	ev  journal.Event
	raw string
}

// readAll reads the journal at path and returns its events and the
// messages of its invalid lines.
func readAll(t *testing.T, path string, keep int) ([]entry, []string) {
	t.Helper()
	var got []entry
	var bad []string
	err := journal.Read(path, keep, func(ev journal.Event, raw []byte) error {
		got = append(got, entry{ev, string(raw)})
		return nil
	}, func(err error) { bad = append(bad, err.Error()) })
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got, bad
}

func types(entries []entry) []string {
	var ts []string
	for _, e := range entries {
		ts = append(ts, string(e.ev.Type))
	}
	return ts
}

// lines returns the lines of a file, without their newlines.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func code(c int) *int { return &c }

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "kopf", "journal.jsonl")
	j, prev := open(t, path, journal.Options{})
	if diff := cmp.Diff(&journal.Previous{Jobs: map[string]bool{}}, prev, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Previous of a new journal mismatch (-want +got):\n%s", diff)
	}
	at := time.Date(2026, 3, 7, 4, 15, 0, 0, time.UTC)
	recorded := []journal.Event{
		{Type: journal.Source, Op: "add", Unit: "backup", Kind: "job", File: "/etc/kopf/kopf.json"},
		{Type: journal.Fired, Unit: "backup", Source: `schedule "every 1d @ 04:15"`, At: at, Count: 2},
		{Type: journal.Spawned, Unit: "backup", Kind: "job", PID: 4242, StartTicks: 123456,
			Argv: []string{"/bin/sh", "-c", "tar czf a.tgz /etc && echo <done>"}, Reasons: []string{`schedule "every 1d @ 04:15" fired`}},
		{Type: journal.Exited, Unit: "backup", Kind: "job", PID: 4242, Code: code(0), Seconds: 2.5, Graceful: true},
		{Type: journal.Exited, Unit: "web", Kind: "proc", PID: 77, Signal: "SIGKILL", Seconds: 10, StoppedBy: "timeout"},
		{Time: at, Type: journal.Triggered, Unit: "report", By: "backup", Args: []string{"a", "b"}},
		{Type: journal.Quit},
	}
	for _, ev := range recorded {
		j.Record(ev)
	}
	if j.Path() != path {
		t.Errorf("Path() = %q, want %q", j.Path(), path)
	}
	closeJournal(t, j)

	got, bad := readAll(t, path, 0)
	if len(bad) > 0 {
		t.Errorf("invalid lines: %q", bad)
	}
	if len(got) != len(recorded)+1 || got[0].ev.Type != journal.Acquired {
		t.Fatalf("Read gave %q, want acquired and the %d events recorded", types(got), len(recorded))
	}
	acq := got[0].ev
	if acq.PID != os.Getpid() || len(acq.JournalID) != 16 || acq.BootID != journal.BootID() {
		t.Errorf("acquired = %+v, want pid %d, a 16-digit journal id and boot id %q", acq, os.Getpid(), journal.BootID())
	}
	var evs []journal.Event
	for _, e := range got[1:] {
		evs = append(evs, e.ev)
	}
	if diff := cmp.Diff(recorded, evs, cmpopts.IgnoreFields(journal.Event{}, "Time")); diff != "" {
		t.Errorf("Read mismatch (-want +got):\n%s", diff)
	}
	if !evs[5].Time.Equal(at) {
		t.Errorf("a time given to Record became %v, want %v", evs[5].Time, at)
	}
	for i := 1; i < len(got); i++ {
		if !got[i].ev.Time.After(got[i-1].ev.Time) && got[i].ev.Type != journal.Triggered {
			t.Errorf("event %d at %v is not after event %d at %v", i, got[i].ev.Time, i-1, got[i-1].ev.Time)
		}
	}
	var raws []string
	for _, e := range got {
		raws = append(raws, e.raw)
	}
	if diff := cmp.Diff(lines(t, path), raws); diff != "" {
		t.Errorf("raw lines mismatch (-file +Read):\n%s", diff)
	}
	if !strings.Contains(raws[3], "echo <done>") {
		t.Errorf("the argv line %s escapes what a person would read as is", raws[3])
	}
	for _, name := range []string{path, path + ".lock", filepath.Dir(path)} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", name, info.Mode().Perm(), want)
		}
	}
}

func TestPrevious(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")

	// A first session that quit cleanly, and a second that did not.
	j, _ := open(t, path, journal.Options{})
	j.Record(journal.Event{Type: journal.Spawned, Unit: "old", Kind: "proc", PID: 5, StartTicks: 50})
	j.Record(journal.Event{Type: journal.Source, Op: "add", Unit: "gone", Kind: "job"})
	j.Record(journal.Event{Type: journal.Quit})
	closeJournal(t, j)

	j, prev := open(t, path, journal.Options{})
	if !prev.Quit || len(prev.Running) != 1 {
		t.Errorf("Previous after a clean stop = %+v, want Quit and old's process", prev)
	}
	for _, ev := range []journal.Event{
		{Type: journal.Source, Op: "add", Unit: "web", Kind: "proc"},
		{Type: journal.Source, Op: "add", Unit: "backup", Kind: "job"},
		{Type: journal.Source, Op: "add", Unit: "report", Kind: "job"},
		{Type: journal.Source, Op: "add", Unit: "old-job", Kind: "job"},
		{Type: journal.Source, Op: "update", Unit: "report", Kind: "job"},
		{Type: journal.Source, Op: "remove", Unit: "old-job", Kind: "job"},
		{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 300, StartTicks: 3000},
		{Type: journal.Spawned, Unit: "backup", Kind: "job", PID: 200, StartTicks: 2000},
		{Type: journal.Spawned, Unit: "report", Kind: "job", PID: 100, StartTicks: 1000},
		{Type: journal.Exited, Unit: "report", Kind: "job", PID: 100, Code: code(0)},
		{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 30, StartTicks: 4000},
		{Type: journal.SpawnError, Unit: "report", Kind: "job", Error: "exec: no such file"},
		{Type: journal.Leftover, Unit: "old", PID: 5, StartTicks: 50, Action: "stopped"},
	} {
		j.Record(ev)
	}
	last := time.Date(2026, 3, 7, 13, 0, 0, 0, time.UTC)
	j.Record(journal.Event{Time: last, Type: journal.Queued, Unit: "backup", Reason: "a run is running"})
	closeJournal(t, j) // a crash: no quit

	j, prev = open(t, path, journal.Options{})
	defer closeJournal(t, j)
	want := &journal.Previous{
		LastSeen: last,
		BootID:   journal.BootID(),
		Running: []journal.Proc{
			{Unit: "backup", Kind: "job", PID: 200, StartTicks: 2000, BootID: journal.BootID()},
			{Unit: "web", Kind: "proc", PID: 30, StartTicks: 4000, BootID: journal.BootID()},
			{Unit: "web", Kind: "proc", PID: 300, StartTicks: 3000, BootID: journal.BootID()},
		},
		Jobs: map[string]bool{"backup": true, "report": true},
	}
	if diff := cmp.Diff(want, prev); diff != "" {
		t.Errorf("Previous mismatch (-want +got):\n%s", diff)
	}
}

// TestPreviousFromLines computes Previous from journals written by hand,
// the way a rotation, an older kopf or a newer one may have left them.
func TestPreviousFromLines(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  *journal.Previous
	}{{
		name: "state replaces what came before",
		lines: []string{
			`{"time":"2026-03-07T12:00:00Z","type":"acquired","pid":1,"boot_id":"b1"}`,
			`{"time":"2026-03-07T12:00:01Z","type":"spawned","unit":"a","kind":"proc","pid":10,"start_ticks":1}`,
			`{"time":"2026-03-07T12:00:02Z","type":"source","op":"add","unit":"j","kind":"job"}`,
			`{"time":"2026-03-07T12:00:03Z","type":"state","running":[{"unit":"b","kind":"job","pid":20,"start_ticks":2}],"jobs":["b","c"]}`,
			`{"time":"2026-03-07T12:00:04Z","type":"exited","unit":"b","kind":"job","pid":20,"code":0}`,
		},
		want: &journal.Previous{
			LastSeen: time.Date(2026, 3, 7, 12, 0, 4, 0, time.UTC),
			BootID:   "b1",
			Jobs:     map[string]bool{"b": true, "c": true},
		},
	}, {
		name: "a file that begins with a rotation's state",
		lines: []string{
			`{"time":"2026-03-07T12:00:00Z","type":"state","pid":1,"journal_id":"0123456789abcdef","boot_id":"b2","running":[{"unit":"w","kind":"proc","pid":9,"start_ticks":99}],"jobs":["j"]}`,
			`{"time":"2026-03-07T12:00:01Z","type":"quit"}`,
		},
		want: &journal.Previous{
			LastSeen: time.Date(2026, 3, 7, 12, 0, 1, 0, time.UTC),
			BootID:   "b2",
			Running:  []journal.Proc{{Unit: "w", Kind: "proc", PID: 9, StartTicks: 99}},
			Jobs:     map[string]bool{"j": true},
			Quit:     true,
		},
	}, {
		name: "acquired starts afresh, but for leftovers not yet dealt with",
		lines: []string{
			`{"time":"2026-03-07T12:00:00Z","type":"acquired","pid":1,"boot_id":"b1"}`,
			`{"time":"2026-03-07T12:00:01Z","type":"spawned","unit":"a","kind":"proc","pid":10,"start_ticks":1}`,
			`{"time":"2026-03-07T12:00:01Z","type":"spawned","unit":"b","kind":"proc","pid":11,"start_ticks":1}`,
			`{"time":"2026-03-07T12:00:01Z","type":"spawned","unit":"c","kind":"proc","pid":12,"start_ticks":1}`,
			`{"time":"2026-03-07T12:00:02Z","type":"source","op":"add","unit":"j","kind":"job"}`,
			`{"time":"2026-03-07T12:05:00Z","type":"acquired","pid":2}`,
			`{"time":"2026-03-07T12:05:01Z","type":"leftover","unit":"a","pid":10,"action":"stopped"}`,
			`{"time":"2026-03-07T12:05:01Z","type":"leftover","unit":"b","pid":11,"action":"failed"}`,
			`{"time":"2026-03-07T12:05:01Z","type":"source","op":"add","unit":"p","kind":"proc"}`,
			`{"time":"2026-03-07T12:05:02Z","type":"made_up_by_a_newer_kopf","unit":"x"}`,
		},
		want: &journal.Previous{
			LastSeen: time.Date(2026, 3, 7, 12, 5, 2, 0, time.UTC),
			Running: []journal.Proc{
				{Unit: "b", Kind: "proc", PID: 11, StartTicks: 1, BootID: "b1"},
				{Unit: "c", Kind: "proc", PID: 12, StartTicks: 1, BootID: "b1"},
			},
			Jobs: map[string]bool{},
		},
	}, {
		name: "the same pid twice is one process, the later",
		lines: []string{
			`{"time":"2026-03-07T12:00:00Z","type":"acquired","pid":1,"boot_id":"b1"}`,
			`{"time":"2026-03-07T12:00:01Z","type":"spawned","unit":"a","kind":"proc","pid":10,"start_ticks":1}`,
			`{"time":"2026-03-07T12:00:02Z","type":"spawned","unit":"b","kind":"proc","pid":10,"start_ticks":7}`,
		},
		want: &journal.Previous{
			LastSeen: time.Date(2026, 3, 7, 12, 0, 2, 0, time.UTC),
			BootID:   "b1",
			Running:  []journal.Proc{{Unit: "b", Kind: "proc", PID: 10, StartTicks: 7, BootID: "b1"}},
			Jobs:     map[string]bool{},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			if err := os.WriteFile(path, []byte(strings.Join(tt.lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			j, prev := open(t, path, journal.Options{})
			defer closeJournal(t, j)
			if diff := cmp.Diff(tt.want, prev); diff != "" {
				t.Errorf("Previous mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := open(t, path, journal.Options{})
	j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 300, StartTicks: 3000})
	j.Record(journal.Event{Type: journal.Fired, Unit: "backup", Source: `schedule "every 1h"`})
	closeJournal(t, j)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	torn := `{"time":"2026-03-07T12:00:09Z","type":"exi`
	appendFile(t, path, torn)

	// A reader while the line is being written leaves it out, and says
	// nothing.
	got, bad := readAll(t, path, 0)
	if len(got) != 3 || len(bad) != 0 {
		t.Errorf("Read of a journal with a torn tail gave %q and invalid lines %q, want 3 events and none", types(got), bad)
	}

	j, prev := open(t, path, journal.Options{})
	closeJournal(t, j)
	if len(prev.Running) != 1 {
		t.Errorf("Previous.Running = %+v, want web's process", prev.Running)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(after, whole) {
		t.Fatalf("the lines before the torn one changed:\n%s\nwant them to start with\n%s", after, whole)
	}
	got, bad = readAll(t, path, 0)
	if len(bad) != 0 {
		t.Errorf("invalid lines: %q", bad)
	}
	if want := []string{"acquired", "spawned", "fired", "acquired", "log_truncated"}; !cmp.Equal(types(got), want) {
		t.Fatalf("events %q, want %q", types(got), want)
	}
	want := fmt.Sprintf("the last line was cut short (%d bytes), most likely by a crash while it was written; removed", len(torn))
	if r := got[4].ev.Reason; r != want {
		t.Errorf("log_truncated reason %q, want %q", r, want)
	}
	if rest := string(after[len(whole):]); strings.Contains(rest, `"exi`) {
		t.Errorf("the torn line is still there:\n%s", rest)
	}
}

func TestTornOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	appendFile(t, path, `{"time":"2026-03-07T12:00:09Z"`)
	j, prev := open(t, path, journal.Options{})
	closeJournal(t, j)
	if !prev.LastSeen.IsZero() {
		t.Errorf("LastSeen = %v, want zero", prev.LastSeen)
	}
	got, _ := readAll(t, path, 0)
	if want := []string{"acquired", "log_truncated"}; !cmp.Equal(types(got), want) {
		t.Errorf("events %q, want %q", types(got), want)
	}
	if l := lines(t, path); !strings.HasPrefix(l[0], `{"time":`) || !strings.Contains(l[0], `"type":"acquired"`) {
		t.Errorf("first line %s, want the acquired event at the start of the file", l[0])
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := open(t, path, journal.Options{})
	j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 300})
	closeJournal(t, j)
	bad := []string{
		`{"time":"2026-03-07T12:00:00Z","type":"spawned","pid":"300"}`,
		`not json`,
		``,
		`{"type":"quit"}`,
		`{"time":"2026-03-07T12:00:00Z"}`,
		`{"time":"2026-03-07T12:00:00Z","type":"quit"} trailing`,
		`{"time":"2026-03-07T12:00:00Z","type":"quit","reason":"` + strings.Repeat("x", 1<<20) + `"}`,
	}
	appendFile(t, path, strings.Join(bad, "\n")+"\n")
	appendFile(t, path, `{"time":"2026-03-07T12:00:01Z","type":"exited","pid":300,"code":1}`+"\n")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	j, prev := open(t, path, journal.Options{})
	closeJournal(t, j)
	if len(prev.Running) != 0 {
		t.Errorf("Running = %+v: the exited event after the invalid lines was not read", prev.Running)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(after, before) {
		t.Fatalf("Open changed the journal's lines")
	}
	wantBad := []string{
		path + `:3: not an event: "pid" is a string, want a whole number`,
		path + ":4: not JSON: invalid character 'o' in literal null (expecting 'u')",
		path + ":5: empty line",
		path + `:6: not an event: no "time"`,
		path + `:7: not an event: no "type"`,
		path + ":8: not JSON: invalid character 't' after top-level value",
		fmt.Sprintf("%s:9: line of %d bytes skipped: longer than 1 MiB", path, len(bad[6])),
	}
	got, gotBad := readAll(t, path, 0)
	if diff := cmp.Diff(wantBad, gotBad); diff != "" {
		t.Errorf("Read's invalid lines mismatch (-want +got):\n%s", diff)
	}
	var warnings []string
	for _, e := range got {
		if e.ev.Type == journal.Warning && e.ev.Component == "journal" {
			warnings = append(warnings, e.ev.Error)
		}
	}
	if diff := cmp.Diff(wantBad, warnings); diff != "" {
		t.Errorf("Open's warnings mismatch (-want +got):\n%s", diff)
	}
	var le *journal.LineError
	var tooLong []int // the lines that are only too long, which kopf journal does not count as invalid
	if err := func() error {
		return journal.Read(path, 0, func(journal.Event, []byte) error { return nil }, func(err error) {
			var l *journal.LineError
			errors.As(err, &l)
			if le == nil {
				le = l
			}
			if errors.Is(err, journal.ErrLineTooLong) {
				tooLong = append(tooLong, l.Line)
			}
		})
	}(); err != nil || le == nil || le.File != path || le.Line != 3 || le.Offset != int64(len(lines(t, path)[0])+len(lines(t, path)[1])+2) {
		t.Errorf("the first invalid line came as %#v (Read: %v), want a *LineError for %s line 3, after the first two lines", le, err, path)
	}
	if !cmp.Equal(tooLong, []int{9}) {
		t.Errorf("the lines that are ErrLineTooLong are %v, want only line 9", tooLong)
	}
}

func TestManyInvalidLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	appendFile(t, path, strings.Repeat("garbage\n", 25))
	j, _ := open(t, path, journal.Options{})
	closeJournal(t, j)
	got, bad := readAll(t, path, 0)
	if len(bad) != 25 {
		t.Errorf("%d invalid lines, want 25", len(bad))
	}
	var warnings []string
	for _, e := range got {
		if e.ev.Type == journal.Warning {
			warnings = append(warnings, e.ev.Error)
		}
	}
	if len(warnings) != 11 || warnings[9] != path+":10: not JSON: invalid character 'g' looking for beginning of value" ||
		warnings[10] != path+": 15 more lines are not valid events; kopf journal lists them all" {
		t.Errorf("warnings %q, want 10 lines and one for the 15 more", warnings)
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := open(t, path, journal.Options{})

	_, _, err := journal.Open(path, journal.Options{})
	var le *journal.LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Path != path {
		t.Fatalf("a second Open returned %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	if want := fmt.Sprintf("journal %s is in use by kopf pid %d", path, os.Getpid()); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	ticks, _ := proc.StartTicks(os.Getpid())
	holder, err := os.ReadFile(path + ".lock")
	if want := fmt.Sprintf("%d %d\n", os.Getpid(), ticks); err != nil || string(holder) != want {
		t.Errorf("lock file holds %q (%v), want %q: our pid and start time", holder, err, want)
	}

	closeJournal(t, j)
	if err := j.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	j.Record(journal.Event{Type: journal.Quit}) // does nothing after Close
	j, _ = open(t, path, journal.Options{})
	closeJournal(t, j)
	if _, err := os.Stat(path + ".lock"); err != nil {
		t.Errorf("the lock file is gone: %v", err)
	}
	if got, _ := readAll(t, path, 0); !cmp.Equal(types(got), []string{"acquired", "acquired"}) {
		t.Errorf("events %q, want two acquired", types(got))
	}
}

// A lock still held after the daemon that took it has ended belongs to a
// process that daemon forked and that had not exec'd yet: Open waits for
// it, says why, and takes the journal once it goes. One that stays is an
// error after LockWait, naming what holds it.
func TestLockOfAnEndedDaemon(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		content string // of the lock file
		hold    time.Duration
	}{
		{"pid and start time", fmt.Sprintf("%d 12345\n", os.Getpid()), 300 * time.Millisecond}, // our pid, another start time
		{"pid only, as kopf wrote it before", fmt.Sprintf("%d\n", dead.Process.Pid), 300 * time.Millisecond},
		{"held for longer than LockWait", fmt.Sprintf("%d\n", dead.Process.Pid), time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			if err := os.WriteFile(path+".lock", []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// flock(1) holds the lock as the dead daemon's child would.
			holder := exec.Command("flock", path+".lock", "sleep", fmt.Sprint(tc.hold.Seconds()))
			if err := holder.Start(); err != nil {
				t.Skipf("no flock(1): %v", err)
			}
			t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				f, _ := os.Open(path + ".lock")
				err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
				f.Close() // releases it again, if we got it
				if err == unix.EWOULDBLOCK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("flock(1) never took the lock")
				}
			}
			var waits []string
			start := time.Now()
			j, _, err := journal.Open(path, journal.Options{LockWait: 2 * time.Second, OnWait: func(msg string) { waits = append(waits, msg) }})
			if tc.hold > time.Second {
				var le *journal.LockedError
				if !errors.As(err, &le) || !le.Ended || !slices.Contains(le.Holders, holder.Process.Pid) {
					t.Fatalf("Open = %v; want a LockedError of an ended daemon naming pid %d", err, holder.Process.Pid)
				}
				if want := fmt.Sprintf(" %d", holder.Process.Pid); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the lock file open after 2s") {
					t.Errorf("error %q does not name pid %d as holding the lock file after 2s", err, holder.Process.Pid)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open = %v; want the journal once the holder has gone", err)
			}
			closeJournal(t, j)
			if took := time.Since(start); took < 200*time.Millisecond {
				t.Errorf("Open took %v: it did not wait for the lock", took)
			}
			if len(waits) != 1 || !strings.Contains(waits[0], "has ended, but the lock is still held") {
				t.Errorf("OnWait was told %q; want once, why it waits", waits)
			}
		})
	}
}

// A journal removed or renamed away while the daemon runs is opened again
// at its path, beginning with what the daemon holds, so a restart still
// finds the processes it started; the daemon is told once per change.
func TestJournalRemovedWhileRunning(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(path string) error
	}{
		{"removed", os.Remove},
		{"renamed by a rotation tool", func(path string) error { return os.Rename(path, path+".0") }},
		{"renamed and replaced by an empty file", func(path string) error {
			if err := os.Rename(path, path+".0"); err != nil {
				return err
			}
			return os.WriteFile(path, nil, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			var told []string
			j, _ := open(t, path, journal.Options{OnReopen: func(msg string) { told = append(told, msg) }})
			j.Record(journal.Event{Type: journal.Source, Op: "add", Unit: "web", Kind: "proc", File: "kopf.json"})
			j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 4242, StartTicks: 77, Run: "proc-web@1"})
			if err := tc.do(path); err != nil {
				t.Fatal(err)
			}
			j.Check()
			if _, err := os.Stat(path); err != nil {
				t.Errorf("after Check, no journal at its path: %v", err)
			}
			j.Check() // the file is the journal's again: nothing to do
			j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 4343, StartTicks: 78, Run: "proc-web@2"})
			j.Record(journal.Event{Type: journal.Exited, Unit: "web", Kind: "proc", PID: 4242})
			if len(told) != 1 || !strings.Contains(told[0], path) {
				t.Errorf("OnReopen was told %q; want once, naming the journal", told)
			}
			got, _ := readAll(t, path, 0)
			if diff := cmp.Diff([]string{"state", "warning", "spawned", "exited"}, types(got)); diff != "" {
				t.Errorf("the new file's events (-want +got):\n%s", diff)
			}
			if len(got) > 0 && (len(got[0].ev.Running) != 1 || got[0].ev.Running[0].PID != 4242) {
				t.Errorf("the new file's state = %+v; want pid 4242 running", got[0].ev)
			}
			closeJournal(t, j)
			_, prev, err := journal.Open(path, journal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(prev.Running) != 1 || prev.Running[0].PID != 4343 || prev.Running[0].Run != "proc-web@2" {
				t.Errorf("the next daemon finds %+v running; want pid 4343 only", prev.Running)
			}
		})
	}
}

func TestLockedErrorUnknownPID(t *testing.T) {
	err := &journal.LockedError{Path: "/x/journal.jsonl"}
	if want := "journal /x/journal.jsonl is in use by another kopf"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	const maxSize = 1000
	opts := journal.Options{MaxSize: maxSize, Keep: 3}
	j, _ := open(t, path, opts)
	j.Record(journal.Event{Type: journal.Source, Op: "add", Unit: "backup", Kind: "job", File: "/etc/kopf/kopf.json"})
	j.Record(journal.Event{Type: journal.Source, Op: "add", Unit: "web", Kind: "proc", File: "/etc/kopf/kopf.json"})
	j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 300, StartTicks: 3000})
	// Enough to fill about three files, none dropped yet.
	n := 0
	for ; n < 16; n++ {
		j.Record(journal.Event{Type: journal.Skipped, Unit: "backup", Reason: fmt.Sprintf("event %d", n)})
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Fatalf("%s.3 exists already; record fewer events", path)
	}
	readNumbered(t, path, opts.Keep, n)
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Errorf("no rotated file: %v", err)
	}

	// Many more: the oldest files are dropped, Keep are kept.
	for ; n < 200; n++ {
		j.Record(journal.Event{Type: journal.Skipped, Unit: "backup", Reason: fmt.Sprintf("event %d", n)})
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"journal.jsonl", "journal.jsonl.1", "journal.jsonl.2", "journal.jsonl.3", "journal.jsonl.lock"}
	if !cmp.Equal(names, want) {
		t.Errorf("files %q, want %q", names, want)
	}
	for _, name := range want[:4] {
		file := filepath.Join(filepath.Dir(path), name)
		info, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > maxSize {
			t.Errorf("%s has %d bytes, more than MaxSize %d", name, info.Size(), maxSize)
		}
		if first := lines(t, file)[0]; !strings.Contains(first, `"type":"state"`) {
			t.Errorf("%s begins with %s, want a state event", name, first)
		}
	}
	got, bad := readAll(t, path, opts.Keep)
	if len(bad) > 0 {
		t.Errorf("invalid lines: %q", bad)
	}
	prevN := -1
	for _, e := range got {
		if e.ev.Type != journal.Skipped {
			continue
		}
		k, _ := strconv.Atoi(strings.TrimPrefix(e.ev.Reason, "event "))
		if prevN >= 0 && k != prevN+1 {
			t.Errorf("event %d follows event %d: one was lost between files", k, prevN)
		}
		prevN = k
	}
	if prevN != n-1 {
		t.Errorf("the last event read is %d, want %d", prevN, n-1)
	}
	closeJournal(t, j) // a crash: no quit

	// Only the current file is read to know what the daemon left.
	j, prev := open(t, path, opts)
	defer closeJournal(t, j)
	wantPrev := &journal.Previous{
		LastSeen: got[len(got)-1].ev.Time,
		BootID:   journal.BootID(),
		Running:  []journal.Proc{{Unit: "web", Kind: "proc", PID: 300, StartTicks: 3000, BootID: journal.BootID()}},
		Jobs:     map[string]bool{"backup": true},
	}
	if diff := cmp.Diff(wantPrev, prev); diff != "" {
		t.Errorf("Previous after rotations mismatch (-want +got):\n%s", diff)
	}
}

// The events of one Record call are written together, and rotation still
// happens between them: every file stays under MaxSize, begins with a
// state event that includes the events before it, and no event is lost.
func TestRotationInOneRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	const maxSize = 1000
	opts := journal.Options{MaxSize: maxSize, Keep: 10}
	j, _ := open(t, path, opts)
	evs := []journal.Event{
		{Type: journal.Source, Op: "add", Unit: "backup", Kind: "job", File: "/etc/kopf/kopf.json"},
		{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 300, StartTicks: 3000},
	}
	const n = 40
	for i := range n {
		evs = append(evs, journal.Event{Type: journal.Skipped, Unit: "backup", Reason: fmt.Sprintf("event %d", i)})
	}
	j.Record(evs...)
	readNumbered(t, path, opts.Keep, n)
	files, _ := filepath.Glob(path + ".*[0-9]")
	if len(files) < 2 {
		t.Fatalf("rotated files %q; want the batch to span several", files)
	}
	oldest := path + "." + strconv.Itoa(len(files)) // begun by Open, before the batch
	for _, file := range append(files, path) {
		if info, _ := os.Stat(file); info.Size() > maxSize {
			t.Errorf("%s has %d bytes, more than MaxSize %d", file, info.Size(), maxSize)
		}
		first := lines(t, file)[0]
		if file != oldest && (!strings.Contains(first, `"type":"state"`) || !strings.Contains(first, `"pid":300`)) {
			t.Errorf("%s begins with %s, want a state event naming web", file, first)
		}
	}
	closeJournal(t, j)
}

func TestLongLineAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	opts := journal.Options{MaxSize: 200, Keep: 1}
	j, _ := open(t, path, opts)
	long := strings.Repeat("x", 500)
	j.Record(journal.Event{Type: journal.Skipped, Unit: "a", Reason: long})
	j.Record(journal.Event{Type: journal.Skipped, Unit: "b", Reason: "short"})
	closeJournal(t, j)
	got, _ := readAll(t, path, opts.Keep)
	if want := []string{"state", "skipped", "state", "skipped"}; !cmp.Equal(types(got), want) {
		t.Errorf("events %q, want %q", types(got), want)
	}
	if _, err := os.Stat(path + ".2"); err == nil {
		t.Errorf("%s.2 exists with Keep 1", path)
	}
}

func TestReadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	err := journal.Read(path, 0, func(journal.Event, []byte) error { return nil }, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a missing journal returned %v, want fs.ErrNotExist", err)
	}
}

func TestReadStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := open(t, path, journal.Options{})
	j.Record(journal.Event{Type: journal.Quit})
	closeJournal(t, j)
	stop := errors.New("stop")
	calls := 0
	err := journal.Read(path, 0, func(journal.Event, []byte) error { calls++; return stop }, nil)
	if err != stop || calls != 1 {
		t.Errorf("Read returned %v after %d calls, want fn's error after 1", err, calls)
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOME": "/home/ada", "XDG_STATE_HOME": "/var/state"}, "/var/state/kopf/journal.jsonl"},
		{map[string]string{"HOME": "/home/ada"}, "/home/ada/.local/state/kopf/journal.jsonl"},
		{map[string]string{"HOME": "/home/ada", "XDG_STATE_HOME": "state"}, "/home/ada/.local/state/kopf/journal.jsonl"},
	}
	for _, tt := range tests {
		if got := journal.DefaultPath(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("DefaultPath(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestConcurrentRecord(t *testing.T) {
	for _, opts := range []journal.Options{{}, {MaxSize: 16 << 10, Keep: 100}} {
		t.Run(fmt.Sprintf("MaxSize=%d", opts.MaxSize), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			j, _ := open(t, path, opts)
			const writers, each = 8, 200
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						pid := w*each + i + 1
						j.Record(journal.Event{Type: journal.Spawned, Unit: fmt.Sprintf("w%d", w), Kind: "job", PID: pid,
							Argv: []string{"/bin/echo", strings.Repeat("y", i)}})
						j.Record(journal.Event{Type: journal.Exited, Unit: fmt.Sprintf("w%d", w), Kind: "job", PID: pid, Code: code(0)})
					}
				})
			}
			wg.Wait()
			closeJournal(t, j)
			got, bad := readAll(t, path, opts.Keep)
			if len(bad) > 0 {
				t.Fatalf("invalid lines: %q", bad[:min(len(bad), 3)])
			}
			seen := map[int]bool{}
			for _, e := range got {
				if e.ev.Type == journal.Spawned {
					seen[e.ev.PID] = true
				}
			}
			if len(seen) != writers*each {
				t.Errorf("read %d of the %d events written", len(seen), writers*each)
			}
		})
	}
}

// TestLargeState: a state event larger than MaxSize makes larger files,
// not a rotation for every event.
func TestLargeState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	opts := journal.Options{MaxSize: 1000, Keep: 100}
	j, _ := open(t, path, opts)
	for pid := 1; pid <= 50; pid++ {
		j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: pid, StartTicks: 1})
	}
	for i := range 100 {
		j.Record(journal.Event{Type: journal.Skipped, Unit: "backup", Reason: fmt.Sprintf("event %d", i)})
	}
	closeJournal(t, j)
	got, _ := readAll(t, path, opts.Keep)
	states := 0
	for _, e := range got {
		if e.ev.Type == journal.State && len(e.ev.Running) == 50 {
			states++
		}
	}
	// The state takes about 3.5 kB, the skipped events about 8 kB.
	if states < 1 || states > 3 {
		t.Errorf("%d rotations after the last spawn, want 1 to 3", states)
	}
}

// TestHalfRotated: a crash between linking PATH.1 to PATH and renaming the
// new file to PATH leaves one file under two names; Open keeps one.
func TestHalfRotated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := open(t, path, journal.Options{})
	j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: 300})
	closeJournal(t, j)
	if err := os.Link(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	j, prev := open(t, path, journal.Options{})
	closeJournal(t, j)
	if len(prev.Running) != 1 {
		t.Errorf("Running = %+v, want web's process", prev.Running)
	}
	if got, _ := readAll(t, path, 0); !cmp.Equal(types(got), []string{"acquired", "spawned", "acquired"}) {
		t.Errorf("events %q, want each once", types(got))
	}
}

// readNumbered reads the journal at path and checks that its skipped
// events are the n recorded, "event 0" to "event n-1", in order, and that
// every line is valid.
func readNumbered(t *testing.T, path string, keep, n int) {
	t.Helper()
	got, bad := readAll(t, path, keep)
	if len(bad) > 0 {
		t.Errorf("invalid lines: %q", bad)
	}
	var reasons []string
	for _, e := range got {
		if e.ev.Type == journal.Skipped {
			reasons = append(reasons, e.ev.Reason)
		}
	}
	if len(reasons) != n {
		t.Fatalf("Read gave %d of the %d events recorded: %q", len(reasons), n, reasons)
	}
	for i, r := range reasons {
		if want := fmt.Sprintf("event %d", i); r != want {
			t.Errorf("event %d is %q, want %q", i, r, want)
		}
	}
}

// writeLines writes a journal file of evs and, between the first early of
// them and the rest, filler events until the file holds at least size
// bytes.
func writeLines(t *testing.T, path string, evs []journal.Event, early int, size int) {
	t.Helper()
	var b bytes.Buffer
	enc := func(ev journal.Event) {
		line, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	for _, ev := range evs[:early] {
		enc(ev)
	}
	at := evs[early-1].Time
	for i := 0; b.Len() < size; i++ {
		enc(journal.Event{Time: at, Type: journal.Skipped, Unit: "filler", Reason: fmt.Sprintf("filler %d %s", i, strings.Repeat("x", 300))})
	}
	for _, ev := range evs[early:] {
		enc(ev)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fileEvents returns the events of the one file path, without the rotated
// files Read reads first.
func fileEvents(t *testing.T, path string) []entry {
	t.Helper()
	var got []entry
	for _, l := range lines(t, path) {
		var ev journal.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got = append(got, entry{ev, l})
	}
	return got
}

// TestOpenLargeFile: a journal file many times MaxSize (a daemon rotated
// it never, or something else wrote it) is read from its end: a process
// spawned there is found, one spawned at its start is not, a warning says
// what was not read, and the first event rotates the file, which is left
// as it was.
func TestOpenLargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	opts := journal.Options{MaxSize: 1 << 20} // Open reads the last 4 MiB
	t0 := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	writeLines(t, path, []journal.Event{
		{Time: t0, Type: journal.Acquired, PID: 1, BootID: "b1"},
		{Time: t0, Type: journal.Source, Op: "add", Unit: "early-job", Kind: "job"},
		{Time: t0, Type: journal.Spawned, Unit: "early", Kind: "proc", PID: 10, StartTicks: 1},
		{Time: t0.Add(time.Hour), Type: journal.Spawned, Unit: "late", Kind: "proc", PID: 20, StartTicks: 2},
		{Time: t0.Add(time.Hour), Type: journal.Source, Op: "add", Unit: "late-job", Kind: "job"},
	}, 3, 12<<20)
	appendFile(t, path, "not an event\n")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	size := len(before)

	j, prev := open(t, path, opts)
	closeJournal(t, j)
	want := &journal.Previous{
		LastSeen: t0.Add(time.Hour),
		Running:  []journal.Proc{{Unit: "late", Kind: "proc", PID: 20, StartTicks: 2}},
		Jobs:     map[string]bool{"late-job": true},
	}
	if diff := cmp.Diff(want, prev); diff != "" {
		t.Errorf("Previous of a 12 MiB file mismatch (-want +got):\n%s", diff)
	}
	if after, err := os.ReadFile(path + ".1"); err != nil || !bytes.Equal(after, before) {
		t.Errorf("%s.1 is not the file as it was (%v)", path, err)
	}
	got := fileEvents(t, path)
	var warnings []string
	for _, e := range got {
		if e.ev.Type == journal.Warning {
			warnings = append(warnings, e.ev.Error)
		}
	}
	// Where the window begins: the first line that begins in the last
	// 4 MiB of the file.
	from := size - 4<<20
	from += bytes.IndexByte(before[from-1:], '\n')
	wantWarnings := []string{
		fmt.Sprintf("journal %s is 12 MiB, larger than kopf lets a file grow: read its last 4 MiB only, from byte %d, "+
			"and found no state event there; processes started and jobs run before that were not looked for: "+
			"such a process that still runs is not stopped, and such a job's missed fires are not made up for; "+
			"kopf's first event rotates it to %s.1", path, from, path),
		fmt.Sprintf("%s: line at byte %d: not JSON: invalid character 'o' in literal null (expecting 'u')", path, size-len("not an event\n")),
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
	if want := []string{"state", "acquired", "warning", "warning"}; !cmp.Equal(types(got), want) {
		t.Errorf("the new file's events %q, want %q", types(got), want)
	}
	if r := got[0].ev.Running; len(r) != 1 || r[0].PID != 20 {
		t.Errorf("the new file's state has running %+v, want late's process", r)
	}
}

// TestOpenNoNewlineAtTheEnd: a file whose last bytes Open reads hold no
// newline is not a line a crash cut short: Open leaves it, says so, and
// writes its own lines after a newline, in the file it rotates to.
func TestOpenNoNewlineAtTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	opts := journal.Options{MaxSize: 1 << 20}
	t0 := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	writeLines(t, path, []journal.Event{{Time: t0, Type: journal.Spawned, Unit: "early", Kind: "proc", PID: 10}}, 1, 0)
	appendFile(t, path, strings.Repeat("x", 5<<20))
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	j, prev := open(t, path, opts)
	closeJournal(t, j)
	if len(prev.Running) != 0 || !prev.LastSeen.IsZero() {
		t.Errorf("Previous %+v, want nothing: no line was read", prev)
	}
	if after, err := os.ReadFile(path + ".1"); err != nil || !bytes.Equal(after, before) {
		t.Errorf("%s.1 is not the file as it was (%v)", path, err)
	}
	got := fileEvents(t, path)
	if want := []string{"state", "acquired", "warning", "warning"}; !cmp.Equal(types(got), want) {
		t.Fatalf("the new file's events %q, want %q", types(got), want)
	}
	if w, want := got[2].ev.Error, path+": its last 4 MiB hold no newline: not a line cut short by a crash; left as it is"; w != want {
		t.Errorf("warning %q, want %q", w, want)
	}
	if w := got[3].ev.Error; !strings.Contains(w, "read its last 4 MiB only, from byte "+strconv.Itoa(len(before)-4<<20)) {
		t.Errorf("warning %q, want it to say where reading began", w)
	}
}

// TestReadSince: of a journal kopf rotated, ReadSince gives the events
// from since on that Read gives, through the rotated files; with a limit
// smaller than they take, the last of them that fit, and says so.
func TestReadSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	opts := journal.Options{MaxSize: 4 << 10, Keep: 3}
	j, _ := open(t, path, opts)
	for i := range 250 {
		j.Record(journal.Event{Type: journal.Skipped, Unit: "backup", Reason: fmt.Sprintf("event %d", i)})
	}
	closeJournal(t, j)
	all, _ := readAll(t, path, opts.Keep)
	if _, err := os.Stat(path + ".3"); err != nil {
		t.Fatalf("the journal fills fewer than 4 files (%v); record more", err)
	}
	since := func(since time.Time, limit int64) ([]string, bool) {
		t.Helper()
		var got []string
		cut, err := journal.ReadSince(path, opts.Keep, since, limit, func(_ journal.Event, raw []byte) error {
			got = append(got, string(raw))
			return nil
		}, func(err error) { t.Errorf("invalid line: %v", err) })
		if err != nil {
			t.Fatal(err)
		}
		return got, cut
	}
	raws := func(entries []entry) []string {
		var out []string
		for _, e := range entries {
			out = append(out, e.raw)
		}
		return out
	}
	// Each since is a point just before an event, in the current file, a
	// rotated one, or after them all. What comes is what follows the
	// last event older than since: a state event is a little later than
	// the event after it, whose write rotated the file.
	for _, i := range []int{0, 1, 30, 60, 100, len(all) - 1, len(all)} {
		from := all[len(all)-1].ev.Time.Add(time.Millisecond)
		if i < len(all) {
			from = all[i].ev.Time.Add(-time.Millisecond)
		}
		k := len(all) - 1
		for k >= 0 && !all[k].ev.Time.Before(from) {
			k--
		}
		got, cut := since(from, 1<<30)
		if want := raws(all[k+1:]); !cmp.Equal(got, want) || cut {
			t.Errorf("since the %dth event: %d events (cut %v), want the last %d", i, len(got), cut, len(want))
		}
	}
	// A limit: the last events that fit in it.
	got, cut := since(time.Time{}, 3000)
	size := 0
	for _, raw := range got {
		size += len(raw) + 1
	}
	if want := raws(all[len(all)-len(got):]); !cut || len(got) == 0 || size > 3000 || !cmp.Equal(got, want) {
		t.Errorf("with a 3000-byte limit: %d events of %d bytes (cut %v), want the last ones that fit, cut", len(got), size, cut)
	}
}
