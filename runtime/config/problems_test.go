package config

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// problems parses src and returns its errors, then its warnings, as the
// strings kopf check prints.
func problems(t *testing.T, file, src string) []string {
	t.Helper()
	return problemsOf(t, Parse, file, src)
}

// problemsOf is problems for any of the package's parsers.
func problemsOf(t *testing.T, parse func(string, []byte) (*Config, []compile.Warning, error), file, src string) []string {
	t.Helper()
	cfg, warnings, err := parse(file, []byte(src))
	var out []string
	if err != nil {
		var list lang.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("parsing %s: error %v is not a lang.ErrorList", file, err)
		}
		if cfg != nil {
			t.Errorf("parsing %s returned a config with errors", file)
		}
		for _, e := range list {
			if e.Pos.Filename != file {
				t.Errorf("error %q has file %q, want %q", e, e.Pos.Filename, file)
			}
			out = append(out, e.Error())
		}
	}
	for _, w := range warnings {
		out = append(out, w.String())
	}
	return out
}

type problemTest struct {
	name string
	file string // k.json when empty
	src  string
	want []string
}

func runProblems(t *testing.T, tests []problemTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "k.json"
			}
			got := problems(t, file, tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
