package supervise

import (
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/kopf/kopf/runtime/config"
)

// cronPath is the PATH cron gives a command whose crontab sets none.
const cronPath = "PATH=/usr/bin:/bin"

// environ is the environment a run of u starts with, running as cred (nil:
// as kopf, with no user switched to). A run as kopf's own user that
// inherits (inherit-env, the default outside crontabs) gets kopf's
// environment, the user's variables when a user is named, and u's env
// over them. Any other run gets what cron gives a command — PATH
// /usr/bin:/bin and the user's USER, LOGNAME, HOME and SHELL — and u's env
// over that: kopf's own variables (a root daemon's secrets, its PATH)
// never reach a command that runs as someone else, nor a crontab's line
// unless kopf is told to pass them (--crontab-env inherit).
func (s *Supervisor) environ(u *config.Unit, cred *config.Credentials) []string {
	own := cred == nil || cred.Uid == uint32(os.Geteuid())
	if own && !u.CleanEnv {
		env := slices.Clip(s.opts.Environ)
		if cred != nil {
			env = append(env, cred.Env()...)
		}
		return append(env, u.Env...)
	}
	if cred == nil || cred.User == "" {
		// kopf's own user, or a uid with no entry: as cron, the
		// variables of the account the command runs as.
		self := ownCredentials()
		if cred != nil {
			self = &config.Credentials{Uid: cred.Uid}
		}
		cred = self
	}
	env := []string{cronPath}
	if cred.User != "" {
		env = append(env, "USER="+cred.User, "LOGNAME="+cred.User, "HOME="+cred.Home)
	} else {
		env = append(env, "HOME=/") // as docker run --user gives a uid with no entry
	}
	// cron's SHELL, not the login shell: the shell cron runs commands
	// with, unless the crontab (or env) says another.
	env = append(env, "SHELL=/bin/sh")
	return append(env, u.Env...)
}

// ownCredentials is kopf's own user as its passwd entry says, looked up
// once; its name is empty when the uid has none (a container's).
var ownCredentials = sync.OnceValue(func() *config.Credentials {
	id := &config.Identity{User: strconv.Itoa(os.Geteuid())}
	c, err := id.Resolve()
	if err != nil {
		return &config.Credentials{Uid: uint32(os.Geteuid())}
	}
	return c
})
