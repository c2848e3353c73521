package config

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// imported is what kopf import keeps of a crontab besides its jobs: the
// comments above each job's line, and the lines it left out, as comments.
type imported struct {
	pending []string // comments waiting for the next job
	jobs    []importedJob
}

type importedJob struct {
	job      *Job
	comments []string
	named    bool // by a "# name:" comment
}

// line notes what one line added: a job takes the comments above it; a
// comment is kept for the next job; a line with an error is kept as a
// comment that says why it was left out.
func (im *imported) line(p *crontabParser, line string, jobs, errs int, named bool) {
	body := strings.TrimSpace(line)
	switch {
	case len(p.jobs) > jobs:
		im.jobs = append(im.jobs, importedJob{job: p.jobs[len(p.jobs)-1], comments: im.pending, named: named})
		im.pending = nil
	case len(p.errs) > errs:
		for _, e := range p.errs[errs:] {
			im.pending = append(im.pending, fmt.Sprintf(" kopf import left out line %d: %s", e.Pos.Line, printable(e.Msg)))
		}
		im.pending = append(im.pending, " "+printable(body))
	case strings.HasPrefix(body, "#"):
		if rest, ok := strings.CutPrefix(strings.TrimSpace(body[1:]), "name:"); ok && strings.TrimSpace(rest) != "" {
			return // the job's name
		}
		im.pending = append(im.pending, printable(body[1:]))
	}
}

// printable is s for a comment of kopf import's output, with each byte
// that is not text — invalid UTF-8, a control character other than tab —
// written as \xNN: the comment shows what the crontab held, and the output
// stays a file kopf reads (the YAML encoder panics on invalid UTF-8).
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < ' ' && r != '\t', r == 0x7f, 0x80 <= r && r < 0xa0:
			if b.Len() == 0 {
				b.WriteString(s[:i])
			}
			for _, c := range []byte(s[i : i+n]) {
				fmt.Fprintf(&b, "\\x%02x", c)
			}
		default:
			if b.Len() > 0 {
				b.WriteString(s[i : i+n])
			}
		}
		i += n
	}
	if b.Len() == 0 {
		return s
	}
	return b.String()
}

// ImportCrontab reads a crontab and writes an equivalent kopf config:
// one job per line, with the comments above it, in YAML or (format
// "json") JSON with comments. A line with an error is left out and kept
// as a comment that says why; the error is also returned, with the config.
func ImportCrontab(filename string, src []byte, kind Crontab, format string) ([]byte, error) {
	if err := checkSize(filename, len(src)); err != nil {
		return nil, err
	}
	p := newCrontabParser(filename, src, kind)
	p.imp = &imported{}
	p.parse(context.Background(), src)
	jobs := make([]importJob, 0, len(p.imp.jobs))
	taken := map[string]int{}
	for _, ij := range p.imp.jobs {
		name := ij.job.Name
		if !ij.named {
			name = program(ij.job.Command[len(ij.job.Command)-1])
		}
		if taken[name]++; taken[name] > 1 {
			name = fmt.Sprintf("%s-%d", name, taken[name])
		}
		jobs = append(jobs, importJob{name: name, comments: ij.comments, settings: importSettings(ij.job)})
	}
	head := []string{fmt.Sprintf(" Imported from %s by kopf import crontab: each line is a job (docs/crontab.md).", filepath.Base(filename))}
	var out []byte
	if format == "json" {
		out = importJSON(head, jobs, p.imp.pending)
	} else {
		out = importYAML(head, jobs, p.imp.pending)
	}
	return out, p.errs.Err()
}

type importJob struct {
	name     string
	comments []string
	settings []importSetting
}

// importSetting is one setting of an imported job: its key and its value, a
// string, a bool or an object of strings (ordered).
type importSetting struct {
	key  string
	val  any
	note string // a comment on the setting, "" for none
}

// settingsEnvKeys are the crontab variables that become settings of
// their own, not env.
var settingsEnvKeys = []string{"SHELL", "MAILTO", "MAILFROM", "CRON_TZ", "RANDOM_DELAY"}

// importSettings are the settings that run j as kopf runs the crontab
// line, in the order the docs list them.
func importSettings(j *Job) []importSetting {
	var out []importSetting
	add := func(key string, val any) { out = append(out, importSetting{key: key, val: val}) }
	if sh := j.Command[0]; sh != "/bin/sh" {
		add("shell", sh)
	}
	add("command", j.Command[len(j.Command)-1])
	switch {
	case j.OncePerBoot:
		add("run-on-start", "once-per-boot")
	case len(j.Schedules) > 0:
		add("cron", j.Schedules[0].Source)
	}
	scheduled := len(j.Schedules) > 0
	if zone, note := zoneName(j.Location); scheduled && (zone != "UTC" || note != "") {
		out = append(out, importSetting{key: "timezone", val: zone, note: note})
	}
	if j.Stdin() != "" {
		add("stdin", j.Stdin())
	}
	var env [][2]string
	home := false
	for _, kv := range j.Env {
		k, v, _ := strings.Cut(kv, "=")
		home = home || k == "HOME"
		// SHELL is the shell setting too, but cron also exports it:
		// only its default, which inherit-env false gives, goes without.
		if !slices.Contains(settingsEnvKeys, k) || k == "SHELL" && v != "/bin/sh" {
			env = append(env, [2]string{k, v})
		}
	}
	if len(env) > 0 {
		add("env", env)
	}
	if j.As() != nil {
		add("user", j.As().User)
	}
	if j.Dir != "" && (home || j.As() != nil) {
		add("dir", j.Dir)
	}
	if len(j.MailTo) == 1 {
		add("mail-to", j.MailTo[0])
	} else if len(j.MailTo) > 1 {
		add("mail-to", j.MailTo)
	}
	if len(j.MailTo) > 0 {
		if j.MailFrom != "" {
			add("mail-from", j.MailFrom)
		}
	}
	if j.Jitter > 0 && scheduled {
		add("jitter", fmt.Sprintf("%dm", int(j.Jitter.Minutes())))
	}
	if !j.LogStart {
		add("log-start", false)
	}
	add("log-output", true)
	if scheduled {
		add("overlap", "skip")
	}
	// A crontab's defaults that are not a config's.
	add("inherit-env", false)
	add("leftovers", "keep")
	return out
}

// zoneName is the IANA name of loc, for a "timezone" setting. The local
// zone has none in Go; it is found in $TZ or /etc/localtime's link, and
// when neither names it, "UTC" comes with a note that cron used the
// machine's zone.
func zoneName(loc *time.Location) (string, string) {
	if loc != time.Local {
		return loc.String(), ""
	}
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" {
		if _, err := time.LoadLocation(tz); err == nil {
			return tz, ""
		}
	}
	if target, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			if _, err := time.LoadLocation(name); err == nil {
				return name, ""
			}
		}
	}
	if _, off := time.Now().Zone(); off == 0 {
		return "UTC", ""
	}
	return "UTC", "cron used this machine's zone, which has no name kopf can read: set it here"
}

// importYAML writes the jobs as a YAML config, comments kept.
func importYAML(head []string, jobs []importJob, foot []string) []byte {
	str := func(s string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
		if strings.Contains(s, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n
	}
	comment := func(lines []string) string {
		var b strings.Builder
		for i, l := range lines {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString("#" + l)
		}
		return b.String()
	}
	mapping := &yaml.Node{Kind: yaml.MappingNode}
	for _, j := range jobs {
		key := str(j.name)
		key.HeadComment = comment(j.comments)
		val := &yaml.Node{Kind: yaml.MappingNode}
		for _, s := range j.settings {
			var v *yaml.Node
			switch x := s.val.(type) {
			case string:
				v = str(x)
			case bool:
				v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(x)}
			case []string:
				v = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
				for _, e := range x {
					v.Content = append(v.Content, str(e))
				}
			case [][2]string:
				v = &yaml.Node{Kind: yaml.MappingNode}
				for _, kv := range x {
					v.Content = append(v.Content, str(kv[0]), str(kv[1]))
				}
			}
			if s.note != "" {
				v.LineComment = "# " + s.note
			}
			val.Content = append(val.Content, str(s.key), v)
		}
		mapping.Content = append(mapping.Content, key, val)
	}
	jobsKey := str("jobs")
	jobsKey.HeadComment = comment(head)
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{jobsKey, mapping}}
	if len(jobs) == 0 {
		mapping.Style = yaml.FlowStyle
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}, FootComment: comment(foot)}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		panic(err) // a tree of strings and bools always encodes
	}
	return b.Bytes()
}

// importJSON writes the jobs as JSON with comments (kopf reads JWCC).
func importJSON(head []string, jobs []importJob, foot []string) []byte {
	var b bytes.Buffer
	q := func(s string) string {
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		return strings.TrimSuffix(out.String(), "\n")
	}
	comments := func(indent string, lines []string) {
		for _, l := range lines {
			fmt.Fprintf(&b, "%s//%s\n", indent, l)
		}
	}
	b.WriteString("{\n")
	comments("  ", head)
	b.WriteString("  \"jobs\": {\n")
	for i, j := range jobs {
		comments("    ", j.comments)
		fmt.Fprintf(&b, "    %s: {\n", q(j.name))
		for k, s := range j.settings {
			fmt.Fprintf(&b, "      %s: ", q(s.key))
			switch x := s.val.(type) {
			case string:
				b.WriteString(q(x))
			case bool:
				fmt.Fprint(&b, x)
			case []string:
				b.WriteString("[")
				for n, e := range x {
					if n > 0 {
						b.WriteString(", ")
					}
					b.WriteString(q(e))
				}
				b.WriteString("]")
			case [][2]string:
				b.WriteString("{")
				for n, kv := range x {
					if n > 0 {
						b.WriteString(", ")
					}
					fmt.Fprintf(&b, "%s: %s", q(kv[0]), q(kv[1]))
				}
				b.WriteString("}")
			}
			if k < len(j.settings)-1 {
				b.WriteString(",")
			}
			if s.note != "" {
				b.WriteString(" // " + s.note)
			}
			b.WriteString("\n")
		}
		b.WriteString("    }")
		if i < len(jobs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("  }\n")
	comments("  ", foot)
	b.WriteString("}\n")
	return b.Bytes()
}
