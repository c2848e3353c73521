package lang

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the grammar in docs/language.md")

// The grammar in the docs is the one the parser uses.
func TestGrammarDocumented(t *testing.T) {
	const path = "../docs/language.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- grammar:begin -->\n", "<!-- grammar:end -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s has no grammar markers", path)
	}
	want := "```ebnf\n" + Grammar() + "\n```\n"
	got := string(doc[i+len(begin) : j])
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("the grammar in %s is out of date; run go test ./lang -run TestGrammarDocumented -update", path)
	}
	out := string(doc[:i+len(begin)]) + want + string(doc[j:])
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every name expectWords words is one the grammar has: a grammar node as
// participle names it, a token kind of the table, or a literal.
func TestExpectWordsNameTheGrammar(t *testing.T) {
	g := Grammar()
	for name := range expectWords() {
		if !strings.Contains(g, name) {
			t.Errorf("expectWords has %s, which the grammar does not name:\n%s", name, g)
		}
	}
}
