package config

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDocs keeps docs/config.md honest: its first example loads, in JSON
// and YAML alike.
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

}

var update = flag.Bool("update", false, "rewrite docs/config.md's table of settings from the table in settings.go")

// TestSettingsTable keeps docs/config.md's table of settings the one in
// settings.go, row for row; -update writes it.
func TestSettingsTable(t *testing.T) {
	const path = "../../docs/config.md"
	doc := mustRead(t, path)
	const head = "| key | for | type | default |\n|---|---|---|---|\n"
	start := strings.Index(doc, head)
	if start < 0 {
		t.Fatal("docs/config.md has no table of settings")
	}
	end := start + len(head)
	for end < len(doc) && doc[end] == '|' {
		end += strings.IndexByte(doc[end:], '\n') + 1
	}
	var b strings.Builder
	b.WriteString(head)
	for _, s := range settings {
		anchor := s.doc
		if anchor == "" {
			anchor = s.key
		}
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", s.key, anchor, s.kinds, s.typ, s.def)
	}
	if want := b.String(); doc[start:end] != want {
		if *update {
			if err := os.WriteFile(path, []byte(doc[:start]+want+doc[end:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("docs/config.md's table of settings is not settings.go's; run go test ./runtime/config -run TestSettingsTable -update\n(-docs +settings.go):\n%s",
			cmp.Diff(doc[start:end], want))
	}
	// Every row's link goes to a section of the page.
	for _, s := range settings {
		anchor := s.doc
		if anchor == "" {
			anchor = s.key
		}
		if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(anchor) + `$`).MatchString(strings.ToLower(doc)) {
			t.Errorf("docs/config.md has no section %q for %q", anchor, s.key)
		}
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
