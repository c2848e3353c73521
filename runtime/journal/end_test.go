package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// eventLine is ev's line in the journal, newline included.
func eventLine(t *testing.T, ev Event) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestReadEndReadsItsWindow: of a file larger than the window, readEnd
// reads the lines that begin in the window and no more than the window
// and the chunk that finds the first of them; what it found there is
// Previous, and its warning says where reading began.
func TestReadEndReadsItsWindow(t *testing.T) {
	const window = 256 << 10
	t0 := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	var data []byte
	add := func(ev Event) { data = append(data, eventLine(t, ev)...) }
	add(Event{Time: at(0), Type: Acquired, PID: 1, BootID: "b1"})
	add(Event{Time: at(1), Type: Source, Op: "add", Unit: "early-job", Kind: KindJob})
	add(Event{Time: at(2), Type: Spawned, Unit: "early", Kind: KindProc, PID: 10, StartTicks: 1})
	for i := 0; len(data) < 2<<20; i++ {
		add(Event{Time: at(3), Type: Skipped, Unit: "early-job", Reason: fmt.Sprintf("filler %d %s", i, strings.Repeat("x", 200))})
	}
	add(Event{Time: at(4), Type: Spawned, Unit: "late", Kind: KindProc, PID: 20, StartTicks: 2})
	for i := 0; i < 10; i++ {
		add(Event{Time: at(5), Type: Skipped, Unit: "early-job", Reason: fmt.Sprintf("filler %d", i)})
	}
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := int64(len(data))

	r := &countingReader{r: f}
	e, err := readEnd(path, r, size, window)
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(window + 64<<10); r.n > limit {
		t.Errorf("readEnd read %d bytes of a %d-byte file, want at most the window and a chunk, %d", r.n, size, limit)
	}
	// Reading began at the first line that begins in the window.
	if e.from < size-window || data[e.from-1] != '\n' || bytes.IndexByte(data[size-window:e.from-1], '\n') >= 0 {
		t.Fatalf("reading began at byte %d, want the first line that begins after byte %d", e.from, size-window)
	}
	want := &Previous{
		LastSeen: at(5),
		Running:  []Proc{{Unit: "late", Kind: KindProc, PID: 20, StartTicks: 2}},
		Jobs:     map[string]bool{},
	}
	if diff := cmp.Diff(want, e.previous()); diff != "" {
		t.Errorf("Previous from the window mismatch (-want +got):\n%s", diff)
	}
	if e.complete != size || e.tail != 0 {
		t.Errorf("complete %d, tail %d; want %d, 0", e.complete, e.tail, size)
	}
	wantNote := fmt.Sprintf("journal %s is 2 MiB, larger than kopf lets a file grow: read its last 256 KiB only, from byte %d, "+
		"and found no state event there; processes started and jobs run before that were not looked for: "+
		"such a process that still runs is not stopped, and such a job's missed fires are not made up for; "+
		"kopf's first event rotates it to %s.1", path, e.from, path)
	if len(e.notes) != 1 || e.notes[0].Error != wantNote {
		t.Errorf("notes %+v, want one warning:\n%s", e.notes, wantNote)
	}
}

// TestReadEndEqualsReadingAll: for journals kopf's own Journal wrote, in
// many small files put back together into one, reading from any point
// before the last state event gives the Previous that reading all of it
// gives, and reading from a point after it says that it found none.
func TestReadEndEqualsReadingAll(t *testing.T) {
	stated, unstated := 0, 0
	for seed := range 8 {
		rng := rand.New(rand.NewPCG(uint64(seed), 28))
		data := randomJournal(t, rng)
		size := int64(len(data))
		whole, err := readEnd("j", bytes.NewReader(data), size, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(whole.notes) > 0 || whole.tail != 0 {
			t.Fatalf("seed %d: reading all of it: notes %+v, tail %d; want none", seed, whole.notes, whole.tail)
		}
		lastState := int64(bytes.LastIndex(data, []byte(`"type":"state"`)))
		for i := range 40 {
			// Half the windows end near the last state event, so that
			// both sides of it are tried.
			window := 1 + rng.Int64N(size)
			if i%2 == 1 {
				window = 1 + rng.Int64N(min(size, 2*(size-lastState)))
			}
			e, err := readEnd("j", bytes.NewReader(data), size, window)
			if err != nil {
				t.Fatal(err)
			}
			if e.stated != (e.from < lastState) {
				t.Fatalf("seed %d, window %d: stated %v, reading from %d, the last state event at about %d", seed, window, e.stated, e.from, lastState)
			}
			if !e.stated {
				unstated++
				if len(e.notes) != 1 || !strings.Contains(e.notes[0].Error, "found no state event there") {
					t.Errorf("seed %d, window %d: notes %+v, want a warning that no state event was read", seed, window, e.notes)
				}
				continue
			}
			stated++
			if diff := cmp.Diff(whole.previous(), e.previous()); diff != "" {
				t.Errorf("seed %d, reading the last %d of %d bytes: Previous mismatch (-whole +end):\n%s", seed, window, size, diff)
			}
			if len(e.notes) != 1 || !strings.Contains(e.notes[0].Error, "no process or job was missed") {
				t.Errorf("seed %d, window %d: notes %+v, want a warning that nothing was missed", seed, window, e.notes)
			}
		}
	}
	if stated < 100 || unstated < 40 {
		t.Errorf("%d windows held a state event and %d did not; the journals do not test both", stated, unstated)
	}
}

// randomJournal has a few daemons, some crashing, write a journal rotated
// at 4 KiB into many files, and returns those files put together, oldest
// first, as one file that was never rotated would hold them.
func randomJournal(t *testing.T, rng *rand.Rand) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	now := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	const keep = 120
	opts := Options{MaxSize: 4 << 10, Keep: keep, Now: func() time.Time {
		now = now.Add(time.Second)
		return now
	}, OnError: func(err error) { t.Fatalf("OnError: %v", err) }}
	for range 3 + rng.IntN(4) {
		j, prev, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range prev.Running {
			action := []Action{ActionStopped, ActionGone, ActionFailed}[rng.IntN(3)]
			j.Record(Event{Type: Leftover, Unit: p.Unit, PID: p.PID, StartTicks: p.StartTicks, Action: action})
		}
		var running []int
		for range 30 + rng.IntN(150) {
			switch rng.IntN(7) {
			case 0, 1:
				pid := 100 + rng.IntN(40) // reused now and then
				j.Record(Event{Type: Spawned, Unit: "u" + strconv.Itoa(pid%7), Kind: KindJob, PID: pid, StartTicks: uint64(rng.IntN(1000))})
				running = append(running, pid)
			case 2:
				if len(running) > 0 {
					i := rng.IntN(len(running))
					j.Record(Event{Type: Exited, Unit: "u", PID: running[i]})
					running = append(running[:i], running[i+1:]...)
				}
			case 3:
				op := []Op{OpAdd, OpUpdate, OpRemove}[rng.IntN(3)]
				j.Record(Event{Type: Source, Op: op, Unit: "j" + strconv.Itoa(rng.IntN(8)), Kind: KindJob})
			default:
				j.Record(Event{Type: Skipped, Unit: "j", Reason: strings.Repeat("r", rng.IntN(700))})
			}
		}
		if rng.IntN(3) > 0 {
			j.Record(Event{Type: Quit})
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + "." + strconv.Itoa(keep)); err == nil {
		t.Fatalf("%s.%d exists: files were dropped; keep more", path, keep)
	}
	var data []byte
	for i := keep; i >= 0; i-- {
		name := path
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		b, err := os.ReadFile(name)
		if err == nil {
			data = append(data, b...)
		}
	}
	return data
}
