package cli

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/kopf/kopf/compile"
)

// BenchmarkNext1000 measures "kopf next -n 1000" against its parts: the
// command should cost little more than formatting the times, with Next's
// share small.
func BenchmarkNext1000(b *testing.B) {
	const src = "*/5 * * * *"
	after := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	loc, err := compile.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	s, err := compile.ParseIn(src, loc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("command", func(b *testing.B) {
		e := &env{stdout: io.Discard, stderr: io.Discard, now: time.Now}
		args := []string{"next", "-n", "1000", "--tz", "America/New_York", "--after", after.Format(time.RFC3339), src}
		for b.Loop() {
			if status := run(context.Background(), e, args); status != exitOK {
				b.Fatalf("status %d", status)
			}
		}
	})
	b.Run("next", func(b *testing.B) {
		for b.Loop() {
			t := after
			for range 1000 {
				t, _ = s.Next(t)
			}
		}
	})
	b.Run("format", func(b *testing.B) {
		t := after.In(loc)
		buf := make([]byte, 0, 64)
		for b.Loop() {
			for i := range 1000 {
				buf = t.Add(time.Duration(i)*5*time.Minute).AppendFormat(buf[:0], time.RFC3339)
			}
		}
	})
}
