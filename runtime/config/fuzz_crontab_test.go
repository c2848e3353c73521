package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// trickyCrontabLines are lines at the edges of the crontab grammar, each a
// seed alone and all together.
var trickyCrontabLines = []string{
	"0 5 * * * echo a\x00b",
	"# name: caf\xe9",
	"# Sicherung f\xfcr",
	"# zero \x00 here",
	"X=\xff",
	"\x00",
	"0 7 * * * echo \u00e9t\u00e9 \xff",
	"  \t0 8 * * * \xfe indented",
	"# name:",
	"#name:x",
	"# name: a\n# name: a\n0 1 * * * x\n0 2 * * * y",
	"0 4 * * * cat%a\\%b%%c\\",
	"0 4 * * * %only stdin",
	"MAILTO=",
	"MAILTO = \" root , a@b.c ,\"",
	"MAILTO=<>",
	"'A B' = ' c '",
	"\"A=B\"=x",
	"A=\"b\" c",
	"SHELL=''",
	"CRON_TZ=Local",
	"CRON_TZ=America/New_York\n30 2 * * * dst",
	"RANDOM_DELAY=-1",
	"RANDOM_DELAY=99999999999999999999",
	"-@hourly quiet",
	"-",
	"@reboot",
	"@fortnightly x",
	"@",
	"* * * * * * six",
	"*/0 * * * * zero step",
	"H H(0-3) * * * hashed",
	"61 * * * * x",
	"0 0 31 2 * never",
	"1-5/2,7 */3 1,15 jan-mar mon-fri x",
	"0 4 * *",
	"0 4 * * *\t",
	"0 4 * * * root",
	"0 4 * * * no-such-user-kopf x",
	"0 4 * * * nobody x",
	"0 4 * * * 0 numeric user",
	"0 4 * * * *x",
	"0 4 * * * \r",
	"0 4 * * * x\r",
	"\r",
	"\u00a0\u2003",
	"0\u00a04 * * * * nbsp",
	"0 4 * * * x\x7f\x1b[0m",
	"0 4 * * * " + strings.Repeat("a", 300),
	strings.Repeat("\t", 40) + "#",
}

// crontabSeeds are the crontabs of this package's tests, the example, the
// CLI's script tests, and the tricky lines, each alone. They are small on
// purpose: the fuzzer minimizes each input that finds something new, in
// time quadratic in its length, for up to a minute.
func crontabSeeds(f *testing.F) []string {
	seeds := []string{sampleCrontab, string(cronDFile(8))}
	for _, c := range importCrontabs {
		seeds = append(seeds, c.src)
	}
	seeds = append(seeds, trickyCrontabLines...)
	if b, err := os.ReadFile("../../examples/crontab"); err == nil {
		seeds = append(seeds, string(b))
	}
	scripts, _ := filepath.Glob("../../internal/cli/testdata/script/*.txtar")
	for _, path := range scripts {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if strings.HasSuffix(file.Name, ".cron") || strings.Contains(file.Name, ".d/") {
				seeds = append(seeds, string(file.Data))
			}
		}
	}
	return seeds
}

// FuzzParseCrontab feeds arbitrary files to ParseCrontab, as a user or as
// a system crontab. It must not panic; every error and warning is at a
// position inside the file whose line and column agree with its offset;
// every job's command, environment, directory and name hold no NUL and
// are UTF-8, and its schedule compiles again from its text; and a second
// parse of the same bytes says the same.
func FuzzParseCrontab(f *testing.F) {
	for _, s := range crontabSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	// The users are root, nobody and any number: a random name looked up
	// through NSS costs 100 µs or more, most of an execution, and its
	// answer is the machine's, not the parser's.
	resolveUser = fuzzUsers
	f.Cleanup(func() { resolveUser = (*Identity).Resolve })
	f.Fuzz(func(t *testing.T, src string, system bool) {
		kind := UserCrontab
		if system {
			kind = SystemCrontab
		}
		first := checkCrontab(t, src, kind)
		if again := checkCrontab(t, src, kind); again != first {
			t.Fatalf("kind %d: two parses differ:\n%s\n---\n%s", kind, first, again)
		}
	})
}

func fuzzUsers(id *Identity) (*Credentials, error) {
	switch id.User {
	case "root":
		return &Credentials{User: "root", Home: "/"}, nil
	case "nobody":
		return &Credentials{Uid: 65534, Gid: 65534, User: "nobody", Home: "/nonexistent"}, nil
	}
	if n, err := strconv.ParseUint(id.User, 10, 32); err == nil {
		return &Credentials{Uid: uint32(n), Gid: uint32(n)}, nil
	}
	return nil, fmt.Errorf("no user named %q on this machine", id.User)
}

// checkCrontab parses src and checks the invariants of FuzzParseCrontab;
// it returns what the parse found, as text, for the comparison of two.
func checkCrontab(t *testing.T, src string, kind Crontab) string {
	const file = "cron.d/f"
	cfg, warnings, err := ParseCrontab(file, []byte(src), kind)
	s := newSource(file, []byte(src))
	var out strings.Builder
	check := func(what string, p lang.Pos) {
		if !p.IsValid() || p.Filename != file || p.Offset < 0 || p.Offset > len(src) {
			t.Fatalf("kind %d: %s has a bad position %#v", kind, what, p)
		}
		if want := s.pos(p.Offset); want != p {
			t.Fatalf("kind %d: %s at %#v, but its offset is at %#v", kind, what, p, want)
		}
		fmt.Fprintf(&out, "%s: %s\n", p, what)
	}
	if err != nil {
		var list lang.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("kind %d: error %v is not a lang.ErrorList", kind, err)
		}
		for _, e := range list {
			check(e.Msg, e.Pos)
		}
	}
	for _, w := range warnings {
		check("warning: "+w.Msg, w.Pos)
	}
	if cfg == nil {
		if len(src) <= MaxFileSize {
			t.Fatalf("kind %d: no config for a file of %d bytes", kind, len(src))
		}
		return out.String()
	}
	compiled := map[string]bool{} // what compiled again, by schedule, zone and name
	for _, j := range cfg.Jobs {
		check("job "+j.Name, j.Pos)
		text := func(what, s string) {
			if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
				t.Fatalf("kind %d: job %q: %s %q holds a NUL or invalid UTF-8", kind, j.Name, what, s)
			}
		}
		text("name", j.Name)
		text("dir", j.Dir)
		for _, a := range j.Command {
			text("command", a)
		}
		for _, kv := range j.Env {
			text("env", kv)
		}
		if len(j.Command) != 3 || j.Command[1] != "-c" || strings.TrimSpace(j.Command[2]) == "" {
			t.Fatalf("kind %d: job %q: command %q, want SHELL -c COMMAND", kind, j.Name, j.Command)
		}
		if len(j.Schedules) == 0 && !j.RunOnStart {
			t.Fatalf("kind %d: job %q has no schedule and is no @reboot", kind, j.Name)
		}
		for _, sc := range j.Schedules {
			check("schedule "+sc.Source, sc.Pos)
			key := sc.Source + "\x00" + j.Location.String()
			if strings.Contains(sc.Source, "H") {
				key += "\x00" + j.Name // H hashes the name
			}
			if compiled[key] {
				continue
			}
			compiled[key] = true
			ast, err := lang.Parse(sc.Source)
			if err == nil {
				_, err = compile.CompileWith(ast, compile.Options{Location: j.Location, Name: j.Name})
			}
			if err != nil || sc.Compiled == nil {
				t.Fatalf("kind %d: job %q: schedule %q does not compile again: %v", kind, j.Name, sc.Source, err)
			}
		}
		fmt.Fprintf(&out, "job %q %q %q %q %v\n", j.Name, j.Command, j.Env, j.Dir, j.Location)
	}
	return out.String()
}
