package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/scheduler"
)

// A complete program: two jobs, one of which fails; the scheduler reports
// the failure and keeps both scheduled.
func Example() {
	done := make(chan struct{})
	s := scheduler.New(scheduler.Options{
		Limit: 2,
		OnEvent: func(ev scheduler.Event) {
			if ev.Kind == scheduler.Failed {
				fmt.Printf("%s failed: %v\n", ev.Job, ev.Err)
			}
		},
	})
	err := s.Add(scheduler.Job{
		Name:       "cleanup",
		Schedule:   "every 1h @ 15m",
		RunOnStart: true, // also once now
		Timeout:    time.Minute,
		Func: func(ctx context.Context) error {
			fmt.Println("cleaning up")
			close(done)
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = s.Add(scheduler.Job{
		Name:     "report",
		Schedule: "0 9 * * mon-fri in Europe/Berlin",
		Func:     func(ctx context.Context) error { return errors.New("no mail server") },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// A schedule that never fires is refused with its position.
	err = s.Add(scheduler.Job{Name: "never", Schedule: "0 0 30 2 *", Func: func(context.Context) error { return nil }})
	fmt.Println(err)

	s.Start()
	<-done
	if err := s.Stop(context.Background()); err != nil {
		fmt.Println(err)
	}
	st, _ := s.Status("cleanup")
	fmt.Println("cleanup runs:", st.Runs, "next:", st.Next.Minute())
	// Output:
	// scheduler: job "never": schedule "0 0 30 2 *": 1:1: "0 0 30 2 *" never fires: day 30 does not occur in feb
	// cleaning up
	// cleanup runs: 1 next: 15
}

// A job's own time policy: its DST rule, what a fire does while it still
// runs, and a stable jitter that spreads jobs sharing a schedule. Each
// job's offset is a hash of its name, the same in every process.
func Example_timePolicy() {
	s := scheduler.New(scheduler.Options{Location: time.UTC})
	nop := func(context.Context) error { return nil }
	for _, name := range []string{"sync-a", "sync-b"} {
		err := s.Add(scheduler.Job{
			Name:     name,
			Schedule: "0 * * * *",
			Func:     nop,
			Jitter:   30 * time.Minute,                  // each starts a fixed 0-30 min past the hour
			Overlap:  scheduler.OverlapSkip,             // a fire while it still runs is dropped
			DST:      compile.DST{Gap: compile.GapSkip}, // a time the clocks skip does not run
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	// H hashes the name too: one minute and hour for this job.
	if err := s.Add(scheduler.Job{Name: "backup", Schedule: "H H * * *", Func: nop}); err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"sync-a", "sync-b", "backup"} {
		st, _ := s.Status(name)
		fmt.Printf("%s starts at minute %d\n", name, st.Next.Minute())
	}
	// Output:
	// sync-a starts at minute 26
	// sync-b starts at minute 9
	// backup starts at minute 37
}
