package config

import (
	"runtime"
	"testing"
)

// compiledOf loads a config of jobs and returns each job's first compiled
// schedule, by job name.
func compiledOf(t *testing.T, src string) map[string]any {
	t.Helper()
	cfg := parse(t, "k.json", src)
	out := map[string]any{}
	for _, j := range cfg.Jobs {
		out[j.Name] = j.Schedules[0].Compiled
	}
	return out
}

func TestScheduleCache(t *testing.T) {
	first := compiledOf(t, `{"jobs": {
		"a": {"command": "x", "schedule": "13 7 * * *"},
		"b": {"command": "x", "schedule": "13 7 * * *"},
		"h": {"command": "x", "schedule": "H 7 * * *"},
		"z": {"command": "x", "schedule": "13 7 * * *", "timezone": "Asia/Tokyo"},
		"d": {"command": "x", "schedule": "13 7 * * *", "dst": {"gap": "skip"}}
	}}`)
	if first["a"] != first["b"] {
		t.Error("two jobs with one schedule have two compiled schedules")
	}
	for _, other := range []string{"z", "d"} {
		if first["a"] == first[other] {
			t.Errorf("job %s, with another zone or dst, shares job a's schedule", other)
		}
	}
	// A reload: the unchanged texts come from the cache, a changed one and
	// an H line under another name are compiled anew.
	again := compiledOf(t, `{"jobs": {
		"a": {"command": "x", "schedule": "13 7 * * *"},
		"h2": {"command": "x", "schedule": "H 7 * * *"},
		"z": {"command": "x", "schedule": "13 7 * * *", "timezone": "Asia/Tokyo"},
		"d": {"command": "x", "schedule": "14 7 * * *", "dst": {"gap": "skip"}}
	}}`)
	if again["a"] != first["a"] || again["z"] != first["z"] {
		t.Error("an unchanged schedule was compiled again")
	}
	if again["d"] == first["d"] {
		t.Error("a changed schedule was not compiled again")
	}
	if again["h2"] == first["h"] {
		t.Error("an H line shares the schedule hashed from another job's name")
	}
	runtime.KeepAlive(first)
}

func TestScheduleCacheLetsGo(t *testing.T) {
	before := cachedSchedules()
	cfg := parse(t, "k.json", `{"jobs": {"a": {"command": "x", "schedule": "every 1d @ 05:43:21"}}}`)
	if cachedSchedules() != before+1 {
		t.Fatalf("the cache grew by %d for one schedule", cachedSchedules()-before)
	}
	runtime.KeepAlive(cfg)
	cfg = nil
	for i := 0; i < 200 && cachedSchedules() > before; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if cachedSchedules() > before {
		t.Errorf("the cache holds %d schedules once no config uses one, want %d", cachedSchedules(), before)
	}
}

// A schedule taken from the cache still has its warnings, placed in the
// file that uses it.
func TestCachedScheduleWarnings(t *testing.T) {
	src := `{"jobs": {"a": {"command": "x", "schedule": "every 7m"}}}`
	for i := range 2 {
		_, warnings, err := Parse("k.json", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 1 || warnings[0].Pos.Line != 1 || warnings[0].Pos.Col < 40 {
			t.Errorf("load %d: warnings %v, want the one about 7m, in the file", i+1, warnings)
		}
	}
}
