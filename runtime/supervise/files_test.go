package supervise

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
)

// fakeWatch stands for runtime/watch in the bubble: poke calls the
// changed function of the watch on path, as a file system event would.
type fakeWatch struct {
	mu      sync.Mutex
	changed map[string]func()
}

func (f *fakeWatch) watch(ctx context.Context, paths []string, changed func()) error {
	f.mu.Lock()
	if f.changed == nil {
		f.changed = map[string]func(){}
	}
	for _, p := range paths {
		f.changed[p] = changed
	}
	f.mu.Unlock()
	changed() // as runtime/watch does once its watches are in place
	<-ctx.Done()
	return ctx.Err()
}

func (f *fakeWatch) poke(path string) {
	f.mu.Lock()
	changed := f.changed[path]
	f.mu.Unlock()
	changed()
	synctest.Wait()
}

func TestRestartAndHUPOnChange(t *testing.T) {
	dir := t.TempDir() // real files: their content decides, not the events
	bin, rc := filepath.Join(dir, "tor.bin"), filepath.Join(dir, "tor.rc")
	write := func(path, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(bin, "v1")
	write(rc, "a")
	synctest.Test(t, func(t *testing.T) {
		fw := &fakeWatch{}
		host := &fakeHost{}
		p := &config.Proc{Unit: settings("tor", "tor.bin"), Backoff: []time.Duration{time.Minute},
			RestartOnChange: []string{"tor.bin"}, HUPOnChange: []string{rc}}
		p.Dir = dir
		var got events
		ss := start(t, host, cfgOf(nil, []*config.Proc{p}), Options{WatchFiles: fw.watch, Events: got.record})
		ss.until(5)
		fw.poke(bin) // an event, but the same content: a touch
		write(rc, "b")
		fw.poke(rc)
		ss.until(10)
		write(bin, "v2")
		fw.poke(bin)
		ss.until(20)
		ss.stop()
		// The restart is at once, not after the backoff: the file changed,
		// the proc did not crash.
		if diff := cmp.Diff([]string{"tor.bin@0", "tor.bin@10"}, host.startsOf()); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"1001 SIGHUP@5"}, host.signals); diff != "" {
			t.Errorf("signals (-want +got):\n%s", diff)
		}
		var changes []string
		for _, ev := range got {
			if ev.Type == "file_changed" {
				changes = append(changes, filepath.Base(ev.File)+" "+string(ev.Action))
			}
		}
		if diff := cmp.Diff([]string{"tor.rc hup", "tor.bin restart"}, changes); diff != "" {
			t.Errorf("journal (-want +got):\n%s", diff)
		}
	})
}
