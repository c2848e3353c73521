package supervise

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/journal"
)

// fileWatch watches a proc's restart-on-change and hup-on-change files and
// acts when their content changes: a touch or a save of the same text does
// nothing. It runs off the loop; its decisions go through call.
type fileWatch struct {
	cancel context.CancelFunc
}

// watchFiles starts watching a proc's files, if it has any, and returns
// the watch to stop when its config changes or it goes away; nil without
// files.
func (s *Supervisor) watchFiles(cfg *config.Proc) *fileWatch {
	if len(cfg.RestartOnChange)+len(cfg.HUPOnChange) == 0 {
		return nil
	}
	abs := func(paths []string) []string {
		var out []string
		for _, path := range paths {
			if !filepath.IsAbs(path) {
				path = filepath.Join(s.dir(cfg.Dir), path)
			}
			out = append(out, path)
		}
		return out
	}
	restart, hup := abs(cfg.RestartOnChange), abs(cfg.HUPOnChange)
	ctx, cancel := context.WithCancel(context.Background())
	w := &fileWatch{cancel: cancel}
	sums := map[string]string{} // owned by the watcher goroutine
	changed := func() {
		var restarted, hupped []string
		for _, path := range slices.Concat(restart, hup) {
			sum := fileSum(path)
			old, seen := sums[path]
			sums[path] = sum
			if !seen || old == sum {
				continue // the first look is the baseline
			}
			if slices.Contains(restart, path) {
				restarted = append(restarted, path)
			} else {
				hupped = append(hupped, path)
			}
		}
		if len(restarted)+len(hupped) > 0 {
			s.call(func(now time.Time) error {
				s.filesChanged(cfg, w, restarted, hupped, now)
				return nil
			})
		}
	}
	s.watching.Go(func() {
		if err := s.opts.WatchFiles(ctx, slices.Concat(restart, hup), changed); err != nil && ctx.Err() == nil {
			s.log.Error(fmt.Sprintf("%s: cannot watch its restart-on-change and hup-on-change files: %v", cfg.Title, err), "unit", cfg.Name)
		}
	})
	return w
}

// stop ends the watch. It does not wait: the watch may be waiting for
// the loop that calls stop; Run waits for every watch once the loop is
// over.
func (w *fileWatch) stop() {
	if w != nil {
		w.cancel()
	}
}

// filesChanged restarts or signals the proc whose files changed, if w is
// still its watch.
func (s *Supervisor) filesChanged(cfg *config.Proc, w *fileWatch, restarted, hupped []string, now time.Time) {
	u := s.units[cfg.Name]
	if u == nil || u.removed {
		return
	}
	if p, ok := u.kind.(*procUnit); !ok || p.files != w {
		return
	}
	s.touch(u)
	for _, path := range restarted {
		s.record(now, journal.Event{Type: journal.FileChanged, Unit: cfg.Name, Kind: "proc", File: path, Action: "restart"})
	}
	for _, path := range hupped {
		s.record(now, journal.Event{Type: journal.FileChanged, Unit: cfg.Name, Kind: "proc", File: path, Action: "hup"})
	}
	r := u.run
	switch {
	case r == nil || r.stopSent:
		// Not running: it starts with the new content anyway.
	case len(restarted) > 0:
		s.stopRun(r, journal.StoppedFileChanged, fmt.Sprintf("restart-on-change: %s changed", restarted[0]))
	default:
		s.log.Info(fmt.Sprintf("hup-on-change: %s changed; sending SIGHUP to %s", hupped[0], cfg.Title), "unit", cfg.Name, "pid", r.p.Pid())
		if err := r.p.Signal(syscall.SIGHUP); err != nil {
			s.log.Warn(fmt.Sprintf("SIGHUP to %s: %v", cfg.Title, err), "unit", cfg.Name)
		}
	}
}

// fileSum is a hash of a file's content; "" when it cannot be read (a
// file that is missing, then created, is a change).
func fileSum(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
