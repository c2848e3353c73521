package sources

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
)

// CrontabFiles lists the system crontabs of a directory like /etc/cron.d,
// sorted: regular files (or symlinks to them), except the names Ignored
// skips (cronie skips hidden names, #…#, …~ and rpm's leftovers too).
func CrontabFiles(dir string) ([]string, error) {
	return list(dir, func(string, fs.FileMode) bool { return true })
}

// geteuid is os.Geteuid; tests replace it.
var geteuid = os.Geteuid

// CheckCrontabFile refuses a crontab file the way cronie refuses one,
// saying which check failed: it must be a regular file, owned by root (or
// by the user kopf runs as), and writable by no one else (group and
// others); a system crontab must also not be executable or set-id, as
// cronie's check of its mode demands.
func CheckCrontabFile(path string, kind config.Crontab) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	mode := info.Mode()
	switch {
	case !mode.IsRegular():
		return fmt.Errorf("%s is not a regular file; cron reads only regular files", path)
	case !ok:
	case st.Uid != 0 && int(st.Uid) != geteuid():
		return fmt.Errorf("%s is owned by uid %d, not by root or kopf's user (uid %d): cron refuses a crontab anyone else could have written (chown root %s)", path, st.Uid, geteuid(), path)
	case mode.Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by its group or by others (mode %04o): cron refuses it, since anyone who can write it runs commands as its users (chmod go-w %s)", path, mode.Perm(), path)
	case kind == config.SystemCrontab && (mode.Perm()&0o111 != 0 || mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0):
		return fmt.Errorf("%s is executable or set-id (mode %04o): cronie refuses such a system crontab (chmod 0644 %s)", path, mode.Perm(), path)
	}
	return nil
}

// systemCrontab reads one file of a cron directory, logging what is
// wrong with it; it reports whether its jobs changed.
func (s *Set) systemCrontab(ctx context.Context, path string) bool {
	ch, err := s.crontab(ctx, path, config.SystemCrontab)
	if err != nil && ctx.Err() == nil && !errors.Is(err, fs.ErrNotExist) && s.files[path].reported != err.Error() {
		s.log.Error(fmt.Sprintf("%v; keeping its last version", err), "file", path)
		s.files[path].reported = err.Error()
	}
	return ch
}

// crontab reads a crontab file unless its bytes are the same as last
// time. Its valid lines' jobs are its part, its bad lines are logged and
// left out — but while it has bad lines, the jobs of its last version that
// are not among the new ones stay too: a bad save stops nothing that
// runs (a line being edited keeps its last good version until the file
// is fixed). The error returned is one that keeps the file from being
// read at all (it keeps its last part), or ctx's when it is done during
// the reading (the file is then read again next time).
func (s *Set) crontab(ctx context.Context, path string, kind config.Crontab) (bool, error) {
	f := s.files[path]
	if f == nil {
		f = &file{}
		s.files[path] = f
	}
	if err := CheckCrontabFile(path, kind); err != nil {
		f.sum, f.err = "", err
		return false, err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		f.sum, f.err = "", err
		return false, err
	}
	sum := digest(src)
	if f.sum == sum {
		return false, nil
	}
	cfg, warnings, err := config.ParseCrontabContext(ctx, path, src, kind)
	if ctx.Err() != nil {
		// Stopping: the file's warnings and errors are not logged (a
		// large file's take seconds), and it is read again next time.
		return false, ctx.Err()
	}
	f.sum, f.reported = sum, ""
	if s.spec.InheritCrontabEnv {
		for _, j := range cfg.Jobs {
			j.CleanEnv = false // a line run as another user gets cron's all the same
		}
	}
	for _, w := range warnings {
		s.log.Warn(w.String(), "file", path)
	}
	f.err = err
	if cfg == nil { // the file as a whole cannot be read (too large)
		return false, err
	}
	if err != nil {
		var list lang.ErrorList
		errors.As(err, &list)
		kept := keepOld(cfg, f.part)
		what := "leaving those lines out"
		if kept > 0 {
			what = fmt.Sprintf("leaving those lines out, and keeping %d job%s of its last version until it is fixed", kept, plural(kept))
		}
		LogErrors(s.log, path, what, err)
	}
	f.part = cfg
	return true, nil
}

// keepOld adds to cfg the jobs of prev whose names it does not have, and
// returns how many.
func keepOld(cfg, prev *config.Config) int {
	if prev == nil {
		return 0
	}
	have := map[string]bool{}
	for _, j := range cfg.Jobs {
		have[j.Name] = true
	}
	n := 0
	for _, j := range prev.Jobs {
		if !have[j.Name] {
			cfg.Jobs = append(cfg.Jobs, j)
			n++
		}
	}
	if n > 0 {
		slices.SortFunc(cfg.Jobs, func(a, b *config.Job) int { return strings.Compare(a.Name, b.Name) })
	}
	return n
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
