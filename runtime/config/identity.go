package config

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// geteuid is os.Geteuid; tests replace it to read configs as if kopf
// were not root.
var geteuid = defaultGeteuid

var defaultGeteuid = os.Geteuid

// identity reads `user` and `group` (either may be nil). Both must exist
// on this machine, and kopf must be root to switch to them unless they
// are its own.
func (l *loader) identity(un, gn *node) *Identity {
	id := &Identity{}
	name := func(key string, n *node) (string, bool) {
		switch {
		case n == nil:
			return "", true
		case n.kind == kindString && n.text != "":
			return n.text, true
		case n.kind == kindString:
			l.errorf(n.pos, "%s is empty; leave it out to run as kopf's own", quote(key))
		case n.kind == kindNumber:
			if _, err := strconv.ParseUint(n.text, 10, 32); err == nil {
				return n.text, true
			}
			l.errorf(n.pos, "%s must be a name or a whole number from 0 to 4294967294, found %s", quote(key), n.text)
		default:
			l.errorf(n.pos, "%s must be a name or a whole number, found %s", quote(key), n.found())
		}
		return "", false
	}
	var ok1, ok2 bool
	id.User, ok1 = name("user", un)
	id.Group, ok2 = name("group", gn)
	if !ok1 || !ok2 {
		return nil
	}
	cred, err := id.Resolve()
	if err != nil {
		at := un
		if at == nil || errorIsGroup(err) {
			at = gn
		}
		l.errorf(at.pos, "%v", err)
		return nil
	}
	if euid := geteuid(); euid != 0 && (cred.Uid != uint32(euid) || cred.Gid != uint32(os.Getegid())) {
		at, key := un, "user"
		if at == nil {
			at, key = gn, "group"
		}
		l.errorf(at.pos, "kopf runs as uid %d, not root, so it cannot run a unit as %s; run kopf as root or leave out %s", euid, id, quote(key))
		return nil
	}
	return id
}

// String is the identity as user:group, each as written.
func (id *Identity) String() string {
	switch {
	case id.Group == "":
		return "user " + strconv.Quote(id.User)
	case id.User == "":
		return "group " + strconv.Quote(id.Group)
	}
	return fmt.Sprintf("user %q and group %q", id.User, id.Group)
}

// Credentials are an Identity looked up: what a process switches to, and
// the variables cron and systemd set for the user.
type Credentials struct {
	Uid, Gid uint32
	Groups   []uint32 // supplementary groups: the user's, or none for a group alone
	// The user's name, home directory and login shell ("" when only a
	// group is switched to, or the user has no entry, given as a number).
	User, Home, Shell string
}

// groupError is a lookup error about the group.
type groupError struct{ error }

func errorIsGroup(err error) bool {
	_, ok := err.(groupError)
	return ok
}

// Resolve looks the identity up in the user and group databases: a name
// must exist, a number may (it is taken as it is when it does not: a
// container may run as a uid with no entry, as docker's --user does). A
// user's group is its primary group unless Group is set, and its
// supplementary groups are those /etc/group lists it in.
func (id *Identity) Resolve() (*Credentials, error) {
	c := &Credentials{Uid: uint32(os.Geteuid()), Gid: uint32(os.Getegid())}
	if id.User != "" {
		u, err := lookupUser(id.User)
		if err != nil {
			return nil, err
		}
		if u == nil {
			n, _ := strconv.ParseUint(id.User, 10, 32)
			c.Uid, c.Gid = uint32(n), uint32(n)
		} else {
			uid, _ := strconv.ParseUint(u.Uid, 10, 32)
			gid, _ := strconv.ParseUint(u.Gid, 10, 32)
			c.Uid, c.Gid, c.User, c.Home = uint32(uid), uint32(gid), u.Username, u.HomeDir
			c.Shell = loginShell(u.Username)
			if ids, err := u.GroupIds(); err == nil {
				for _, g := range ids {
					if n, err := strconv.ParseUint(g, 10, 32); err == nil {
						c.Groups = append(c.Groups, uint32(n))
					}
				}
			}
		}
	}
	if id.Group != "" {
		g, err := user.LookupGroup(id.Group)
		if err != nil {
			if _, numErr := strconv.ParseUint(id.Group, 10, 32); numErr != nil {
				return nil, groupError{fmt.Errorf("no group named %q on this machine", id.Group)}
			}
			g, _ = user.LookupGroupId(id.Group)
			if g == nil {
				g = &user.Group{Gid: id.Group}
			}
		}
		gid, _ := strconv.ParseUint(g.Gid, 10, 32)
		c.Gid = uint32(gid)
	}
	return c, nil
}

// lookupUser finds a user by name or number; nil, nil for a number
// without an entry.
func lookupUser(s string) (*user.User, error) {
	if _, err := strconv.ParseUint(s, 10, 32); err == nil {
		u, err := user.LookupId(s)
		if err != nil {
			if u, err := user.Lookup(s); err == nil {
				return u, nil // a user whose name is a number
			}
			return nil, nil
		}
		return u, nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return nil, fmt.Errorf("no user named %q on this machine", s)
	}
	return u, nil
}

// loginShell is the user's shell from /etc/passwd (os/user does not give
// it), or "" when it cannot be read.
func loginShell(name string) string {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) == 7 && f[0] == name {
			return f[6]
		}
	}
	return ""
}

// Env is the environment cron and systemd give a process that runs as
// the user: USER, LOGNAME, HOME and SHELL; nothing when only a group is
// switched to.
func (c *Credentials) Env() []string {
	if c.User == "" {
		return nil
	}
	env := []string{"USER=" + c.User, "LOGNAME=" + c.User, "HOME=" + c.Home}
	if c.Shell != "" {
		env = append(env, "SHELL="+c.Shell)
	}
	return env
}
