package supervise

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/kopf/kopf/runtime/config"
)

// TestCrontabTiming runs a parsed crontab on the bubble's clock for three
// hours: every line fires at its minutes, in its CRON_TZ, later by its
// RANDOM_DELAY's stable offset, and a run still going at its next fire is
// not started twice (cron would start a second copy; kopf skips).
func TestCrontabTiming(t *testing.T) {
	src := "SHELL=/bin/sh\n" +
		"*/40 * * * * quarter\n" +
		"CRON_TZ=Asia/Kolkata\n" + // UTC+05:30: its 06:00 is 00:30 UTC
		"0 6-7 * * * kolkata\n" +
		"CRON_TZ=UTC\n" +
		"RANDOM_DELAY=10\n" +
		"15 1 * * * delayed\n" +
		"RANDOM_DELAY=0\n" +
		"0 * * * * slow\n"
	cfg, _, err := config.ParseCrontab("crontab", []byte(src), config.UserCrontab)
	if err != nil {
		t.Fatal(err)
	}
	var delayed *config.Job
	for _, j := range cfg.Jobs {
		if j.Command[2] == "delayed" {
			delayed = j
		}
	}
	offset := delayed.JitterOffset(cfg.JitterSeed)
	if offset <= 0 || offset >= 10*time.Minute {
		t.Fatalf("RANDOM_DELAY=10 gave the offset %v, want one in (0, 10m)", offset)
	}
	synctest.Test(t, func(t *testing.T) {
		host := &fakeHost{how: func(argv []string) behaviour {
			if argv[2] == "slow" {
				return behaviour{run: 70 * time.Minute} // still running at the next hour
			}
			return behaviour{run: time.Second}
		}}
		ss := start(t, host, cfg, Options{})
		ss.until(3 * 3600)
		ss.stop()
		at := func(cmd string, d time.Duration) string { return fmt.Sprintf("/bin/sh -c %s@%g", cmd, d.Seconds()) }
		want := []string{
			at("kolkata", 30*time.Minute), at("quarter", 40*time.Minute),
			at("quarter", time.Hour), at("slow", time.Hour), // slow runs until 2:10
			at("delayed", time.Hour+15*time.Minute+offset), at("kolkata", 90*time.Minute),
			at("quarter", 100*time.Minute), at("quarter", 2*time.Hour), // no slow: still running
			at("quarter", 160*time.Minute), at("quarter", 3*time.Hour), at("slow", 3*time.Hour),
		}
		if diff := gocmp.Diff(sortByTime(want), sortByTime(host.startsOf())); diff != "" {
			t.Errorf("starts (-want +got):\n%s", diff)
		}
	})
}

// sortByTime orders "argv@seconds" starts by their seconds, then text.
func sortByTime(starts []string) []string {
	out := slices.Clone(starts)
	sec := func(s string) float64 {
		f, _ := strconv.ParseFloat(s[strings.LastIndexByte(s, '@')+1:], 64)
		return f
	}
	slices.SortStableFunc(out, func(a, b string) int {
		if c := cmp.Compare(sec(a), sec(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}
