package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDocs keeps docs/config.md honest: its first example loads, in JSON
// and YAML alike, and its table of settings names exactly the keys kopf
// knows.
func TestDocs(t *testing.T) {
	doc := mustRead(t, "../../docs/config.md")
	block := func(fence string) string {
		_, after, ok := strings.Cut(doc, "```"+fence+"\n")
		if !ok {
			t.Fatalf("docs/config.md has no %s block", fence)
		}
		text, _, _ := strings.Cut(after, "```")
		return text
	}
	j := parse(t, "kopf.json", block("jsonc"))
	y := parse(t, "kopf.yaml", block("yaml"))
	if diff := cmp.Diff(j, y, cmpConfig, ignorePositions); diff != "" {
		t.Errorf("the JSON and YAML examples differ (-json +yaml):\n%s", diff)
	}

	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| \\[`([a-z-]+)`\\]").FindAllStringSubmatch(doc, -1) {
		documented = append(documented, m[1])
	}
	known := slices.Concat(jobKeys, procKeys)
	slices.Sort(known)
	known = slices.Compact(known)
	slices.Sort(documented)
	if diff := cmp.Diff(known, documented); diff != "" {
		t.Errorf("docs/config.md's table of settings mismatch (-known +documented):\n%s", diff)
	}
}

// The services-file examples of docs/config.md load as services files.
func TestDocsServiceExamples(t *testing.T) {
	doc := mustRead(t, "../../docs/config.md")
	_, section, ok := strings.Cut(doc, "### Services directories")
	if !ok {
		t.Fatal("docs/config.md has no section on services directories")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	blocks := regexp.MustCompile("(?s)```jsonc\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d examples, want at least 2", len(blocks))
	}
	for i, b := range blocks {
		if _, _, err := ParseService("example.json", []byte(b[1])); err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, b[1])
		}
	}
}

// The example of docs/config.md's Protos section loads, and means what the
// text after it says.
func TestDocsProtoExample(t *testing.T) {
	doc := mustRead(t, "../../docs/config.md")
	_, section, ok := strings.Cut(doc, "\n## Protos\n")
	if !ok {
		t.Fatal("docs/config.md has no section on protos")
	}
	_, block, _ := strings.Cut(section, "```jsonc\n")
	block, _, _ = strings.Cut(block, "```")
	cfg := parse(t, "kopf.json", block)
	if len(cfg.Procs) != 2 {
		t.Fatalf("got %d procs, want tor-a and tor-b", len(cfg.Procs))
	}
	b := cfg.Procs[1]
	want := []any{[]string{"./tor.bin", "-f", "tor.rc"}, "/srv/tor-b", time.Minute, []string{"ops@example.com"}, []string{"tor.bin"}, []string{"tor.rc"}}
	got := []any{b.Command, b.Dir, b.StopTime, b.MailTo, b.RestartOnChange, b.HUPOnChange}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tor-b (-want +got):\n%s", diff)
	}
}
