package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/watch"
)

// watchSources calls rescan after each change to the paths and on every
// SIGHUP, until ctx is done or the returned function is called; that
// function returns once no call is running.
func watchSources(ctx context.Context, log *slog.Logger, paths []string, rescan func()) func() {
	ctx, cancel := context.WithCancel(ctx)
	once := func() {
		if ctx.Err() == nil {
			rescan()
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		err := watch.Watch(ctx, paths, watch.Options{Logger: log}, once)
		if err != nil && ctx.Err() == nil {
			log.Error(fmt.Sprintf("cannot watch the sources: %v; changes apply on SIGHUP only", err))
		}
	})
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	wg.Go(func() {
		for {
			select {
			case <-hup:
				log.Info("SIGHUP: reading every source again")
				once()
			case <-ctx.Done():
				return
			}
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

// journalCheck is how often a daemon looks whether its journal file was
// removed or replaced; each event it writes looks too.
const journalCheck = 5 * time.Second

// checkJournal opens the journal again when its file was removed or
// replaced, every journalCheck, until ctx is done or the returned function
// is called.
func checkJournal(ctx context.Context, jnl *journal.Journal) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(journalCheck)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				jnl.Check()
			case <-ctx.Done():
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
