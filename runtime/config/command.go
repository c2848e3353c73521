package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// defaultShell runs a command written as a string: ["/bin/sh", "-c"].
var defaultShell = []string{"/bin/sh", "-c"}

// shell reads `shell`: a program, which runs a string command as
// PROGRAM -c COMMAND (cron's SHELL), or the whole argv before the command.
func (l *loader) shell(n *node) []string {
	switch n.kind {
	case kindString:
		if strings.TrimSpace(n.text) == "" {
			l.errorf(n.pos, "\"shell\" is empty; leave it out for /bin/sh")
			return defaultShell
		}
		l.noNUL("shell", n, n.text)
		return []string{n.text, "-c"}
	case kindArray:
		argv := texts(l.stringList("shell", n, ""))
		if len(argv) == 0 || len(argv) < len(n.elems) {
			if len(n.elems) == 0 {
				l.errorf(n.pos, "\"shell\" is an empty array; it needs at least the program, like [\"/bin/bash\", \"-c\"]")
			}
			return defaultShell
		}
		if argv[0] == "" {
			l.errorf(n.elems[0].pos, "the program in \"shell\" is empty")
		}
		for i, a := range argv {
			l.noNUL("shell", n.elems[i], a)
		}
		return argv
	}
	l.errorf(n.pos, "\"shell\" must be a program (run as PROGRAM -c COMMAND) or an array of the arguments before the command, found %s", n.found())
	return defaultShell
}

// checkProgramInDir warns when an array command's program has no slash,
// is not in PATH, and is an executable in the unit's dir: it is looked up
// in PATH only, so the start would fail (kopf.md's ["tor.bin", "-f",
// "tor.rc"] in the directory that holds tor.bin).
func checkProgramInDir(l *loader, x *entry, n *node) {
	if n == nil || n.kind != kindArray || len(n.elems) == 0 || x.Shell || len(x.Command) == 0 {
		return
	}
	name := x.Command[0]
	if name == "" || strings.Contains(name, "/") || strings.Contains(name, "{{") {
		return
	}
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	fi, err := os.Stat(filepath.Join(x.Dir, name))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return
	}
	where := x.Dir
	if where == "" {
		where = "the working directory"
	}
	l.warnf(n.elems[0].pos, "%s is not in PATH but is in %s: write ./%s (a program without a slash is looked up in PATH only)", quote(name), where, name)
}
