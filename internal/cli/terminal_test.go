package cli

import (
	"os"
	"testing"
)

// TestDevNullIsNoTerminal: /dev/null is a character device, not a
// terminal; carets and text logs must not go there.
func TestDevNullIsNoTerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("/dev/null counts as a terminal")
	}
	if wantCaret("", f) {
		t.Error("carets go to /dev/null")
	}
	if !wantCaret("1", f) {
		t.Error("KOPF_CARET=1 is not obeyed")
	}
}
