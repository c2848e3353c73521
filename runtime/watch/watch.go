package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Options configure Watch.
type Options struct {
	// Debounce is how long the watched paths must be quiet after an event
	// before changed is called; 0 is DefaultDebounce.
	Debounce time.Duration
	// MaxDelay bounds how long a steady stream of events can postpone the
	// call: changed runs at most MaxDelay after the first event of a burst;
	// 0 is DefaultMaxDelay.
	MaxDelay time.Duration
	// Logger receives warnings (a watch that could not be added, an inotify
	// queue overflow); nil discards.
	Logger *slog.Logger
	// Recheck is how often the paths are resolved again, which is how a
	// replaced ancestor directory or symlink is noticed: ancestors are not
	// watched, so that activity in them (a busy /tmp) never wakes kopf; 0
	// is DefaultRecheck.
	Recheck time.Duration

	// events counts what fsnotify delivers, for tests.
	events *atomic.Int64
}

const (
	DefaultDebounce = 250 * time.Millisecond
	DefaultMaxDelay = 2 * time.Second
	DefaultRecheck  = 5 * time.Second
)

// maxRounds bounds the re-sync loop while the tree keeps changing under
// it; whatever is still moving then reports itself with new events.
const maxRounds = 10

// Watch watches paths until ctx is done and calls changed (from Watch's own
// goroutine, never concurrently with itself) once after each burst of file
// system activity that may have changed any of them. It calls changed once
// right after its watches are in place, so that a caller which loaded the
// paths before calling Watch misses nothing that happened in between. It
// returns ctx's error when ctx is done, or an error when fsnotify cannot be
// started at all (e.g. no inotify instances left); a single path that cannot
// be watched is logged and retried on later events, not fatal.
func Watch(ctx context.Context, paths []string, opts Options, changed func()) error {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Recheck <= 0 {
		opts.Recheck = DefaultRecheck
	}
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		abs[i] = a
	}

	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	w := &watcher{
		fs:      fw,
		log:     opts.Logger,
		paths:   abs,
		labels:  map[string]fileID{},
		byID:    map[fileID]string{},
		failing: map[fileID]bool{},
	}
	defer func() {
		// Close waits for fsnotify's reader to stop; its channels close
		// right after, and waiting for that leaves no goroutine behind.
		if fw.Close() == nil {
			for range fw.Events {
			}
		}
	}()
	return w.run(ctx, opts, changed)
}

// watcher is Watch's state; only Watch's goroutine touches it.
type watcher struct {
	fs    *fsnotify.Watcher
	log   *slog.Logger
	paths []string

	plan plan // what to watch and which events count, as of the last re-sync
	// labels and byID are the watches added: fsnotify names each by the
	// path it was added with, and events inside it carry that name.
	labels  map[string]fileID
	byID    map[fileID]string
	failing map[fileID]bool // directories whose Add failed, warned about once
}

func (w *watcher) run(ctx context.Context, opts Options, changed func()) error {
	w.resync()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	changed()

	timer := time.NewTimer(opts.Debounce)
	timer.Stop()
	recheck := time.NewTicker(opts.Recheck)
	defer recheck.Stop()
	var (
		pending bool      // a burst is under way
		start   time.Time // its first event
	)
	note := func() {
		now := time.Now()
		if !pending {
			pending, start = true, now
		}
		timer.Reset(min(opts.Debounce, opts.MaxDelay-now.Sub(start)))
	}

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()

		case ev, ok := <-w.fs.Events:
			if !ok {
				return errors.New("watch: fsnotify stopped")
			}
			if opts.events != nil {
				opts.events.Add(1)
			}
			switch w.classify(ev) {
			case structural:
				// Re-sync at once, so that the inside of a directory that
				// just appeared is watched before files land in it.
				w.resync()
				note()
			case content:
				note()
			}

		case err, ok := <-w.fs.Errors:
			if !ok {
				return errors.New("watch: fsnotify stopped")
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("watch: fsnotify error", "err", err)
				continue
			}
			// Events were lost, possibly a watch's IN_IGNORED, after which
			// fsnotify would believe in a watch the kernel has dropped:
			// start over, and let the caller re-read everything.
			w.log.Warn("watch: inotify queue overflowed, events were lost; re-adding all watches")
			w.reset()
			w.resync()
			note()

		case <-recheck.C:
			// An ancestor replaced (a directory renamed into place, a
			// "current" symlink swapped) moves what a path leads to
			// without an event in any watched directory.
			if w.resync() {
				note()
			}

		case <-timer.C:
			pending = false
			w.resync()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			changed()
		}
	}
}

type relevance int

const (
	irrelevant relevance = iota
	content              // inside a watched directory: the caller re-reads
	structural           // may change what a path leads to: re-sync too
)

func (w *watcher) classify(ev fsnotify.Event) relevance {
	// An event named like a watch is about that directory itself (moved,
	// removed, chmod-ed), or about that entry in its watched parent.
	if _, ok := w.labels[ev.Name]; ok {
		return structural
	}
	id, ok := w.labels[filepath.Dir(ev.Name)]
	if !ok {
		return irrelevant
	}
	in := w.plan[id]
	switch {
	case in == nil:
		return irrelevant
	case in.structural(filepath.Base(ev.Name)):
		return structural
	case in.all:
		return content
	}
	return irrelevant
}

// resync makes the watches match the file system: plan, apply, and plan
// again until nothing changes, so that a directory created or replaced
// while its watch was being added is not left unwatched. It reports
// whether the watches changed.
func (w *watcher) resync() (changed bool) {
	for range maxRounds {
		w.plan = makePlan(w.paths)
		if !w.apply() {
			return changed
		}
		changed = true
	}
	return changed
}

// apply adds and removes watches to match w.plan and reports whether it
// changed anything, or found something that moved since the plan was made.
func (w *watcher) apply() (changed bool) {
	// fsnotify forgets a watch by itself when its directory is removed or
	// moved; forget it here too, even if an inode with the same number has
	// taken its place.
	live := map[string]bool{}
	for _, name := range w.fs.WatchList() {
		live[name] = true
	}
	for label, id := range w.labels {
		switch {
		case !live[label]:
			w.forget(label)
		case w.plan[id] == nil:
			w.remove(label)
			changed = true
		}
	}
	for id := range w.failing {
		if w.plan[id] == nil {
			delete(w.failing, id)
		}
	}

	// Add parents before children, so that anything happening to a child
	// after its parent's watch is in place is seen.
	var add []fileID
	for id := range w.plan {
		if _, ok := w.byID[id]; !ok {
			add = append(add, id)
		}
	}
	slices.SortFunc(add, func(a, b fileID) int {
		return strings.Compare(w.plan[a].path, w.plan[b].path)
	})
	for _, id := range add {
		in := w.plan[id]
		if _, ok := w.labels[in.path]; ok {
			// The name is held by a watch on another inode (one reached
			// another way, a bind mount say). Adding over it would make
			// fsnotify move the name and leave the old kernel watch behind
			// unnamed; the other inode is added under its own path next
			// round.
			w.remove(in.path)
		}
		err := w.fs.Add(in.path)
		switch {
		case err == nil:
			w.labels[in.path], w.byID[id] = id, in.path
			delete(w.failing, id)
			changed = true
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			changed = true // gone since the plan: plan again
		case !w.failing[id]:
			w.failing[id] = true
			w.log.Warn("watch: cannot watch directory; will retry", "dir", in.path, "err", err)
		}
	}
	return changed
}

// remove drops the watch named label. fsnotify may have dropped it already
// (its directory was removed), so errors are of no interest.
func (w *watcher) remove(label string) {
	_ = w.fs.Remove(label)
	w.forget(label)
}

func (w *watcher) forget(label string) {
	delete(w.byID, w.labels[label])
	delete(w.labels, label)
}

// reset removes every watch.
func (w *watcher) reset() {
	for label := range w.labels {
		w.remove(label)
	}
}
