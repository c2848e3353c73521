package config

import (
	"os/user"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIdentityErrors: user and group must exist and be reachable, and are
// said where they are written.
func TestIdentityErrors(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody here")
	}
	job := func(settings string) string {
		return `{"jobs": {"j": {"command": "x", ` + settings + `}}}`
	}
	tests := []struct {
		name, src string
		euid      int
		want      []string
	}{
		{"fine as root", job(`"user": "nobody", "group": 0`), 0, nil},
		{"a number without an entry", job(`"user": 4242`), 0, nil},
		{"unknown user", job(`"user": "no-such-user-kopf"`), 0, []string{
			`k.json:1:41: no user named "no-such-user-kopf" on this machine`}},
		{"unknown group", job(`"user": "nobody", "group": "no-such-group-kopf"`), 0, []string{
			`k.json:1:60: no group named "no-such-group-kopf" on this machine`}},
		{"not a name", job(`"user": "", "group": [1]`), 0, []string{
			`k.json:1:41: "user" is empty; leave it out to run as kopf's own`,
			`k.json:1:54: "group" must be a name or a whole number, found an array`}},
		{"negative", job(`"user": -1`), 0, []string{
			`k.json:1:41: "user" must be a name or a whole number from 0 to 4294967294, found -1`}},
		{"not root", job(`"user": "nobody"`), 1000, []string{
			`k.json:1:41: kopf runs as uid 1000, not root, so it cannot run a unit as user "nobody"; run kopf as root or leave out "user"`}},
		{"not root, group", job(`"group": "nogroup"`), 1000, []string{
			`k.json:1:42: kopf runs as uid 1000, not root, so it cannot run a unit as group "nogroup"; run kopf as root or leave out "group"`}},
		{"shell", job(`"shell": [], "user": "nobody"`), 0, []string{
			`k.json:1:42: "shell" is an empty array; it needs at least the program, like ["/bin/bash", "-c"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			geteuid = func() int { return tt.euid }
			defer func() { geteuid = defaultGeteuid }()
			if diff := cmp.Diff(tt.want, problems(t, "k.json", tt.src)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolve: a user's ids, groups and variables come from its entry.
func TestResolve(t *testing.T) {
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	c, err := (&Identity{User: "nobody"}).Resolve()
	if err != nil {
		t.Fatal(err)
	}
	env := c.Env()
	if len(env) < 3 || env[0] != "USER=nobody" || env[1] != "LOGNAME=nobody" || env[2] != "HOME="+u.HomeDir {
		t.Errorf("env %q, want USER, LOGNAME and HOME of nobody", env)
	}
	c, err = (&Identity{User: "4242", Group: "4343"}).Resolve()
	if err != nil || c.Uid != 4242 || c.Gid != 4343 || c.Env() != nil || len(c.Groups) != 0 {
		t.Errorf("4242:4343 = %+v, %v; want the numbers as they are, no variables", c, err)
	}
}
