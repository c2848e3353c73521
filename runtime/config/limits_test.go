package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopf/kopf/lang"
)

// bomb is a YAML file whose aliases nest levels deep, nine to a level: a
// few hundred bytes that stand for 9^levels values.
func bomb(levels int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 9 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// A file whose aliases would expand past the budget is refused with one
// error at the alias that crossed it, before the expansion costs memory;
// aliases that repeat settings a few times are fine.
func TestYAMLAliasBudget(t *testing.T) {
	for _, levels := range []int{6, 8, 30} {
		src := bomb(levels)
		_, _, err := Parse("bomb.yaml", []byte(src))
		var list lang.ErrorList
		if !errors.As(err, &list) || len(list) != 1 {
			t.Fatalf("%d levels: Parse = %v; want one error", levels, err)
		}
		// a0..a3 expand to 9 + 81 + 729 + 6561 values, within the budget;
		// a4 (59,049) is not.
		want := fmt.Sprintf("bomb.yaml:5:10: the alias *a3 expands the file past %d values that aliases may add to a file of %d bytes; "+
			"kopf stops reading it (nested aliases multiply: write repeated settings once, in a proto)", 10_000+len(src), len(src))
		if got := list[0].Error(); got != want {
			t.Errorf("%d levels:\n got %s\nwant %s", levels, got, want)
		}
	}
	repeated := "protos: {}\njobs:\n" + strings.Repeat("  j%d: &s%d {command: [x, --a, --b, --c], period: 60, env: {A: '1', B: '2'}}\n", 1)
	repeated = fmt.Sprintf(repeated, 0, 0)
	for i := 1; i < 200; i++ {
		repeated += fmt.Sprintf("  k%d: *s0\n", i)
	}
	cfg, _, err := Parse("ok.yaml", []byte(repeated))
	if err != nil || len(cfg.Jobs) != 200 {
		t.Errorf("a file that repeats one job 200 times by alias: %v", err)
	}
}

// A file larger than MaxFileSize is refused before it is decoded, and
// ReadFile does not read more of it than that.
func TestMaxFileSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 100 MiB that take no disk.
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := path + ":1:1: the file is larger than 32 MiB, the most kopf reads of a config file; nothing of it was used"
	if _, _, err := Load(path); err == nil || err.Error() != want {
		t.Errorf("Load of 100 MiB = %v; want %q", err, want)
	}
	if _, err := ReadFile(path); err == nil || err.Error() != want {
		t.Errorf("ReadFile of 100 MiB = %v; want %q", err, want)
	}
	src := make([]byte, MaxFileSize+1)
	if _, _, err := Parse("big.yaml", src); err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Errorf("Parse of MaxFileSize+1 bytes = %v", err)
	}
	if _, _, err := ParseService("big.json", src); err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Errorf("ParseService of MaxFileSize+1 bytes = %v", err)
	}
}
