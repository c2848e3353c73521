package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"time"

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
