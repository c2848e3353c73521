package supervise

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRestartBackoffAndIdle(t *testing.T) {
	cronmon := []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute}
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		backoff []time.Duration
		idle    time.Duration
		runs    []time.Duration
		want    []time.Duration // restart delay after each exit, from the exit
	}{
		{
			name:    "crash loop walks the list, last entry repeats",
			backoff: cronmon,
			runs:    []time.Duration{time.Second, time.Second, time.Second, time.Second, time.Second},
			want:    []time.Duration{0, 5 * time.Second, 15 * time.Second, time.Minute, time.Minute},
		},
		{
			name:    "idle keeps starts apart when backoff is shorter",
			backoff: cronmon,
			idle:    10 * time.Second,
			runs:    []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second},
			// 0s backoff but idle 10s from the start: 8s; 5s vs 8s: 8s; 15s wins.
			want: []time.Duration{8 * time.Second, 8 * time.Second, 15 * time.Second},
		},
		{
			name:    "a healthy run starts the list over",
			backoff: cronmon,
			runs:    []time.Duration{time.Second, time.Second, time.Minute, time.Second},
			want:    []time.Duration{0, 5 * time.Second, 0, 5 * time.Second},
		},
		{
			name:    "no backoff list means immediate restarts, idle still holds",
			backoff: nil,
			idle:    3 * time.Second,
			runs:    []time.Duration{time.Second, 5 * time.Second},
			want:    []time.Duration{2 * time.Second, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRestarts(tt.backoff, tt.idle)
			start := t0
			var got []time.Duration
			for _, up := range tt.runs {
				exit := start.Add(up)
				at, reason := r.exited(start, exit)
				if reason == "" {
					t.Error("no reason given")
				}
				got = append(got, at.Sub(exit))
				start = at
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("restart delays (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHealthyAfter(t *testing.T) {
	if got := healthyAfter([]time.Duration{0, 5 * time.Second}); got != 10*time.Second {
		t.Errorf("healthyAfter(short list) = %s, want the 10s floor", got)
	}
	if got := healthyAfter([]time.Duration{0, 5 * time.Minute}); got != 5*time.Minute {
		t.Errorf("healthyAfter = %s, want the longest step", got)
	}
}

// The reason reads plainly: after an exit 0 it must not say "exit 1".
func TestRestartReason(t *testing.T) {
	r := newRestarts([]time.Duration{0, 5 * time.Second}, 0)
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var got []string
	for i, up := range []time.Duration{time.Second, 2 * time.Second, time.Minute} {
		_, reason := r.exited(t0, t0.Add(up))
		got = append(got, reason)
		t0 = t0.Add(time.Duration(i+1) * time.Hour)
	}
	want := []string{
		"backoff 0s after 1s up (a short run: under 10s)",
		"backoff 5s after 2s up (2 short runs in a row, each under 10s)",
		"backoff 0s after 1m0s up (healthy, backoff starts over)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
}
