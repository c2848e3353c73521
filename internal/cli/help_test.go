package cli

import (
	"strings"
	"testing"
)

// Every command's help is in help/, fills in {{socket}}, and says how
// kopf exits; no file there is left over from a command that went.
func TestEveryCommandHasHelp(t *testing.T) {
	files := map[string]bool{"socket.txt": true, "completion.txt": true}
	for _, c := range commands {
		files[c.name+".txt"] = true
		text := helpText(c.name)
		if strings.Contains(text, "{{") {
			t.Errorf("%s: help has an unfilled placeholder:\n%s", c.name, text)
		}
		if !strings.Contains(text, "Exit status") {
			t.Errorf("%s: help does not say its exit statuses", c.name)
		}
		if !strings.HasSuffix(text, ".\n") {
			t.Errorf("%s: help does not end in one sentence and a newline: %q", c.name, text[max(0, len(text)-20):])
		}
	}
	entries, err := helpTexts.ReadDir("help")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !files[e.Name()] {
			t.Errorf("help/%s belongs to no command", e.Name())
		}
	}
}
