package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/mail"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/job"
)

// Crontab is what a crontab file is: a user's, whose lines run as kopf's
// own user, or a system one (/etc/crontab, /etc/cron.d/*), whose lines
// name the user they run as after the five time fields.
type Crontab int

const (
	UserCrontab Crontab = iota
	SystemCrontab
)

// cronDefaultPath is the PATH cronie gives a job whose crontab sets none
// (kopf passes its own; see docs/crontab.md).
const cronDefaultPath = "/usr/bin:/bin"

// ParseCrontab reads a crontab with cronie's rules (docs/crontab.md): one
// job per line, the environment assignments above a line applying to it.
// Unlike Parse it returns the jobs of the valid lines also when other lines
// have errors: a line's mistake does not stop the others, as in cron. The
// errors are a lang.ErrorList positioned FILE:LINE:COL.
//
// A job's name is the file's base name, the command's program and a hash
// of the line (crontab:backup-3f9a1c), so that it does not change when
// other lines are edited, inserted or deleted; a comment "# name: NAME"
// right above a line names its job instead.
func ParseCrontab(filename string, src []byte, kind Crontab) (*Config, []compile.Warning, error) {
	return ParseCrontabContext(context.Background(), filename, src, kind)
}

// ParseCrontabContext is ParseCrontab that gives up when ctx is done,
// returning nil and ctx's error: a file of the largest size kopf reads
// takes seconds, and a daemon told to stop while it reads one must not
// read on past its stop time.
func ParseCrontabContext(ctx context.Context, filename string, src []byte, kind Crontab) (*Config, []compile.Warning, error) {
	if err := checkSize(filename, len(src)); err != nil {
		return nil, nil, err
	}
	p := newCrontabParser(filename, src, kind)
	if err := p.parse(ctx, src); err != nil {
		return nil, nil, err
	}
	p.warnMissingHomes()
	p.warnNoMailto()
	cfg := &Config{File: filename, Jobs: p.jobs}
	sortByName(cfg.Jobs)
	sort.SliceStable(p.errs, func(i, k int) bool { return p.errs[i].Pos.Offset < p.errs[k].Pos.Offset })
	return cfg, p.warnings, p.errs.Err()
}

func newCrontabParser(filename string, src []byte, kind Crontab) *crontabParser {
	return &crontabParser{
		file: filename, kind: kind, src: newSource(filename, src),
		env:   map[string]string{},
		shell: "/bin/sh", zone: time.Local,
		names: map[string]int{}, base: filepath.Base(filename),
		users: map[string]*cronUser{}, homes: map[string]*homeDir{},
		sendmail: hasSendmail(), self: selfName(),
	}
}

// hasSendmail reports whether mail can go out as cron's does; tests
// replace it.
var hasSendmail = func() bool {
	_, ok := LocalMail()
	return ok
}

// selfName is the name of the user kopf runs as, the owner of a user
// crontab's lines; "" for a uid with no entry.
func selfName() string {
	if u, err := user.Current(); err == nil && u.Username != strconv.Itoa(os.Geteuid()) {
		return u.Username
	}
	return ""
}

type crontabParser struct {
	file string
	kind Crontab
	src  *source

	// What the assignments above the current line set.
	env      map[string]string // every assignment, MAILTO and the rest
	envList  []string          // env as a job's Env, shared by the jobs until the next assignment; nil before
	shell    string
	zone     *time.Location
	mailTo   []string
	mailFrom string
	jitter   time.Duration

	name  *lang.Pos // of a "# name:" comment right above, with its text in nameText
	named string
	names map[string]int // how many jobs have each hash name, for duplicate lines

	fields [7]field // the current line's, for fieldsOf: no allocation a line
	base   string   // the file's base name, which begins a hash name

	// What is looked up once per user and per home directory, not per
	// line: a cron.d file of 100k lines names a handful of users, and
	// each lookup reads the user and group databases (getgrouplist
	// through NSS, /etc/passwd for the shell), 170 µs a line before.
	users   map[string]*cronUser
	homes   map[string]*homeDir
	missing []string // the homes that do not exist, in the order of their first line

	jobs     []*Job
	errs     lang.ErrorList
	warnings []compile.Warning

	imp *imported // what kopf import keeps besides the jobs; nil otherwise

	sawMailto bool
	// sendmail: the machine has one (LocalMail), so a line without MAILTO
	// mails its output to its user, as cron does.
	sendmail bool
	self     string // kopf's own user's name, a user crontab's owner; "" when it has none
}

// warnNoMailto says, once, at the first job, that without MAILTO and
// without a sendmail on the machine the output that cronie would mail to
// the line's user is only logged.
func (p *crontabParser) warnNoMailto() {
	if p.sawMailto || p.sendmail || len(p.jobs) == 0 {
		return
	}
	first := p.jobs[0]
	for _, j := range p.jobs {
		if j.Pos.Offset < first.Pos.Offset {
			first = j
		}
	}
	p.warnings = append(p.warnings, compile.Warning{Pos: first.Pos,
		Msg: "no MAILTO, and no " + SendmailPath + " on this machine: cronie would mail the output of every line to its user, kopf logs it; set MAILTO and a \"mail\" section to have it mailed (MAILTO=\"\" to say neither)"})
}

func (p *crontabParser) errorf(off int, format string, args ...any) {
	p.errs.Add(p.src.pos(off), format, args...)
}

func (p *crontabParser) warnf(off int, format string, args ...any) {
	p.warnings = append(p.warnings, compile.Warning{Pos: p.src.pos(off), Msg: fmt.Sprintf(format, args...)})
}

// parse reads every line, looking at ctx every checkEvery lines (some
// 15 ms of a large file's reading).
func (p *crontabParser) parse(ctx context.Context, src []byte) error {
	const checkEvery = 1024
	text := string(src)
	for off, n := 0, 0; off < len(text); n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		end := strings.IndexByte(text[off:], '\n')
		last := end < 0
		if last {
			end = len(text)
		} else {
			end += off
		}
		p.line(off, text[off:end], last)
		off = end + 1
	}
	return nil
}

// line reads one line, which starts at byte off of the file.
func (p *crontabParser) line(off int, line string, last bool) {
	if p.imp != nil {
		jobs, errs, named := len(p.jobs), len(p.errs), p.name != nil
		defer func() { p.imp.line(p, line, jobs, errs, named) }()
	}
	body := strings.TrimLeft(line, " \t")
	at := off + len(line) - len(body)
	// A NUL or invalid UTF-8 is an error at its byte, and the line is
	// left out — except invalid UTF-8 in a comment, which cron ignores
	// (see docs/crontab.md).
	bad, badWhat := badByte(line)
	switch {
	case strings.TrimSpace(body) == "":
		p.name = nil
		return
	case body[0] == '#':
		rest, isName := strings.CutPrefix(strings.TrimSpace(body[1:]), "name:")
		nul := strings.IndexByte(line, 0)
		switch {
		case bad < 0:
		case isName:
			p.errorf(off+bad, "%s in \"# name:\": a job's name is text; the line below keeps the name kopf gives it", badWhat)
			p.name = nil
			return
		case nul >= 0:
			p.errorf(off+nul, "a NUL byte in a comment: a crontab is text (is this file binary, or damaged?)")
			return
		default:
			// An old crontab's comments may well be Latin-1, and cron
			// ignores them: a warning, the file is not wrong for it.
			p.warnf(off+bad, "%s in a comment: kopf reads a crontab as UTF-8 (is this file in another encoding, like Latin-1?)", badWhat)
			return
		}
		if isName {
			pos := p.src.pos(at)
			p.name, p.named = &pos, strings.TrimSpace(rest)
			if p.named == "" {
				p.errorf(at, "\"# name:\" gives no name; write \"# name: NAME\" right above the line it names")
				p.name = nil
			}
		}
		return
	}
	switch {
	case bad >= 0 && line[bad] == 0:
		p.errorf(off+bad, "a NUL byte: no command, variable or field can hold one, and cron would cut the line there; the line is left out")
		p.name = nil
		return
	case bad >= 0:
		p.errorf(off+bad, "%s: kopf reads a crontab as UTF-8 (is this file in another encoding, like Latin-1?); the line is left out", badWhat)
		p.name = nil
		return
	}
	if name, value, valueAt, ok := cronEnv(body); ok {
		p.assign(at, name, value, at+valueAt)
		p.name = nil
		return
	}
	if last {
		p.warnf(at, "the last line has no newline at its end: cronie ignores such a line, kopf runs it")
	}
	p.entry(at, body)
	p.name = nil
}

// badByte finds the first byte of line that a crontab cannot hold — a
// NUL, or a byte that is not part of valid UTF-8 — and says what it is;
// -1 when there is none.
func badByte(line string) (int, string) {
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == 0:
			return i, "a NUL byte"
		case c < utf8.RuneSelf:
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(line[i:])
		if r == utf8.RuneError && n == 1 {
			return i, fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", c)
		}
		i += n
	}
	return -1, ""
}

// cronEnv reads an environment assignment as cronie's load_env does:
// NAME = VALUE, with blanks around '=' allowed, the name and the value
// each optionally in single or double quotes (which keep blanks, and are
// the only way to an empty value), an unquoted value's trailing blanks
// dropped. It reports whether the line is one; valueAt is the value's byte
// offset in line.
func cronEnv(line string) (name, value string, valueAt int, ok bool) {
	i := 0
	word := func(isName bool) (string, bool) {
		if i < len(line) && (line[i] == '\'' || line[i] == '"') {
			q := line[i]
			end := strings.IndexByte(line[i+1:], q)
			if end < 0 {
				return "", false
			}
			s := line[i+1 : i+1+end]
			if isName && strings.Contains(s, "=") {
				return "", false
			}
			i += end + 2
			return s, true
		}
		if !isName {
			s := strings.TrimRight(line[i:], " \t\r\v\f")
			i = len(line)
			return s, s != ""
		}
		start := i
		for i < len(line) && line[i] != '=' && !isBlank(line[i]) {
			i++
		}
		return line[start:i], i > start
	}
	name, ok = word(true)
	if !ok {
		return "", "", 0, false
	}
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	if i == len(line) || line[i] != '=' {
		return "", "", 0, false
	}
	i++
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	valueAt = i
	if value, ok = word(false); !ok {
		return "", "", 0, false
	}
	if strings.TrimSpace(line[i:]) != "" {
		return "", "", 0, false // text after a closing quote
	}
	return name, value, valueAt, true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// assign takes an environment assignment: every one reaches the commands
// below it, and a few also set how kopf runs them.
func (p *crontabParser) assign(at int, name, value string, valueAt int) {
	if name == "LOGNAME" || name == "USER" {
		// cron sets both after the crontab's own, to the line's user.
		p.warnf(at, "%s is the user each line runs as, which cron sets itself: this line has no effect", name)
		return
	}
	p.env[name] = value
	p.envList = nil
	switch name {
	case "SHELL":
		if value == "" {
			p.errorf(valueAt, "SHELL is empty; cron's default is /bin/sh")
			p.shell = "/bin/sh"
			return
		}
		p.shell = value
	case "CRON_TZ":
		// compile's cache gives each zone one *time.Location: the zone
		// tables compile builds for a Location (400 years of offsets)
		// are kept by pointer, so a fresh Location for every CRON_TZ line
		// cost a build each (0.25 ms) and a table kept forever.
		loc, err := compile.LoadLocation(value)
		if err != nil || value == "" || value == "Local" {
			p.errorf(valueAt, "unknown time zone %q in CRON_TZ; expected an IANA name like Europe/Berlin (the lines below keep the zone above)", value)
			return
		}
		p.zone = loc
	case "RANDOM_DELAY":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			p.errorf(valueAt, "RANDOM_DELAY must be a whole number of minutes, found %q", value)
			return
		}
		p.jitter = time.Duration(n) * time.Minute
	case "MAILTO":
		p.sawMailto = true
		p.mailTo = nil
		for a := range strings.SplitSeq(value, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			if !localName(a) {
				if _, err := mail.ParseAddress(a); err != nil {
					p.errorf(valueAt, "invalid address %q in MAILTO: %s", a, strings.TrimPrefix(err.Error(), "mail: "))
					continue
				}
			}
			p.mailTo = append(p.mailTo, a)
		}
	case "MAILFROM":
		p.mailFrom = ""
		if value != "" {
			if _, err := mail.ParseAddress(value); err != nil && !localName(value) {
				p.errorf(valueAt, "invalid address %q in MAILFROM: %s", value, strings.TrimPrefix(err.Error(), "mail: "))
				return
			}
			p.mailFrom = value
		}
	}
}

// localName reports whether s is a local mailbox as cron takes it (root,
// backup-admin): a name without '@' that the local sendmail delivers.
func localName(s string) bool {
	if s == "" || strings.ContainsAny(s, "@ <>\"") {
		return false
	}
	for _, c := range s {
		if c < '!' || c > '~' {
			return false
		}
	}
	return true
}

// cronMacros are the @ schedules a crontab takes, with @reboot.
var cronMacros = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@reboot"}

// entry reads a line that runs something: its schedule (five fields or an
// @ word), a system crontab's user, and the command.
func (p *crontabParser) entry(at int, line string) {
	quiet := false
	if line[0] == '-' {
		// cronie's "do not log the run" mark
		quiet = true
		line, at = line[1:], at+1
	}
	fields := fieldsOf(p.fields[:0], line)
	if name, ok := strings.CutSuffix(strings.TrimRight(line, " \t\r"), "="); ok && len(fields) == 1 && !quiet {
		p.errorf(at, "%s= assigns nothing in a crontab, and cron reads the line as a command; write %s=\"\" for an empty value", name, name)
		return
	}
	var sched []field
	switch {
	case len(fields) > 0 && strings.HasPrefix(fields[0].text, "@"):
		if !slices.Contains(cronMacros, fields[0].text) {
			p.errorf(at+fields[0].at, "unknown schedule %q; a crontab takes five time fields or one of %s", fields[0].text, strings.Join(cronMacros, ", "))
			return
		}
		sched = fields[:1]
	case len(fields) >= 5:
		sched = fields[:5]
	default:
		p.errorf(at+len(strings.TrimRight(line, " \t\r")), "expected five time fields (minute hour day-of-month month day-of-week) and a command, found %d field%s", len(fields), plural(len(fields)))
		return
	}
	for _, f := range sched {
		if f.text == "H" || strings.HasPrefix(f.text, "H/") || strings.HasPrefix(f.text, "H(") {
			p.warnf(at+f.at, "H is kopf's hashed field: cronie refuses this line")
			break
		}
	}
	rest := fields[len(sched):]
	var who *Identity
	if p.kind == SystemCrontab {
		if len(rest) == 0 {
			p.errorf(at+len(strings.TrimRight(line, " \t\r")), "expected the user to run as after the schedule, then the command (a system crontab names the user)")
			return
		}
		who = &Identity{User: rest[0].text}
		userAt := at + rest[0].at
		if !p.identity(who, userAt) {
			return
		}
		rest = rest[1:]
	}
	if len(rest) == 0 {
		p.errorf(at+len(strings.TrimRight(line, " \t\r")), "expected a command after the schedule")
		return
	}
	cmdAt := rest[0].at
	if rest[0].text[0] == '*' && len(sched) == 5 {
		p.errorf(at+cmdAt, "the command starts with '*': a sixth time field? A crontab line has five (minute hour day-of-month month day-of-week)")
		return
	}
	command, stdin := cronCommand(strings.TrimRight(line[cmdAt:], "\r"))
	if strings.TrimSpace(command) == "" {
		p.errorf(at+cmdAt, "the command is empty: it starts with '%%', which begins its standard input")
		return
	}
	j := p.job(line, at, sched, who, command, stdin, quiet)
	if j == nil {
		return
	}
	p.jobs = append(p.jobs, j)
}

type field struct {
	text string
	at   int // byte offset in the line
}

// fieldsOf splits a line at blanks, as far as it needs: the schedule's
// fields, a user, and the first word of the command. It appends them to
// out, which the parser reuses from line to line.
func fieldsOf(out []field, line string) []field {
	for i := 0; i < len(line) && len(out) < 7; {
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		start := i
		for i < len(line) && !isBlank(line[i]) {
			i++
		}
		if i > start {
			out = append(out, field{line[start:i], start})
		}
	}
	return out
}

// cronCommand splits a crontab command at its first unescaped '%', as
// cronie does: before it, "\%" is a '%' and every other backslash stays;
// after it is the standard input, where each further unescaped '%' is a
// newline and "\%" a '%', and which ends in a newline, as cronie writes
// it, unless it is empty.
func cronCommand(s string) (command, stdin string) {
	var b strings.Builder
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			if s[i+1] == '%' {
				b.WriteByte('%')
			} else {
				b.WriteByte('\\')
				b.WriteByte(s[i+1])
			}
			i++
			continue
		}
		if c == '%' {
			break
		}
		b.WriteByte(c)
	}
	if i >= len(s) {
		return b.String(), ""
	}
	command = b.String()
	b.Reset()
	escaped, newline := false, false
	for _, c := range []byte(s[i+1:]) {
		if escaped {
			if c != '%' {
				b.WriteByte('\\')
			}
		} else if c == '%' {
			c = '\n'
		}
		if escaped = c == '\\'; !escaped {
			b.WriteByte(c)
			// cronie decides the final newline by the last character it
			// wrote in this branch, not by an escape's backslash.
			newline = c != '\n'
		}
	}
	if escaped {
		b.WriteByte('\\')
	}
	if newline {
		b.WriteByte('\n')
	}
	return command, b.String()
}

// identity checks a system crontab's user: it exists, and kopf can switch
// to it. The lookup is made once per user; the error, if any, is given at
// every line that names the user, so that each is seen to be left out.
func (p *crontabParser) identity(id *Identity, at int) bool {
	if u := p.user(id.User); u.msg != "" {
		p.errorf(at, "%s", u.msg)
		return false
	}
	return true
}

// resolveUser is Identity.Resolve; tests count the lookups.
var resolveUser = (*Identity).Resolve

// cronUser is what a parse found out about one user of a system crontab.
type cronUser struct {
	cred *Credentials
	msg  string // why a line cannot run as the user; "" when it can
}

// user looks a system crontab's user up, once per parse: a user added
// or removed is seen at the next reading of the file.
func (p *crontabParser) user(name string) *cronUser {
	if u, ok := p.users[name]; ok {
		return u
	}
	u := &cronUser{}
	c, err := resolveUser(&Identity{User: name})
	switch {
	case err != nil:
		u.msg = fmt.Sprintf("%v; the line is left out", err)
	case geteuid() != 0 && c.Uid != uint32(geteuid()):
		u.msg = fmt.Sprintf("kopf runs as uid %d, not root, so it cannot run this line as %q", geteuid(), name)
	default:
		u.cred = c
	}
	p.users[name] = u
	return u
}

// job makes the job of one line.
func (p *crontabParser) job(line string, at int, sched []field, who *Identity, command, stdin string, quiet bool) *Job {
	name := p.jobName(line, sched, who, command)
	if name == "" {
		return nil
	}
	pos := p.src.pos(at)
	j := &Job{
		Unit: Unit{
			Name: name, Pos: pos, Title: name,
			Command:   []string{p.shell, "-c", command},
			Shell:     true,
			Dir:       p.home(at, who),
			Env:       p.environ(),
			Idle:      0,
			StopTime:  defaultStopTime,
			MailTo:    slices.Clone(p.mailTo),
			MailFrom:  p.mailFrom,
			Location:  p.zone,
			LogStart:  !quiet,
			LogOutput: true,
			// cron's: the command sees the crontab's variables and
			// cron's few, never the daemon's (--crontab-env inherit says
			// otherwise), and what it starts in the background lives on.
			CleanEnv:      true,
			KeepLeftovers: true,
		},
		// cron starts a second copy when the first still runs; kopf
		// never does, and skips that fire (as supercronic).
		Overlap: job.Skip,
		Jitter:  p.jitter,
		Backoff: defaultBackoff,
	}
	if _, set := p.env["MAILTO"]; !set && p.sendmail {
		// cron mails the output to the line's user, by sendmail.
		if owner := p.owner(who); owner != "" {
			j.MailTo = []string{owner}
		}
	}
	if len(j.MailTo) == 0 {
		j.MailFrom = ""
	}
	if stdin != "" || who != nil {
		j.Extra = &Extra{Stdin: stdin, As: who}
	}
	text := sched[0].text
	if len(sched) == 5 {
		text = joinFields(sched)
	}
	if text == "@reboot" {
		j.RunOnStart, j.OncePerBoot = true, true
		return j
	}
	c, _, err := compileSchedule(text, j)
	if err != nil {
		p.scheduleErrors(at, sched, text, err)
		return nil
	}
	for _, w := range c.Warnings() {
		p.warnings = append(p.warnings, compile.Warning{Pos: p.src.pos(at + fieldOffset(sched, w.Pos.Offset)), Msg: w.Msg})
	}
	j.Schedules = []Schedule{{Key: "cron", Source: text, Compiled: c, Pos: p.src.pos(at + sched[0].at)}}
	return j
}

// owner is whom a line's output goes to without MAILTO: the user it runs
// as.
func (p *crontabParser) owner(who *Identity) string {
	if who != nil {
		if c := p.user(who.User).cred; c != nil && c.User != "" {
			return c.User
		}
		return ""
	}
	return p.self
}

// joinFields is the fields' texts joined by single spaces, in one
// allocation.
func joinFields(fields []field) string {
	n := len(fields) - 1
	for _, f := range fields {
		n += len(f.text)
	}
	var b strings.Builder
	b.Grow(n)
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.text)
	}
	return b.String()
}

// scheduleErrors places the compiler's errors, which are positioned in
// the fields joined by single spaces, in the line.
func (p *crontabParser) scheduleErrors(at int, sched []field, text string, err error) {
	list, ok := err.(lang.ErrorList)
	if !ok {
		p.errorf(at+sched[0].at, "%v", err)
		return
	}
	for _, e := range list {
		p.errs = append(p.errs, &lang.Error{Pos: p.src.pos(at + fieldOffset(sched, e.Pos.Offset)), Msg: e.Msg, Err: e.Err})
	}
}

// fieldOffset turns an offset in the fields joined by single spaces into
// one in the line.
func fieldOffset(sched []field, off int) int {
	for _, f := range sched {
		if off <= len(f.text) {
			return f.at + off
		}
		off -= len(f.text) + 1
	}
	last := sched[len(sched)-1]
	return last.at + len(last.text)
}

// jobName names a line's job: "# name:" above it, or FILE:PROGRAM-HASH,
// with -2, -3… for identical lines after the first.
func (p *crontabParser) jobName(line string, sched []field, who *Identity, command string) string {
	if p.name != nil {
		if prev, dup := p.names["#"+p.named]; dup && prev > 0 {
			p.errs.Add(*p.name, "job %q is named twice in this file", p.named)
			return ""
		}
		p.names["#"+p.named] = 1
		return p.named
	}
	h := sha256.New()
	for _, f := range sched {
		io.WriteString(h, f.text)
		h.Write([]byte{0})
	}
	if who != nil {
		io.WriteString(h, who.User)
		h.Write([]byte{0})
	}
	io.WriteString(h, strings.TrimSpace(command))
	var sum [sha256.Size]byte
	base := p.base + ":" + program(command) + "-" + hex.EncodeToString(h.Sum(sum[:0])[:3])
	p.names[base]++
	if n := p.names[base]; n > 1 {
		return fmt.Sprintf("%s-%d", base, n)
	}
	return base
}

// program is a readable word for a command: its program's base name,
// without what a name would not hold, or "run".
func program(command string) string {
	f := strings.Fields(command)
	for len(f) > 0 && strings.Contains(f[0], "=") { // VAR=x cmd
		f = f[1:]
	}
	if len(f) == 0 {
		return "run"
	}
	var b strings.Builder
	for _, c := range filepath.Base(f[0]) {
		if c < 128 && (c == '-' || c == '_' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b.WriteRune(c)
		}
	}
	if s := strings.Trim(b.String(), "."); s != "" && len(s) <= 40 {
		return s
	}
	return "run"
}

// environ is the assignments in effect, sorted, with SHELL as cronie
// sets it when the crontab does not. The jobs between two assignments
// share one slice (no one writes to a Job's Env, and its capacity ends at
// its length, so an append copies): building and sorting it for every
// line was 4 % of reading a 100k-line file.
func (p *crontabParser) environ() []string {
	if p.envList != nil {
		return p.envList
	}
	env := make([]string, 0, len(p.env)+1)
	for k, v := range p.env {
		env = append(env, k+"="+v)
	}
	if _, ok := p.env["SHELL"]; !ok {
		env = append(env, "SHELL="+p.shell)
	}
	slices.Sort(env)
	p.envList = slices.Clip(env)
	return p.envList
}

// homeDir is what a parse found out about one home directory.
type homeDir struct {
	exists bool
	first  int // the byte offset of the first line that runs there, when it does not exist
	more   int // how many more lines run there
}

// home is where a line's command runs, as in cronie: HOME when the
// crontab sets it, else the home directory of the user it runs as (kopf's
// $HOME for a user crontab). A home that does not exist, like nobody's
// /nonexistent, is "/" with a warning (warnMissingHomes): cronie would
// fail the run.
func (p *crontabParser) home(at int, who *Identity) string {
	if h, ok := p.env["HOME"]; ok {
		return h
	}
	home := ""
	if who != nil {
		if c := p.user(who.User).cred; c != nil {
			home = c.Home
		}
	} else if home = os.Getenv("HOME"); home == "" {
		if u, err := user.Current(); err == nil {
			home = u.HomeDir
		}
	}
	if home == "" {
		return ""
	}
	h, ok := p.homes[home]
	if !ok {
		info, err := os.Stat(home)
		h = &homeDir{exists: err == nil && info.IsDir(), first: at}
		p.homes[home] = h
		if !h.exists {
			p.missing = append(p.missing, home)
		}
	} else if !h.exists {
		h.more++
	}
	if !h.exists {
		return "/"
	}
	return home
}

// warnMissingHomes warns once for each home directory that does not
// exist, at the first line that runs there: a cron.d file of nobody's
// lines said it at every line, 20,000 warnings in a 100k-line file, at
// every reading.
func (p *crontabParser) warnMissingHomes() {
	for _, home := range p.missing {
		h := p.homes[home]
		if h.more == 0 {
			p.warnf(h.first, "the home directory %s does not exist: cronie would not run this line, kopf runs it in /", home)
			continue
		}
		p.warnf(h.first, "the home directory %s does not exist: cronie would not run this line nor the %d more below that run there, kopf runs them in /", home, h.more)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
