package config

import (
	"runtime"
	"strings"
	"sync"
	"weak"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/lang"
)

// Compiled schedules are cached by what they are compiled from: the text,
// the job's zone and dst, and, for a line with H fields, the job's name.
// Jobs with the same schedule share one compiled Schedule (it is immutable
// and safe for concurrent use), and a reload compiles only the texts it
// has not seen: an unchanged file costs a lookup per schedule. The cache
// holds the schedules weakly, so what no loaded config uses any more is
// collected. Schedules with errors are not cached; they are rare, and
// their errors carry positions the next load would need anyway.
var cache = struct {
	sync.Mutex
	m map[scheduleKey]cached
}{m: map[scheduleKey]cached{}}

type scheduleKey struct {
	text, zone string
	dst        compile.DST
	name       string // for a line with H fields; "" otherwise
}

type cached struct {
	s    weak.Pointer[compile.Schedule]
	cron bool // a crontab line, which cron accepts
}

func keyOf(text string, j *Job) scheduleKey {
	k := scheduleKey{text: text, zone: j.Location.String(), dst: j.DST}
	if strings.Contains(text, "H") {
		k.name = j.Name // H hashes the name
	}
	return k
}

// compiled returns the cached schedule for k, and whether it is a crontab
// line.
func compiled(k scheduleKey) (*compile.Schedule, bool, bool) {
	cache.Lock()
	defer cache.Unlock()
	c, ok := cache.m[k]
	if !ok {
		return nil, false, false
	}
	s := c.s.Value()
	return s, c.cron, s != nil
}

func remember(k scheduleKey, s *compile.Schedule, cron bool) {
	cache.Lock()
	defer cache.Unlock()
	cache.m[k] = cached{s: weak.Make(s), cron: cron}
	runtime.AddCleanup(s, func(k scheduleKey) {
		cache.Lock()
		defer cache.Unlock()
		if c, ok := cache.m[k]; ok && c.s.Value() == nil {
			delete(cache.m, k)
		}
	}, k)
}

// compileSchedule parses and compiles text for j, or takes it from the
// cache.
func compileSchedule(text string, j *Job) (s *compile.Schedule, cron bool, err error) {
	k := keyOf(text, j)
	if s, cron, ok := compiled(k); ok {
		return s, cron, nil
	}
	ast, err := lang.Parse(text)
	if err != nil {
		return nil, false, err
	}
	s, err = compile.CompileWith(ast, compile.Options{Location: j.Location, Name: j.Name})
	if err != nil {
		return nil, false, err
	}
	s = s.WithDST(j.DST)
	remember(k, s, ast.Cron != nil)
	return s, ast.Cron != nil, nil
}

// cachedSchedules is how many schedules the cache holds, for tests.
func cachedSchedules() int {
	cache.Lock()
	defer cache.Unlock()
	return len(cache.m)
}
