package cli_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNothingHeavyAtInit runs kopf next with the runtime's init trace and
// checks that none of kopf's packages does real work at package init: a
// one-shot command pays for every linked package's init, so grammars,
// regular expressions and tables are built on first use. The measure is
// allocations, which do not depend on the machine's speed; building the
// grammar at init was 3,572 of them.
func TestNothingHeavyAtInit(t *testing.T) {
	dir := t.TempDir()
	kopf := filepath.Join(dir, "kopf") // testscript.Main runs cli.Main under this name
	if err := os.Symlink(os.Args[0], kopf); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kopf, "next", "-n", "1", "--after", "2026-01-01T00:00:00Z", "*/5 * * * *")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kopf next: %v\n%s", err, stderr.Bytes())
	}
	if !strings.Contains(string(out), "2026-01-01") {
		t.Fatalf("kopf next printed %q", out)
	}
	seen := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init PKG @T ms, C ms clock, B bytes, A allocs
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || !strings.HasPrefix(f[1], "github.com/kopf/kopf/") {
			continue
		}
		seen++
		bytes, _ := strconv.Atoi(f[7])
		allocs, _ := strconv.Atoi(f[9])
		if allocs > 50 || bytes > 8<<10 {
			t.Errorf("%s allocates %d bytes in %d allocations at init; build it on first use", f[1], bytes, allocs)
		}
	}
	if seen < 3 {
		t.Fatalf("the init trace names %d of kopf's packages; is GODEBUG=inittrace still the format?\n%s", seen, stderr.Bytes())
	}
}
