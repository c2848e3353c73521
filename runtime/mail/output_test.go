package mail

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestOutputBound(t *testing.T) {
	o := NewOutput(100)
	var all strings.Builder
	for i := range 25 {
		line := fmt.Sprintf("line %03d", i) // 9 bytes with its newline
		o.Line("stdout", line)
		all.WriteString(line + "\n")
	}
	data, cut := o.Take()
	if len(data) != 100 || cut != int64(all.Len()-100) {
		t.Fatalf("Take() = %d bytes, cut %d; want 100, %d", len(data), cut, all.Len()-100)
	}
	if string(data) != all.String()[:100] {
		t.Errorf("kept %q, want the first 100 bytes", data)
	}

	_, _, body := parse(t, Message{To: []string{"a@example.com"}, Unit: "u", Output: data, Cut: cut}.Bytes(date))
	want := all.String()[:100] + "\n[kopf: 125 bytes of output were left out]\n"
	if body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestOutputTake(t *testing.T) {
	o := NewOutput(10)
	o.Line("stdout", "a")
	o.Line("stderr", "b")
	if data, cut := o.Take(); string(data) != "a\nb\n" || cut != 0 {
		t.Errorf("first Take() = %q, %d", data, cut)
	}
	o.Line("stdout", "c")
	if data, cut := o.Take(); string(data) != "c\n" || cut != 0 {
		t.Errorf("second Take() = %q, %d; want only what is new", data, cut)
	}
	if data, cut := o.Take(); data != nil || cut != 0 {
		t.Errorf("Take() with nothing new = %q, %d", data, cut)
	}
	// Each Take has its own bound: after a cut, the next part starts whole.
	o.Line("stdout", "0123456789abc")
	o.Line("stdout", "x")
	if data, cut := o.Take(); string(data) != "0123456789" || cut != 6 {
		t.Errorf("cut Take() = %q, %d; want 10 bytes and 6 cut", data, cut)
	}
	o.Line("stdout", "d")
	if data, cut := o.Take(); string(data) != "d\n" || cut != 0 {
		t.Errorf("Take() after a cut = %q, %d", data, cut)
	}
}

func TestOutputCutsWholeRunes(t *testing.T) {
	o := NewOutput(5)
	o.Line("stdout", "abcdé") // é is 2 bytes, at 4 and 5
	data, cut := o.Take()
	if string(data) != "abcd" || cut != 3 {
		t.Errorf("Take() = %q, %d; want %q, 3", data, cut, "abcd")
	}
	o = NewOutput(6)
	o.Line("stdout", "abcdé")
	if data, cut := o.Take(); string(data) != "abcdé" || cut != 1 {
		t.Errorf("Take() = %q, %d; want the line without its newline", data, cut)
	}
}

func TestOutputDefaultLimit(t *testing.T) {
	o := NewOutput(0)
	big := strings.Repeat("x", DefaultOutputLimit)
	o.Line("stdout", big)
	if data, cut := o.Take(); len(data) != DefaultOutputLimit || cut != 1 {
		t.Errorf("Take() = %d bytes, cut %d", len(data), cut)
	}
}

// TestOutputConcurrent: lines from the two reader goroutines of a process
// and a Take for a partial mail may come at once; no line is lost, torn or
// counted twice.
func TestOutputConcurrent(t *testing.T) {
	o := NewOutput(1 << 20)
	var wg sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		wg.Go(func() {
			for i := range 1000 {
				o.Line(stream, fmt.Sprintf("%s %d", stream, i))
			}
		})
	}
	var parts []string
	wg.Go(func() {
		for range 50 {
			data, _ := o.Take()
			parts = append(parts, string(data))
		}
	})
	wg.Wait()
	data, _ := o.Take()
	lines := strings.Split(strings.Join(append(parts, string(data)), ""), "\n")
	lines = lines[:len(lines)-1]
	if len(lines) != 2000 {
		t.Fatalf("got %d lines, want 2000", len(lines))
	}
	next := map[string]int{}
	for _, l := range lines {
		var stream string
		var i int
		if _, err := fmt.Sscanf(l, "%s %d", &stream, &i); err != nil || i != next[stream] {
			t.Fatalf("line %q out of order or torn (want %s %d)", l, stream, next[stream])
		}
		next[stream]++
	}
}
