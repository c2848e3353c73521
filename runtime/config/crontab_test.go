package config

import (
	"context"
	"errors"
	"os"
	"os/user"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/job"
)

const sampleCrontab = `# m h dom mon dow command
SHELL=/bin/bash
MAILTO = "ops@example.com, root"
PATH='/usr/local/bin:/usr/bin:/bin'
GREETING = "hello  world"  
CRON_TZ=Europe/Berlin
RANDOM_DELAY=5

*/5 * * * * /usr/local/bin/poll --fast >/dev/null 2>&1
# name: report
30 6 * * mon-fri mail -s "report for \%d" me%Dear me,%%the report.
MAILTO=""
@daily  backup.sh
-@hourly    echo quiet
`

func parseCrontab(t *testing.T, src string, kind Crontab) *Config {
	t.Helper()
	cfg, warnings, err := ParseCrontab("crontab", []byte(src), kind)
	if err != nil {
		t.Fatalf("ParseCrontab: %v", err)
	}
	for _, w := range warnings {
		t.Logf("warning: %s", w)
	}
	return cfg
}

func jobNamed(t *testing.T, cfg *Config, prefix string) *Job {
	t.Helper()
	for _, j := range cfg.Jobs {
		if strings.HasPrefix(j.Name, prefix) {
			return j
		}
	}
	var names []string
	for _, j := range cfg.Jobs {
		names = append(names, j.Name)
	}
	t.Fatalf("no job named %s…; have %q", prefix, names)
	return nil
}

// TestCrontabRules reads a crontab with every kind of line and checks each
// of cronie's rules on the jobs it makes.
func TestCrontabRules(t *testing.T) {
	cfg := parseCrontab(t, sampleCrontab, UserCrontab)
	if len(cfg.Jobs) != 4 {
		t.Fatalf("%d jobs, want 4", len(cfg.Jobs))
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	env := []string{"CRON_TZ=Europe/Berlin", "GREETING=hello  world", "MAILTO=ops@example.com, root",
		"PATH=/usr/local/bin:/usr/bin:/bin", "RANDOM_DELAY=5", "SHELL=/bin/bash"}

	poll := jobNamed(t, cfg, "crontab:poll-")
	if diff := cmp.Diff([]string{"/bin/bash", "-c", "/usr/local/bin/poll --fast >/dev/null 2>&1"}, poll.Command); diff != "" {
		t.Errorf("poll's command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(env, poll.Env); diff != "" {
		t.Errorf("poll's env (-want +got):\n%s", diff)
	}
	if poll.Location.String() != berlin.String() || poll.Jitter != 5*time.Minute || poll.Overlap != job.Skip || !poll.LogOutput || !poll.LogStart || poll.Stdin() != "" {
		t.Errorf("poll: zone %v, jitter %v, overlap %v, log-output %t, log-start %t, stdin %q", poll.Location, poll.Jitter, poll.Overlap, poll.LogOutput, poll.LogStart, poll.Stdin())
	}
	if diff := cmp.Diff([]string{"ops@example.com", "root"}, poll.MailTo); diff != "" {
		t.Errorf("poll's mail-to (-want +got):\n%s", diff)
	}
	if got := poll.Schedules[0].Source; got != "*/5 * * * *" {
		t.Errorf("poll's schedule %q", got)
	}

	report := jobNamed(t, cfg, "report")
	if report.Name != "report" || report.Pos.Line != 11 {
		t.Errorf("report named %q at %s, want report at line 11, below its # name: comment", report.Name, report.Pos)
	}
	if got, want := report.Command[2], `mail -s "report for %d" me`; got != want {
		t.Errorf("report's command %q, want %q", got, want)
	}
	if got, want := report.Stdin(), "Dear me,\n\nthe report.\n"; got != want {
		t.Errorf("report's stdin %q, want %q", got, want)
	}
	fires := report.Schedules[0].Compiled
	if next, _ := fires.Next(time.Date(2026, 12, 5, 12, 0, 0, 0, berlin)); !next.Equal(time.Date(2026, 12, 7, 6, 30, 0, 0, berlin)) {
		t.Errorf("report's next fire after Saturday noon is %v, want Monday 06:30 in Berlin", next)
	}

	backup := jobNamed(t, cfg, "crontab:backup.sh-")
	if backup.MailTo != nil || !slicesContain(backup.Env, "MAILTO=") {
		t.Errorf("backup after MAILTO=\"\": mail-to %q, env %q", backup.MailTo, backup.Env)
	}
	quiet := jobNamed(t, cfg, "crontab:echo-")
	if quiet.LogStart {
		t.Errorf("a '-' line logs its start")
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCrontabPercent follows cronie's do_command: the first unescaped '%'
// ends the command, the rest is standard input with '%' as newlines.
func TestCrontabPercent(t *testing.T) {
	// The input ends in a newline unless the last character cronie wrote
	// in its loop was one (or it wrote none); a trailing backslash comes
	// after that newline is decided, and an escape's backslash does not
	// count.
	tests := []struct{ in, cmd, stdin string }{
		{`date +\%F`, `date +%F`, ""},
		{`cat%a%b`, `cat`, "a\nb\n"},
		{`cat%a\%b%`, `cat`, "a%b\n"},
		{`echo \n\%%x\y`, `echo \n%`, "x\\y\n"},
		{`echo \\%in`, `echo \\`, "in\n"},
		{`cat%\\\\%`, `cat`, "\\\\\\%\n"}, // each backslash after a backslash is kept, and escapes again
		{`cat%end\`, `cat`, "end\\\n"},
		{`cat%\\\\`, `cat`, `\\\\`}, // only escapes' backslashes: no newline
		{`cat%a%\`, `cat`, "a\n\\"}, // the newline came last; the backslash after it
		{`cat%`, `cat`, ""},
	}
	for _, tt := range tests {
		cmd, stdin := cronCommand(tt.in)
		if cmd != tt.cmd || stdin != tt.stdin {
			t.Errorf("cronCommand(%q) = %q, %q; want %q, %q", tt.in, cmd, stdin, tt.cmd, tt.stdin)
		}
	}
}

// TestCrontabEnvLines follows cronie's load_env: what is an assignment,
// and what is a command line.
func TestCrontabEnvLines(t *testing.T) {
	tests := []struct {
		line, name, value string
		ok                bool
	}{
		{`A=b`, "A", "b", true},
		{`A = b c  `, "A", "b c", true},
		{`A=" b "`, "A", " b ", true},
		{`A=''`, "A", "", true},
		{`"A B"=x`, "A B", "x", true},
		{`A=`, "", "", false},
		{`A="b" c`, "", "", false},
		{`A="b`, "", "", false},
		{`"A=B"=x`, "", "", false},
		{`0 * * * * A=b cmd`, "", "", false},
		{`@daily FOO=1 run`, "", "", false},
	}
	for _, tt := range tests {
		name, value, _, ok := cronEnv(tt.line)
		if ok != tt.ok || name != tt.name || value != tt.value {
			t.Errorf("cronEnv(%q) = %q, %q, %t; want %q, %q, %t", tt.line, name, value, ok, tt.name, tt.value, tt.ok)
		}
	}
}

// TestCrontabErrors: each bad line is said at its place, and the good lines
// still make jobs.
func TestCrontabErrors(t *testing.T) {
	src := "0 4 * * * good\n" +
		"61 * * * * bad minute\n" +
		"* * * * * * six fields\n" +
		"@fortnightly x\n" +
		"0 4 * *\n" +
		"CRON_TZ=Mars/Olympus\n" +
		"MAILTO=\n" +
		"RANDOM_DELAY=soon\n" +
		"0 5 * * * %stdin only\n" +
		"0 6 * * * also good\n" +
		"0 7 * * * no newline"
	cfg, warnings, err := ParseCrontab("crontab", []byte(src), UserCrontab)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		got = append(got, e.Error())
	}
	want := []string{
		`crontab:2:1: 61 is out of range for the minute field; expected 0 to 59`,
		`crontab:3:11: the command starts with '*': a sixth time field? A crontab line has five (minute hour day-of-month month day-of-week)`,
		`crontab:4:1: unknown schedule "@fortnightly"; a crontab takes five time fields or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot`,
		`crontab:5:8: expected five time fields (minute hour day-of-month month day-of-week) and a command, found 4 fields`,
		`crontab:6:9: unknown time zone "Mars/Olympus" in CRON_TZ; expected an IANA name like Europe/Berlin (the lines below keep the zone above)`,
		`crontab:7:1: MAILTO= assigns nothing in a crontab, and cron reads the line as a command; write MAILTO="" for an empty value`,
		`crontab:8:14: RANDOM_DELAY must be a whole number of minutes, found "soon"`,
		`crontab:9:11: the command is empty: it starts with '%', which begins its standard input`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	var names []string
	for _, j := range cfg.Jobs {
		names = append(names, j.Command[2])
	}
	if diff := cmp.Diff([]string{"also good", "good", "no newline"}, sortedCopy(names)); diff != "" {
		t.Errorf("the good lines' jobs (-want +got):\n%s", diff)
	}
	// MAILTO= is not an assignment: the file has none.
	if len(warnings) != 2 || warnings[0].Pos.Line != 11 || !strings.Contains(warnings[0].Msg, "cronie ignores") ||
		warnings[1].Pos.Line != 1 || !strings.HasPrefix(warnings[1].Msg, "no MAILTO, and no ") {
		t.Errorf("warnings %v, want the last line's missing newline, and no MAILTO at the first job", warnings)
	}
	_, warnings, _ = ParseCrontab("crontab", []byte("MAILTO=\"\"\nH 4 * * * x\n"), UserCrontab)
	if len(warnings) != 1 || warnings[0].String() != "crontab:2:1: warning: H is kopf's hashed field: cronie refuses this line" {
		t.Errorf("warnings %v, want one about H", warnings)
	}
}

func sortedCopy(s []string) []string { return sorted(append([]string(nil), s...)) }

// TestCrontabNamesAreStable: inserting, deleting and editing other lines
// leaves a line's job name as it was; identical lines get -2, -3.
func TestCrontabNamesAreStable(t *testing.T) {
	names := func(src string) map[string]string {
		byCmd := map[string]string{}
		for _, j := range parseCrontab(t, src, UserCrontab).Jobs {
			byCmd[j.Name] = j.Command[2]
		}
		return byCmd
	}
	before := names("0 1 * * * a\n0 2 * * * b\n0 3 * * * c\n")
	after := names("# new\nX=1\n0 0 * * * new\n0 1 * * * a\n0 3 * * * c\n0 2 * * * b\n")
	for name, cmd := range before {
		if after[name] != cmd {
			t.Errorf("job %s (%s) is gone after edits elsewhere: %v", name, cmd, after)
		}
	}
	edited := names("0 1 * * * a\n0 2 * * * b --now\n0 3 * * * c\n")
	changed := 0
	for name := range before {
		if _, ok := edited[name]; !ok {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("editing one line renamed %d jobs, want 1", changed)
	}
	dups := parseCrontab(t, "0 1 * * * a\n0 1 * * * a\n", UserCrontab).Jobs
	if len(dups) != 2 || dups[1].Name != dups[0].Name+"-2" {
		t.Errorf("identical lines named %q and %q", dups[0].Name, dups[1].Name)
	}
}

// TestSystemCrontab: the user field, looked up and switched to.
func TestSystemCrontab(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	cfg, _, err := ParseCrontab("cron.d/app", []byte("17 * * * * nobody cd / && run-parts --report /etc/cron.hourly\n@reboot root echo up\n0 * * * * no-such-user-kopf x\n"), SystemCrontab)
	if err == nil || err.Error() != `cron.d/app:3:11: no user named "no-such-user-kopf" on this machine; the line is left out` {
		t.Errorf("error %v, want the unknown user at 3:11", err)
	}
	if len(cfg.Jobs) != 2 {
		t.Fatalf("%d jobs, want 2", len(cfg.Jobs))
	}
	hourly := jobNamed(t, cfg, "app:cd-")
	home := nobody.HomeDir
	if _, err := os.Stat(home); err != nil {
		home = "/" // nobody's /nonexistent: kopf runs it in /
	}
	if hourly.As() == nil || hourly.As().User != "nobody" || hourly.Dir != home {
		t.Errorf("the hourly line runs as %v in %q, want nobody in %s", hourly.As(), hourly.Dir, home)
	}
	reboot := jobNamed(t, cfg, "app:echo-")
	if !reboot.RunOnStart || !reboot.OncePerBoot || len(reboot.Schedules) != 0 {
		t.Errorf("@reboot: run-on-start %t, once per boot %t, %d schedules", reboot.RunOnStart, reboot.OncePerBoot, len(reboot.Schedules))
	}
	geteuid = func() int { return 1000 }
	defer func() { geteuid = defaultGeteuid }()
	_, _, err = ParseCrontab("cron.d/app", []byte("17 * * * * nobody true\n"), SystemCrontab)
	if err == nil || !strings.Contains(err.Error(), `cron.d/app:1:12: kopf runs as uid 1000, not root, so it cannot run this line as "nobody"`) {
		t.Errorf("not root: %v", err)
	}
}

// A system crontab's users are looked up once per parse, however many
// lines name them, and a user that does not exist is still an error at
// each line that names it (each of those lines is left out).
func TestSystemCrontabLooksUpEachUserOnce(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody here")
	}
	lookups := map[string]int{}
	resolveUser = func(id *Identity) (*Credentials, error) {
		lookups[id.User]++
		return id.Resolve()
	}
	defer func() { resolveUser = (*Identity).Resolve }()
	src := "1 * * * * root a\n2 * * * * nobody b\n3 * * * * no-such-user-kopf c\n4 * * * * root d\n5 * * * * nobody e\n6 * * * * no-such-user-kopf f\n"
	cfg, _, err := ParseCrontab("cron.d/app", []byte(src), SystemCrontab)
	want := `cron.d/app:3:11: no user named "no-such-user-kopf" on this machine; the line is left out (and 1 more errors)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	var list lang.ErrorList
	if errors.As(err, &list) && (len(list) != 2 || list[1].Pos.Line != 6 || list[1].Pos.Col != 11) {
		t.Errorf("errors %v, want the unknown user at 3:11 and 6:11", list)
	}
	if len(cfg.Jobs) != 4 {
		t.Errorf("%d jobs, want the 4 of root and nobody", len(cfg.Jobs))
	}
	if diff := cmp.Diff(map[string]int{"root": 1, "nobody": 1, "no-such-user-kopf": 1}, lookups); diff != "" {
		t.Errorf("lookups per user (-want +got):\n%s", diff)
	}
}

// stopAfter is a context whose Err turns to context.Canceled at its nth
// call: a signal that comes while a parse is under way.
type stopAfter struct {
	context.Context
	n int
}

func (c *stopAfter) Err() error {
	if c.n--; c.n <= 0 {
		return context.Canceled
	}
	return nil
}

// A parse stops, between lines, when its context is done, and returns
// nothing but the context's error; done only after the last line, it
// changes nothing.
func TestParseCrontabContextStops(t *testing.T) {
	src := cronDFile(5000)
	cfg, warnings, err := ParseCrontabContext(&stopAfter{context.Background(), 2}, "cron.d/big", src, SystemCrontab)
	if !errors.Is(err, context.Canceled) || cfg != nil || warnings != nil {
		t.Errorf("stopped during the parse: %v jobs, %d warnings, error %v; want nothing and context.Canceled", cfg, len(warnings), err)
	}
	cfg, _, err = ParseCrontabContext(&stopAfter{context.Background(), 1 << 30}, "cron.d/big", src, SystemCrontab)
	if err != nil || len(cfg.Jobs) < 4000 {
		t.Errorf("not stopped: error %v, want the file's jobs", err)
	}
}

// TestCrontabBytes: a NUL byte anywhere, and invalid UTF-8 anywhere but
// in a plain comment, are errors at the offending byte (the column counts
// the runes before it), and leave their line out; invalid UTF-8 in a plain
// comment is a warning. The other lines run.
func TestCrontabBytes(t *testing.T) {
	src := "MAILTO=\"\"\n" +
		"0 4 * * * good\n" +
		"0 5 * * * echo a\x00b\n" +
		"\x00\n" +
		"# name: caf\xe9\n" +
		"0 6 * * * named by its hash\n" +
		"# Sicherung f\xfcr die Datenbank\n" +
		"# zero \x00 here\n" +
		"X=\xff\n" +
		"0 7 * * * echo \u00e9t\u00e9 \xff\n" +
		"  \t0 8 * * * \xfe indented\n" +
		"# caf\xe9 \x00\n" +
		"0 9 * * * also good\n"
	cfg, warnings, err := ParseCrontab("crontab", []byte(src), UserCrontab)
	var list lang.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v, want a lang.ErrorList", err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Error())
	}
	const latin1 = "kopf reads a crontab as UTF-8 (is this file in another encoding, like Latin-1?)"
	const nul = "a NUL byte: no command, variable or field can hold one, and cron would cut the line there; the line is left out"
	want := []string{
		"crontab:3:17: " + nul,
		"crontab:4:1: " + nul,
		`crontab:5:12: invalid UTF-8 (byte 0xe9) in "# name:": a job's name is text; the line below keeps the name kopf gives it`,
		"crontab:8:8: a NUL byte in a comment: a crontab is text (is this file binary, or damaged?)",
		"crontab:9:3: invalid UTF-8 (byte 0xff): " + latin1 + "; the line is left out",
		"crontab:10:20: invalid UTF-8 (byte 0xff): " + latin1 + "; the line is left out",
		"crontab:11:14: invalid UTF-8 (byte 0xfe): " + latin1 + "; the line is left out",
		"crontab:12:8: a NUL byte in a comment: a crontab is text (is this file binary, or damaged?)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	for _, e := range list {
		if wantOff := newSource("crontab", []byte(src)).pos(e.Pos.Offset); e.Pos != wantOff || src[e.Pos.Offset] != 0 && src[e.Pos.Offset] < 0x80 {
			t.Errorf("%s: at offset %d (%q), not at the offending byte", e, e.Pos.Offset, src[e.Pos.Offset])
		}
	}
	if len(warnings) != 1 || warnings[0].String() != "crontab:7:14: warning: invalid UTF-8 (byte 0xfc) in a comment: "+latin1 {
		t.Errorf("warnings %v, want the Latin-1 comment's at 7:14", warnings)
	}
	var commands []string
	for _, j := range cfg.Jobs {
		commands = append(commands, j.Command[2])
		if slicesContain(j.Env, "X=\xff") || strings.HasPrefix(j.Name, "caf") {
			t.Errorf("job %q: env %q; the bad assignment or name was taken", j.Name, j.Env)
		}
	}
	if diff := cmp.Diff([]string{"also good", "good", "named by its hash"}, sortedCopy(commands)); diff != "" {
		t.Errorf("the good lines' jobs (-want +got):\n%s", diff)
	}
}

// Every reading of a CRON_TZ names the same *time.Location: compile keeps
// its zone tables by Location, and a fresh one at each line of each
// reading built a table each time (a CRON_TZ above every line of a 10k-line
// file took 3 s) and kept it for good.
func TestCronTZSharesItsLocation(t *testing.T) {
	src := "MAILTO=\"\"\nCRON_TZ=Europe/Berlin\n0 4 * * * a\nCRON_TZ=Europe/Berlin\n1 4 * * * b\n"
	first := parseCrontab(t, src, UserCrontab)
	again := parseCrontab(t, src, UserCrontab)
	loc := first.Jobs[0].Location
	for _, j := range append(first.Jobs, again.Jobs...) {
		if j.Location != loc {
			t.Errorf("job %s: its Location is another *time.Location for %s", j.Name, loc)
		}
	}
}

// A home directory that does not exist is one warning, at the first line
// that runs there, however many lines do; each runs in /.
func TestMissingHomeWarnsOnce(t *testing.T) {
	resolveUser = func(id *Identity) (*Credentials, error) {
		return &Credentials{User: id.User, Home: "/nonexistent-kopf-" + id.User}, nil
	}
	defer func() { resolveUser = (*Identity).Resolve }()
	src := "MAILTO=\"\"\n1 * * * * a x\n2 * * * * b x\n3 * * * * a x\n4 * * * * a x\n"
	cfg, warnings, err := ParseCrontab("cron.d/app", []byte(src), SystemCrontab)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.String())
	}
	want := []string{
		"cron.d/app:2:1: warning: the home directory /nonexistent-kopf-a does not exist: cronie would not run this line nor the 2 more below that run there, kopf runs them in /",
		"cron.d/app:3:1: warning: the home directory /nonexistent-kopf-b does not exist: cronie would not run this line, kopf runs it in /",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, j := range cfg.Jobs {
		if j.Dir != "/" {
			t.Errorf("job %s runs in %q, want /", j.Name, j.Dir)
		}
	}
}

// TestCrontabFollowsCron: a crontab's lines run as cron runs them — their
// environment is the crontab's and cron's, not kopf's; what they leave in
// the background lives on; without MAILTO, where there is a sendmail,
// the output goes to the line's user; and LOGNAME and USER stay the
// user's, whatever the crontab assigns.
func TestCrontabFollowsCron(t *testing.T) {
	self, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	for _, sendmail := range []bool{true, false} {
		old := hasSendmail
		hasSendmail = func() bool { return sendmail }
		src := "LOGNAME=someone\n0 4 * * * first\nMAILTO=ops@example.com\n0 5 * * * second\nMAILTO=\"\"\n0 6 * * * third\n"
		cfg, warnings, err := ParseCrontab("crontab", []byte(src), UserCrontab)
		hasSendmail = old
		if err != nil {
			t.Fatal(err)
		}
		mail := map[string][]string{}
		for _, j := range cfg.Jobs {
			if !j.CleanEnv || !j.KeepLeftovers {
				t.Errorf("%s: CleanEnv %t, KeepLeftovers %t; want cron's environment and leftovers kept", j.Name, j.CleanEnv, j.KeepLeftovers)
			}
			if slices.ContainsFunc(j.Env, func(kv string) bool { return strings.HasPrefix(kv, "LOGNAME=") }) {
				t.Errorf("%s: env %q has the crontab's LOGNAME", j.Name, j.Env)
			}
			mail[j.Command[2]] = j.MailTo
		}
		want := map[string][]string{"first": {self.Username}, "second": {"ops@example.com"}, "third": nil}
		if !sendmail {
			want["first"] = nil
		}
		if diff := cmp.Diff(want, mail); diff != "" {
			t.Errorf("sendmail %t: mail-to (-want +got):\n%s", sendmail, diff)
		}
		if len(warnings) == 0 || warnings[0].String() != "crontab:1:1: warning: LOGNAME is the user each line runs as, which cron sets itself: this line has no effect" {
			t.Errorf("warnings %v, want one at LOGNAME=", warnings)
		}
	}
}
