package config

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// The keys of service-manager.md's service files, which kopf reads beside
// its own (a services file also takes every key of a kopf job or proc).
var serviceKeys = []string{"args", "cmd", "name", "root_directory", "stop_time", "tool"}

// ParseService reads one file of a services directory, in
// service-manager.md's layout: a JSON object (comments and trailing commas
// allowed) that defines one service. It is a job when it has "scheduling"
// (or another key only jobs have: jobOnlyKeys), a proc otherwise, as in
// service-manager.md, where a file with "scheduling" is a cron task. Its name is "name",
// else the file's base name without .json. "tool" runs ./run.py TOOL
// ARGS... and "cmd" runs /bin/sh -c CMD with ARGS as $1...; both in
// "root_directory", which a relative path takes from the file's directory.
// The result is one part of a daemon's config; Merge checks its triggers.
func ParseService(filename string, src []byte) (*Config, []compile.Warning, error) {
	if err := checkSize(filename, len(src)); err != nil {
		return nil, nil, err
	}
	s := newSource(filename, src)
	l := &loader{src: s}
	root, errs := parseJSON(s, nil)
	l.errs = errs
	var cfg *Config
	if root != nil {
		cfg = l.service(root)
	}
	return l.result(cfg)
}

// service turns a service file into a config of one job or proc: it maps
// service-manager's keys onto kopf's and lets job or proc do the rest.
func (l *loader) service(root *node) *Config {
	cfg := &Config{}
	if root.kind != kindObject {
		l.errorf(root.pos, "a service file must be an object of settings like {\"name\": …, \"cmd\": …}, found %s", root.found())
		return cfg
	}
	file := l.src.file
	name := &node{kind: kindString, pos: l.src.pos(0), text: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))}
	keys := map[string]*node{} // service-manager keys and kopf keys given under two spellings
	var kopf []member          // everything else, for job or proc to read
	var jobKey *node           // the first key only jobs have
	var procOnly []*node       // keys only procs have
	for _, m := range root.members {
		k := m.key.text
		switch {
		case slices.Contains(serviceKeys, k):
			keys[k] = m.key
		case k == "dir" || k == "stop-time" || k == "command":
			keys[k] = m.key
		}
		switch {
		case k == "name":
			if l.str("name", m.val); m.val.kind == kindString {
				name = m.val
			}
		// Checked here under their own names; kopf's dir and stop-time
		// then read them again without a second message.
		case k == "root_directory":
			if l.str(k, m.val); m.val.kind == kindString {
				kopf = append(kopf, member{key: rename(m.key, "dir"), val: m.val})
			}
		case k == "stop_time":
			if n := len(l.errs); l.duration(k, m.val) >= 0 && len(l.errs) == n {
				kopf = append(kopf, member{key: rename(m.key, "stop-time"), val: m.val})
			}
		case slices.Contains(serviceKeys, k):
			// tool, cmd and args become the command below.
		case k == "proto":
			l.errorf(m.key.pos, "\"proto\" does not work in a services file: protos live in the config file, and a services file stands alone")
		default:
			if jobKey == nil && slices.Contains(jobOnlyKeys, k) {
				jobKey = m.key
			}
			if slices.Contains(procOnlyKeys, k) {
				procOnly = append(procOnly, m.key)
			}
			kopf = append(kopf, m)
		}
	}
	for _, pair := range [][2]string{{"root_directory", "dir"}, {"stop_time", "stop-time"}} {
		if a, b := keys[pair[0]], keys[pair[1]]; a != nil && b != nil {
			later, earlier := a, b
			if a.pos.Offset < b.pos.Offset {
				later, earlier = b, a
			}
			l.errorf(later.pos, "%s and %s are the same setting; give one (the other is at %d:%d)", quote(later.text), quote(earlier.text), earlier.pos.Line, earlier.pos.Col)
		}
	}
	if name.text == "" {
		l.errorf(name.pos, "a service needs a name; \"\" is none")
		return cfg
	}
	if cmd := l.serviceCommand(root, keys, name.text); cmd != nil {
		kopf = append(kopf, member{key: &node{kind: kindString, pos: cmd.pos, text: "command"}, val: cmd})
	}
	val := &node{kind: kindObject, pos: root.pos, members: kopf}
	isJob := jobKey != nil
	l.defs = append(l.defs, def{name: name.text, job: isJob, pos: name.pos})
	var u *Unit
	if isJob {
		// Said here, naming what makes the file a job; job would say to
		// move the service under "procs", which a services file has not.
		for _, k := range procOnly {
			l.errorf(k.pos, "%s is only for procs, and this service is a job because of %s at %d:%d", quote(k.text), quote(jobKey.text), jobKey.pos.Line, jobKey.pos.Col)
		}
		val.members = slices.DeleteFunc(slices.Clone(val.members), func(m member) bool { return slices.Contains(procOnly, m.key) })
		if j := l.job(name, val); j != nil {
			cfg.Jobs, u = []*Job{j}, &j.Unit
		}
	} else if p := l.proc(name, val); p != nil {
		cfg.Procs, u = []*Proc{p}, &p.Unit
	}
	if u != nil && u.Dir != "" && !filepath.IsAbs(u.Dir) {
		u.Dir = filepath.Join(filepath.Dir(file), u.Dir)
	}
	return cfg
}

// serviceCommand makes the "command" of a service from "tool" or "cmd"
// and "args" as an argv array; a kopf "command" stays as written, and nil
// means there is nothing to add.
func (l *loader) serviceCommand(root *node, keys map[string]*node, name string) *node {
	var tool, cmd, args *node
	for _, m := range root.members {
		switch m.key.text {
		case "tool":
			tool = m.val
		case "cmd":
			cmd = m.val
		case "args":
			args = m.val
		}
	}
	var given []*node
	for _, k := range []string{"tool", "cmd", "command"} {
		if keys[k] != nil {
			given = append(given, keys[k])
		}
	}
	if len(given) > 1 {
		// Go on with the first, so that this is the only message.
		l.errorf(given[1].pos, "give one of \"tool\", \"cmd\" and \"command\"; %s is at %d:%d", quote(given[0].text), given[0].pos.Line, given[0].pos.Col)
		if keys["command"] != nil {
			return nil
		}
		cmd = nil
	}
	var argv []*node
	if args != nil {
		argv = l.stringList("args", args, wantArgs)
	}
	str := func(s string, pos lang.Pos) *node { return &node{kind: kindString, pos: pos, text: s} }
	switch {
	case tool != nil:
		if l.str("tool", tool) == "" {
			if tool.kind == kindString {
				l.errorf(tool.pos, "\"tool\" is empty; expected a module that run.py runs, like infra.services.sysmon")
			}
			return nil
		}
		if keys["root_directory"] == nil && keys["dir"] == nil {
			l.errorf(keys["tool"].pos, "\"tool\" needs \"root_directory\", the directory that holds run.py")
		}
		return &node{kind: kindArray, pos: tool.pos, elems: append([]*node{str("./run.py", tool.pos), tool}, argv...)}
	case cmd != nil:
		if l.str("cmd", cmd) == "" {
			if cmd.kind == kindString {
				l.errorf(cmd.pos, "\"cmd\" is empty")
			}
			return nil
		}
		if args != nil && len(argv) > 0 && !positionalRef().MatchString(cmd.text) {
			l.warnf(keys["args"].pos, "\"args\" reach \"cmd\" as $1, $2, …, and \"cmd\" uses none of them, so they are dropped; write \"cmd\": %s to pass them on", quote(strings.TrimSpace(cmd.text)+` "$@"`))
		}
		// $0 is the service's name, so that the shell's own messages say
		// which service they come from; args are $1 and on.
		elems := []*node{str("/bin/sh", cmd.pos), str("-c", cmd.pos), cmd, str(name, cmd.pos)}
		return &node{kind: kindArray, pos: cmd.pos, elems: append(elems, argv...)}
	case args != nil:
		l.errorf(keys["args"].pos, "\"args\" goes with \"tool\" or \"cmd\"; with \"command\", put the arguments in its array")
	}
	return nil
}

// positionalRef matches a shell's use of positional parameters: $@, $*,
// $1…$9, ${10}, "$#" does not pass them on and is not one.
var positionalRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\$([@*1-9]|\{[0-9@*#]+)`) })

// rename returns a copy of a key node with another name.
func rename(key *node, to string) *node {
	n := *key
	n.text = to
	return &n
}
