package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWantCaret(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	tests := []struct {
		setting string
		want    bool
	}{
		{"1", true},
		{"true", true},
		{" 1 ", true},
		{"0", false},
		{"false", false},
		{"", false},    // a regular file is no terminal
		{"yes", false}, // not a boolean: detection decides
	}
	for _, tt := range tests {
		if got := wantCaret(tt.setting, file); got != tt.want {
			t.Errorf("wantCaret(%q, regular file) = %v, want %v", tt.setting, got, tt.want)
		}
	}
}
