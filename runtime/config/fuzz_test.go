package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kopf/kopf/lang"
)

// FuzzParse feeds arbitrary files to both formats: Parse must not panic,
// and every error and warning must carry a position inside the file whose
// line and column agree with its offset.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*", "../../examples/*"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(string(b))
			}
		}
	}
	f.Add(`{"jobs": {"a": {"schedule": "every\t1d \u0040 25:00", "cron": {"70": "x"}}}}`)
	f.Add("jobs:\n  a: {schedule: \"every\\t1d \\x40 25:00\", cron: ['0 ''17']}\n")
	f.Add(`{"protos": {"a": {"proto": ["a", "b"], "ports": "h"}, "b": {"cron": "70"}}, "procs": {"p": {"proto": ["a", "c"], "command": "{{ports[x]}} {{ports[", "env": {"A": "{{ports[]}}"}, "health": {"http": "/", "interval": 0}, "hup-on-change": "x", "restart-on-change": "./x"}}}`)
	f.Add("protos:\n  t: {ports: [http], health: {http: 'http://[::1]:{{ports[htp]}}/'}}\nprocs:\n  p: {proto: t, command: \"\\t{{ports[http}}\"}\n")
	f.Fuzz(func(t *testing.T, src string) {
		for _, file := range []string{"f.json", "f.yaml"} {
			_, warnings, err := Parse(file, []byte(src))
			s := newSource(file, []byte(src))
			check := func(what string, p lang.Pos) {
				if !p.IsValid() || p.Filename != file || p.Offset < 0 || p.Offset > len(src) {
					t.Fatalf("%s: %s has a bad position %#v", file, what, p)
				}
				if want := s.pos(p.Offset); want != p {
					t.Fatalf("%s: %s at %#v, but its offset is at %#v", file, what, p, want)
				}
			}
			var list lang.ErrorList
			if err != nil {
				if !errors.As(err, &list) {
					t.Fatalf("%s: error %v is not a lang.ErrorList", file, err)
				}
				for _, e := range list {
					check(e.Msg, e.Pos)
				}
			}
			for _, w := range warnings {
				check(w.Msg, w.Pos)
			}
		}
	})
}
