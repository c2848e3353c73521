package config

import (
	"os/user"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// importCrontabs are crontabs with every kind of line kopf imports.
var importCrontabs = []struct {
	name string
	kind Crontab
	src  string
}{
	{"sample", UserCrontab, sampleCrontab},
	{"zones", UserCrontab, `# the machine's zone first
0 2 * * * local-two
30 2 * * 0 local-sunday
CRON_TZ=America/New_York
30 2 * * * ny-gap
0 1 1,15 * fri either-day
*/7 9-17/2 * jan,jul mon-fri steps
CRON_TZ=Australia/Lord_Howe
0,30 1-3 * * * half-hour-dst
HOME=/tmp
@reboot boot
@weekly weekly%in
`},
	{"system", SystemCrontab, `SHELL=/bin/sh
MAILTO=root,ops@example.com
17 * * * * root cd / && run-parts --report /etc/cron.hourly
25 6 * * * nobody test -x /usr/sbin/anacron || true
`},
}

// TestImportCrontab imports each crontab in both formats, reads the
// result as a config file, and checks that each imported job is the
// crontab line's job: the same command, shell, input, environment, user,
// mail and jitter, and — with kopf next's semantics — exactly the same
// fire instants over a year in its zone.
func TestImportCrontab(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody here")
	}
	t.Setenv("TZ", "Europe/Berlin")
	local, _ := time.LoadLocation("Europe/Berlin")
	for _, c := range importCrontabs {
		orig, _, err := ParseCrontab("crontab", []byte(c.src), c.kind)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// Read with the local zone as the crontab was: time.Local is
		// Europe/Berlin here only by TZ, which Go read at start.
		for _, j := range orig.Jobs {
			if j.Location == time.Local {
				j.Location = local
				for i, s := range j.Schedules {
					cs, _, err := compileSchedule(s.Source, j)
					if err != nil {
						t.Fatal(err)
					}
					j.Schedules[i].Compiled = cs
				}
			}
		}
		for _, format := range []string{"yaml", "json"} {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				out, err := ImportCrontab("crontab", []byte(c.src), c.kind, format)
				if err != nil {
					t.Fatal(err)
				}
				file := "kopf." + format
				cfg, _, err := Parse(file, out)
				if err != nil {
					t.Fatalf("the import does not parse: %v\n%s", err, out)
				}
				if len(cfg.Jobs) != len(orig.Jobs) {
					t.Fatalf("%d jobs imported, want %d:\n%s", len(cfg.Jobs), len(orig.Jobs), out)
				}
				byCommand := func(j *Job) string { return j.Command[len(j.Command)-1] }
				for _, want := range orig.Jobs {
					i := slices.IndexFunc(cfg.Jobs, func(j *Job) bool { return byCommand(j) == byCommand(want) })
					if i < 0 {
						t.Errorf("no imported job runs %q:\n%s", byCommand(want), out)
						continue
					}
					sameJob(t, want, cfg.Jobs[i], cfg.JitterSeed)
				}
			})
		}
	}
}

func sameJob(t *testing.T, want, got *Job, seed string) {
	t.Helper()
	envOf := func(env []string) []string {
		return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
			k, _, _ := strings.Cut(kv, "=")
			return slices.Contains(settingsEnvKeys, k)
		})
	}
	type view struct {
		Command, Env, MailTo  []string
		Stdin, User, MailFrom string
		Jitter                time.Duration
		Boot, Start           bool
		LogStart, LogOutput   bool
	}
	v := func(j *Job) view {
		u := ""
		if j.As() != nil {
			u = j.As().User
		}
		return view{j.Command, envOf(j.Env), j.MailTo, j.Stdin(), u, j.MailFrom, j.Jitter, j.OncePerBoot, j.RunOnStart, j.LogStart, j.LogOutput}
	}
	if diff := cmp.Diff(v(want), v(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("job %s (-crontab +imported):\n%s", got.Name, diff)
	}
	if want.JitterOffset("") != got.JitterOffset(seed) && want.Jitter > 0 {
		// the offset hashes the name, which the import changes: only the
		// bound is kept
		t.Logf("job %s: jitter offset differs with the name, as documented", got.Name)
	}
	if len(want.Schedules) != len(got.Schedules) {
		t.Fatalf("job %s: %d schedules, want %d", got.Name, len(got.Schedules), len(want.Schedules))
	}
	if len(want.Schedules) == 0 {
		return
	}
	if want.Location.String() != got.Location.String() {
		t.Errorf("job %s: zone %s, want %s", got.Name, got.Location, want.Location)
	}
	a, b := want.Schedules[0].Compiled, got.Schedules[0].Compiled
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at1, at2 := from, from
	for n := 0; ; n++ {
		var ok1, ok2 bool
		at1, ok1 = a.Next(at1)
		at2, ok2 = b.Next(at2)
		if ok1 != ok2 || !at1.Equal(at2) {
			t.Errorf("job %s: fire %d is %v (%t), the crontab line's %v (%t)", got.Name, n, at2, ok2, at1, ok1)
			return
		}
		if !ok1 || at1.After(from.AddDate(1, 0, 0)) {
			if n == 0 {
				t.Errorf("job %s never fires in a year", got.Name)
			}
			return
		}
	}
}

// TestImportKeepsCommentsAndLeftOutLines: the comments above a line go
// above its job, and a line kopf cannot read becomes a comment saying
// why; the error is returned too.
func TestImportKeepsCommentsAndLeftOutLines(t *testing.T) {
	src := "# nightly things\n\n# the backup\n0 3 * * * backup.sh\n61 * * * * broken\n# name: clean\n0 4 * * * rm -rf /tmp/x\n0 4 * * * rm -rf /tmp/x\n# the end\n"
	for _, format := range []string{"yaml", "json"} {
		out, err := ImportCrontab("crontab", []byte(src), UserCrontab, format)
		if err == nil || !strings.Contains(err.Error(), "crontab:5:1: 61 is out of range") {
			t.Errorf("%s: error %v, want line 5's", format, err)
		}
		mark := "#"
		if format == "json" {
			mark = "//"
		}
		text := string(out)
		for _, want := range []string{
			mark + " nightly things\n", mark + " the backup\n", mark + " the end\n",
			mark + " kopf import left out line 5: 61 is out of range for the minute field; expected 0 to 59\n",
			mark + " 61 * * * * broken\n",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: no %q in\n%s", format, want, text)
			}
		}
		cfg, _, err := Parse("kopf."+format, out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, out)
		}
		var names []string
		for _, j := range cfg.Jobs {
			names = append(names, j.Name)
		}
		if diff := cmp.Diff([]string{"backup.sh", "clean", "rm"}, names); diff != "" {
			t.Errorf("%s: names (-want +got):\n%s", format, diff)
		}
		if i := strings.Index(text, "backup.sh"); i < 0 || strings.Index(text, "the backup") > i {
			t.Errorf("%s: the comment is not above its job:\n%s", format, text)
		}
	}
}

// TestImportBytesThatAreNotText: a comment in Latin-1, and lines left out
// for a NUL or invalid UTF-8, are kept as comments with those bytes
// written \xNN: the output is still a config kopf reads (the YAML encoder
// panicked on invalid UTF-8 in a comment).
func TestImportBytesThatAreNotText(t *testing.T) {
	src := "# Sicherung f\xfcr die Datenbank\n0 3 * * * backup.sh\n0 4 * * * echo a\x00b\n# name: caf\xe9\n0 5 * * * clean\n"
	for _, format := range []string{"yaml", "json"} {
		out, err := ImportCrontab("crontab", []byte(src), UserCrontab, format)
		if err == nil || !strings.Contains(err.Error(), "crontab:3:17: a NUL byte") {
			t.Errorf("%s: error %v, want line 3's NUL", format, err)
		}
		mark := "#"
		if format == "json" {
			mark = "//"
		}
		for _, want := range []string{
			mark + ` Sicherung f\xfcr die Datenbank` + "\n",
			mark + ` 0 4 * * * echo a\x00b` + "\n",
			mark + ` # name: caf\xe9` + "\n",
		} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: no %q in\n%s", format, want, out)
			}
		}
		cfg, _, err := Parse("kopf."+format, out)
		if err != nil {
			t.Fatalf("%s: the output does not read back: %v\n%s", format, err, out)
		}
		if len(cfg.Jobs) != 2 {
			t.Errorf("%s: %d jobs, want backup.sh and clean", format, len(cfg.Jobs))
		}
	}
}
