// Package sources reads a daemon's config from all its sources — a kopf
// config file, services directories (service-manager.md's layout, one JSON
// file per service), scripts directories (cronmon's layout, one
// executable per proc), crontabs and cron directories (docs/crontab.md) —
// and reads them again after a change.
//
// A Set remembers what each file held when it last read it: a file whose
// bytes did not change is not parsed again, and a file that became invalid
// keeps its last valid version while its errors are logged, so a bad save
// never stops what is running. After each Rescan the parts are merged; when
// anything changed and the merge is valid, the merged config goes to the
// supervisor, whose fingerprints decide what restarts.
//
// Use, with runtime/watch telling when to look again:
//
//	set := sources.New(spec, log)
//	cfg, err := set.Load(ctx) // for the start; refuses an invalid config file
//	go watch.Watch(ctx, set.Paths(), watch.Options{}, func() {
//		if cfg, _ := set.Rescan(ctx); cfg != nil {
//			supervisor.Reload(cfg)
//		}
//	})
package sources

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/config"
)

// Spec names a daemon's sources.
type Spec struct {
	File     string   // a kopf config file; "" for none
	Services []string // services directories
	Scripts  []string // scripts directories
	Crontabs []string // user crontabs (crontab -e's format)
	// CronDirs are directories of system crontabs (/etc/cron.d), or
	// system crontab files (/etc/crontab): lines with a user field.
	CronDirs []string
	// InheritCrontabEnv passes kopf's own environment to the crontabs'
	// lines that run as kopf's user (kopf run --crontab-env inherit, as
	// supercronic does in a container); by default they get cron's.
	InheritCrontabEnv bool
}

// Paths are the files and directories to watch for changes.
func (s Spec) Paths() []string {
	var out []string
	if s.File != "" {
		out = append(out, s.File)
	}
	out = append(out, s.Services...)
	out = append(out, s.Scripts...)
	out = append(out, s.Crontabs...)
	return append(out, s.CronDirs...)
}

// Set is a Spec and what was last read from each of its files. Its methods
// may be called from any goroutine.
type Set struct {
	spec Spec
	log  *slog.Logger

	mu      sync.Mutex
	files   map[string]*file // by path
	missing map[string]bool  // directories known not to exist
	// The parts as last merged, and what was wrong with them; merged is
	// false before the first Rescan.
	merged   bool
	cfg      *config.Config
	mergeErr error
	// pending is set when a Rescan stopped by its context had read
	// changed files: the next Rescan merges and returns them.
	pending bool
}

// file is what a Set last read from one file.
type file struct {
	sum  string         // of the bytes last read (a script: of its content)
	stat statKey        // a script's, to skip hashing an unchanged file
	part *config.Config // the last valid version; nil when it never was
	err  error          // what is wrong with the file as it is now; nil when valid
	// reported is the error last logged for a file that cannot be read,
	// so that it is logged once, not at every rescan.
	reported string
}

// statKey identifies a file's content without reading it: the same inode,
// size and change time mean the same bytes.
type statKey struct {
	dev, ino   uint64
	size       int64
	ctimeNanos int64
	mtimeNanos int64
}

// New returns a Set for spec that logs to log (nil discards). Scripts
// directories are made absolute: a script runs in its directory, so its
// command must not be relative to kopf's.
func New(spec Spec, log *slog.Logger) *Set {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	spec.Scripts = slices.Clone(spec.Scripts)
	for i, dir := range spec.Scripts {
		if abs, err := filepath.Abs(dir); err == nil {
			spec.Scripts[i] = abs
		}
	}
	return &Set{spec: spec, log: log, files: map[string]*file{}, missing: map[string]bool{}}
}

// Paths are the files and directories to watch for changes.
func (s *Set) Paths() []string { return s.spec.Paths() }

// Load reads every source for the daemon's start and returns the merged
// config. A config file that is missing or invalid is an error, and so is
// a merge that fails (a name defined twice, a trigger to no job); an
// invalid file in a directory is logged and left out, so that one bad drop-
// in does not keep the others from running, and a directory that does not
// exist yet is logged and watched for.
//
// When ctx is done before the sources are read, Load stops between files
// (or between lines of a large crontab) and returns ctx's error: a daemon
// told to stop while it reads a large cron directory stops at once.
func (s *Set) Load(ctx context.Context) (*config.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.spec.File; f != "" {
		if _, _, err := s.readConfig(f); err != nil {
			return nil, err
		}
	}
	for _, path := range s.spec.Crontabs {
		// Named on the command line: one that cannot be read is an
		// error, as the config file is; one with bad lines runs the rest.
		if _, err := s.crontab(ctx, path, config.UserCrontab); err != nil {
			return nil, err
		}
	}
	s.readDirs(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := config.Merge(s.parts()...)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// Rescan reads every source again. It returns the merged config when a
// file changed, appeared or went away and the merge is valid, nil
// otherwise; and what is wrong with the sources now, changed or not: each
// invalid file (which runs its last valid version) and a merge that fails.
// What changed is also logged. When ctx is done during the reading, Rescan
// stops between files and returns nil and ctx's error; what it had read is
// merged by the next Rescan.
func (s *Set) Rescan(ctx context.Context) (*config.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.pending
	if f := s.spec.File; f != "" {
		ch, _, err := s.readConfig(f)
		if err != nil && (ch || s.files[f].reported != err.Error()) {
			LogErrors(s.log, f, "keeping its last valid version", err)
			s.files[f].reported = err.Error()
		}
		changed = changed || ch
	}
	changed = s.readDirs(ctx) || changed
	if err := ctx.Err(); err != nil {
		s.pending = changed
		return nil, err
	}
	s.pending = false
	// The parts are merged again only when one changed: with 10k jobs
	// a merge is most of what a save of the same bytes would cost.
	if changed || !s.merged {
		s.cfg, s.mergeErr = config.Merge(s.parts()...)
		s.merged = true
	}
	cfg, mergeErr := s.cfg, s.mergeErr
	var problems []error
	for _, path := range slices.Sorted(maps.Keys(s.files)) {
		if err := s.files[path].err; err != nil {
			problems = append(problems, err)
		}
	}
	if mergeErr != nil {
		problems = append(problems, mergeErr)
		if changed {
			LogErrors(s.log, "", "the sources do not fit together; keeping the running config", mergeErr)
		}
		cfg = nil
	}
	if !changed {
		cfg = nil
	}
	return cfg, errors.Join(problems...)
}

// parts returns the last valid part of every file, the config file first,
// then each directory's files in the order of the Spec and their names.
func (s *Set) parts() []*config.Config {
	var out []*config.Config
	if f := s.files[s.spec.File]; f != nil && f.part != nil {
		out = append(out, f.part)
	}
	var rest []string
	for path, f := range s.files {
		if path != s.spec.File && f.part != nil {
			rest = append(rest, path)
		}
	}
	dirs := slices.Concat(s.spec.Services, s.spec.Scripts, s.spec.CronDirs)
	slices.SortFunc(rest, func(a, b string) int {
		da, db := slices.Index(dirs, filepath.Dir(a)), slices.Index(dirs, filepath.Dir(b))
		if da != db {
			return da - db
		}
		return strings.Compare(a, b)
	})
	for _, path := range rest {
		out = append(out, s.files[path].part)
	}
	return out
}

// readConfig reads the kopf config file. It reports whether its bytes
// changed and, when they did and are invalid, why; the file then keeps
// its last valid part.
func (s *Set) readConfig(path string) (changed bool, warnings []compile.Warning, err error) {
	src, err := config.ReadFile(path)
	if err != nil {
		// A config file that went away, or cannot be used, keeps its last
		// version: a running daemon stops nothing because of it.
		f := s.files[path]
		if f == nil {
			f = &file{}
			s.files[path] = f
		}
		f.sum, f.err = "", err
		return false, nil, f.err
	}
	// The entries written as they were in the last valid version are
	// taken from it, not decoded again.
	var prev *config.Config
	if f := s.files[path]; f != nil {
		prev = f.part
	}
	return s.parse(path, src, func(path string, src []byte) (*config.Config, []compile.Warning, error) {
		return config.Reparse(path, src, prev)
	})
}

// parse parses src into path's part unless the bytes are the same as last
// time; warnings are logged once, when the bytes change.
func (s *Set) parse(path string, src []byte, parse func(string, []byte) (*config.Config, []compile.Warning, error)) (bool, []compile.Warning, error) {
	sum := digest(src)
	f := s.files[path]
	if f == nil {
		f = &file{}
		s.files[path] = f
	}
	if f.sum == sum {
		return false, nil, nil
	}
	f.sum, f.reported = sum, ""
	cfg, warnings, err := parse(path, src)
	for _, w := range warnings {
		s.log.Warn(w.String(), "file", path)
	}
	f.err = err
	if err != nil {
		return false, warnings, err
	}
	f.part = cfg
	return true, warnings, nil
}

// readDirs reads every services, scripts and cron directory and every
// crontab, and reports whether any file of theirs changed, appeared or
// went away. When ctx is done it stops, between files, and forgets
// nothing it has not seen.
func (s *Set) readDirs(ctx context.Context) bool {
	seen := map[string]bool{}
	changed := false
	for _, k := range dirKinds {
		for _, dir := range k.dirs(s.spec) {
			paths, err := k.list(dir)
			if k.isDir {
				if err != nil {
					s.dirError(dir, err, seen)
					continue
				}
				s.dirFound(dir)
			}
			for _, path := range paths {
				if ctx.Err() != nil {
					return changed
				}
				ch, saw := k.read(s, ctx, path)
				seen[path] = seen[path] || saw
				changed = changed || ch
			}
		}
	}
	if ctx.Err() != nil {
		return changed // a file read in part is not gone
	}
	for path := range s.files {
		if path != s.spec.File && !seen[path] {
			changed = changed || s.files[path].part != nil
			delete(s.files, path)
		}
	}
	return changed
}

// dirKind is one kind of source beside the config file: which of the
// Spec's paths it is, how a path's files are listed, and how one file is
// read — whether it changed, and whether it is there to keep (a file that
// is gone is not).
type dirKind struct {
	dirs  func(Spec) []string
	isDir bool // the paths are directories, whose errors and reappearance are told
	list  func(dir string) ([]string, error)
	read  func(s *Set, ctx context.Context, path string) (changed, seen bool)
}

// dirKinds are the sources beside the config file, in the order they are
// read.
var dirKinds = []dirKind{
	{dirs: func(sp Spec) []string { return sp.Services }, isDir: true, list: ServiceFiles, read: (*Set).serviceFile},
	{dirs: func(sp Spec) []string { return sp.Scripts }, isDir: true, list: ScriptFiles, read: (*Set).scriptFile},
	{dirs: func(sp Spec) []string { return sp.Crontabs }, list: func(path string) ([]string, error) { return []string{path}, nil }, read: (*Set).userCrontab},
	{dirs: func(sp Spec) []string { return sp.CronDirs }, isDir: true, list: cronDirFiles, read: (*Set).systemCrontabFile},
}

// serviceFile reads one file of a services directory (a config file it
// also holds is the config's).
func (s *Set) serviceFile(_ context.Context, path string) (bool, bool) {
	if s.spec.IsConfigFile(path) {
		return false, false
	}
	src, err := config.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, false // gone since the directory was read
	case err != nil:
		LogErrors(s.log, path, "keeping its last valid version", err)
		return false, true
	}
	ch, _, err := s.parse(path, src, config.ParseService)
	if err != nil {
		what := "keeping its last valid version"
		if s.files[path].part == nil {
			what = "not starting it"
		}
		LogErrors(s.log, path, what, err)
	}
	return ch, true
}

// scriptFile reads one executable of a scripts directory.
func (s *Set) scriptFile(_ context.Context, path string) (bool, bool) {
	ch, err := s.script(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, false
	case err != nil:
		s.log.Error(fmt.Sprintf("%s: %v; keeping its last version", path, err), "file", path)
	}
	return ch, true
}

// userCrontab reads a --crontab file.
func (s *Set) userCrontab(ctx context.Context, path string) (bool, bool) {
	ch, err := s.crontab(ctx, path, config.UserCrontab)
	if err != nil && ctx.Err() == nil && s.files[path].reported != err.Error() {
		s.log.Error(fmt.Sprintf("%v; keeping its last version", err), "file", path)
		s.files[path].reported = err.Error()
	}
	return ch, true
}

// systemCrontabFile reads one system crontab.
func (s *Set) systemCrontabFile(ctx context.Context, path string) (bool, bool) {
	return s.systemCrontab(ctx, path), true
}

// cronDirFiles lists a --cron-dir: the system crontabs of a directory, or
// the one named, like /etc/crontab.
func cronDirFiles(dir string) ([]string, error) {
	if info, err := os.Stat(dir); err == nil && info.Mode().IsRegular() {
		return []string{dir}, nil
	}
	return CrontabFiles(dir)
}

// IsConfigFile reports whether path is the config file, which a services
// directory may hold too (kopf.json in /etc/kopf beside the services).
func (s Spec) IsConfigFile(path string) bool {
	if s.File == "" {
		return false
	}
	a, err1 := os.Stat(path)
	b, err2 := os.Stat(s.File)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// dirError logs a directory that cannot be read. One that does not exist
// has no files; one that cannot be read for another reason keeps the files
// last read from it.
func (s *Set) dirError(dir string, err error, seen map[string]bool) {
	if errors.Is(err, fs.ErrNotExist) {
		if !s.missing[dir] {
			s.missing[dir] = true
			s.log.Info(fmt.Sprintf("directory %s does not exist; kopf starts its files when it appears", dir), "dir", dir)
		}
		return
	}
	s.log.Error(fmt.Sprintf("cannot read directory %s: %v; keeping the files last read from it", dir, err), "dir", dir)
	for path := range s.files {
		if filepath.Dir(path) == dir {
			seen[path] = true
		}
	}
}

// dirFound notes that a directory exists, saying so when it was missing.
func (s *Set) dirFound(dir string) {
	if s.missing[dir] {
		delete(s.missing, dir)
		s.log.Info(fmt.Sprintf("directory %s appeared", dir), "dir", dir)
	}
}

// script reads one executable of a scripts directory; its content is
// hashed again only when its inode, size or times changed.
func (s *Set) script(path string) (bool, error) {
	info, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	key := statOf(info)
	f := s.files[path]
	if f != nil && f.stat == key {
		return false, nil
	}
	sum, err := hashFile(path)
	if err != nil {
		return false, err
	}
	if f == nil {
		f = &file{}
		s.files[path] = f
	}
	f.stat = key
	if f.sum == sum {
		return false, nil // touched, not changed
	}
	f.sum = sum
	f.part = config.Script(path, sum)
	return true, nil
}

func statOf(info fs.FileInfo) statKey {
	k := statKey{size: info.Size(), mtimeNanos: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(st.Dev), st.Ino
		k.ctimeNanos = st.Ctim.Nano()
	}
	return k
}

func digest(b []byte) string {
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// LogErrors logs each error of an invalid source as its own record, with
// file:line:col in the message, so it reads the same in text and JSON logs.
func LogErrors(log *slog.Logger, path, what string, err error) {
	var list lang.ErrorList
	if !errors.As(err, &list) || len(list) == 1 && !list[0].Pos.IsValid() {
		// One error about the whole file (it cannot be read): one line.
		log.Error(fmt.Sprintf("%v; %s", err, what), "file", path)
		return
	}
	noun := "errors"
	if len(list) == 1 {
		noun = "error"
	}
	head := fmt.Sprintf("%d %s", len(list), noun)
	if path != "" {
		head = fmt.Sprintf("%s has %s", path, head)
	}
	log.Error(head+"; "+what, "file", path)
	for _, le := range list {
		log.Error(le.Error(), "file", le.Pos.Filename, "line", le.Pos.Line, "col", le.Pos.Col)
	}
}
