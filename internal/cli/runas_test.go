package cli_test

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunAsUserWithShellStdinAndEnv runs triggered jobs as other users,
// through another shell, with text on their standard input and a proto's
// env merged with their own, and reads back what the processes saw.
func TestRunAsUserWithShellStdinAndEnv(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	dir := t.TempDir()
	// Outside the test's own directory, which only root may enter: the
	// jobs write here as other users.
	out, err := os.MkdirTemp("", "kopf-runas-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	os.Chmod(out, 0o777)
	t.Setenv("KOPF_TEST_UNSET", "from kopf")
	report := func(name string) string {
		return `{ id -u; id -g; id -G; echo "$USER|$LOGNAME|$HOME"; cat; echo "A=${A-unset} B=$B C=${KOPF_TEST_UNSET-unset} shell=${BASH_VERSION:+bash}"; } > ` + filepath.Join(out, name) + ` 2>&1`
	}
	cfg := writeConfig(t, dir, "kopf.json", fmt.Sprintf(`{
		"protos": {"p": {"env": {"A": "1", "B": "2"}, "shell": "/bin/bash"}},
		"jobs": {
			"nobody": {"proto": "p", "user": "nobody", "stdin": "line one\nline two\n", "env": {"A": null, "B": "3", "KOPF_TEST_UNSET": null}, "command": %q},
			"numeric": {"proto": "p", "user": 4242, "group": "nogroup", "command": %q}
		}
	}`, report("nobody"), report("numeric")))
	d, sock := controlled(t, dir, cfg)
	for _, job := range []string{"nobody", "numeric"} {
		if o, e, code := client(t, sock, "trigger", job); code != 0 {
			t.Fatalf("kopf trigger %s: exit %d: %s%s", job, code, o, e)
		}
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(out, name))
		return string(b)
	}
	waitFor(t, "both runs", d, func() bool {
		return strings.Count(read("nobody"), "\n") >= 7 && strings.Count(read("numeric"), "\n") >= 5
	})
	want := fmt.Sprintf("%s\n%s\n%s\nnobody|nobody|%s\nline one\nline two\nA=unset B=3 C=unset shell=bash\n",
		nobody.Uid, nobody.Gid, groupsOf(t, nobody), nobody.HomeDir)
	if got := read("nobody"); got != want {
		t.Errorf("the run as nobody saw\n%s\nwant\n%s", got, want)
	}
	nogroup, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Fatal(err)
	}
	// A uid with no entry is another user all the same: none of kopf's
	// environment, HOME /, no USER or LOGNAME to give; group switches the
	// gid and no supplementary groups are left.
	want = fmt.Sprintf("4242\n%s\n%s\n||/\nA=1 B=2 C=unset shell=bash\n", nogroup.Gid, nogroup.Gid)
	if got := read("numeric"); got != want {
		t.Errorf("the run as 4242 saw\n%s\nwant\n%s", got, want)
	}
}

func groupsOf(t *testing.T, u *user.User) string {
	ids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(ids, " ")
}
