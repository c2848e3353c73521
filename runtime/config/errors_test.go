package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each error and warning kind, with the exact message kopf check prints.
// Columns count characters from 1; a JSON string's text starts one column
// after its opening quote.

func TestStructureErrors(t *testing.T) {
	runProblems(t, []problemTest{
		{"empty object is a valid config", "", `{}`, nil},
		{"null sections are empty", "", `{"jobs": null, "procs": null}`, nil},
		{"top level not an object", "", `["jobs"]`, []string{
			`k.json:1:1: expected an object with "jobs" and/or "procs", found an array`,
		}},
		{"unknown top-level key with a suggestion", "", `{"job": {}}`, []string{
			`k.json:1:2: unknown top-level key "job" (did you mean "jobs"?)`,
		}},
		{"unknown top-level key", "", `{"name": "cleanup_logs"}`, []string{
			`k.json:1:2: unknown top-level key "name"; expected "jobs", "procs", "protos" or "mail"`,
		}},
		{"setting at the top level", "", `{"command": "true"}`, []string{
			`k.json:1:2: unknown top-level key "command": settings go inside a named job or proc, like {"jobs": {"NAME": {"command": …}}}`,
		}},
		{"jobs not an object", "", `{"jobs": ["a"]}`, []string{
			`k.json:1:10: "jobs" must be an object from names to settings, found an array`,
		}},
		{"procs not an object", "", `{"procs": "tor"}`, []string{
			`k.json:1:11: "procs" must be an object from names to settings, found the string "tor"`,
		}},
		{"job not an object", "", `{"jobs": {"a": "echo hi"}}`, []string{
			`k.json:1:16: job "a" must be an object of settings, found the string "echo hi"`,
		}},
		{"proc not an object", "", `{"procs": {"tor": true}}`, []string{
			`k.json:1:19: proc "tor" must be an object of settings, found a boolean (true)`,
		}},
		{"empty name", "", `{"jobs": {"": {"command": "x"}}}`, []string{
			`k.json:1:11: a job needs a name; "" is none`,
		}},
		{"job and proc share a name", "", `{"jobs": {"x": {"command": "a"}}, "procs": {"x": {"command": "b"}}}`, []string{
			`k.json:1:45: "x" is the name of a job (at 1:11) and of a proc; names must differ`,
		}},
		{"proc without command", "", `{"procs": {"tor": {}}}`, []string{
			`k.json:1:12: proc "tor" has no "command"; a proc needs one to run`,
		}},
	})
}

func TestKeyErrors(t *testing.T) {
	runProblems(t, []problemTest{
		{"unknown key with underscore", "", `{"jobs": {"a": {"command": "x", "stop_time": 5}}}`, []string{
			`k.json:1:33: unknown key "stop_time" in job "a" (did you mean "stop-time"?)`,
		}},
		{"unknown key with a typo", "", `{"procs": {"p": {"command": "x", "comand": 1}}}`, []string{
			`k.json:1:34: unknown key "comand" in proc "p" (did you mean "command"?)`,
		}},
		{"unknown key in capitals", "", `{"jobs": {"a": {"command": "x", "Log-Start": true}}}`, []string{
			`k.json:1:33: unknown key "Log-Start" in job "a" (did you mean "log-start"?)`,
		}},
		{"unknown key without a suggestion", "", `{"jobs": {"a": {"command": "x", "tool": "y"}}}`, []string{
			`k.json:1:33: unknown key "tool" in job "a"`,
		}},
		{"job key on a proc", "", `{"procs": {"tor": {"command": "tor", "cron": "5"}}}`, []string{
			`k.json:1:38: "cron" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "tor" under "jobs")`,
		}},
		{"health on a job", "", `{"jobs": {"a": {"command": "x", "health": {"http": "/h"}}}}`, []string{
			`k.json:1:33: "health" is only for procs: jobs are not kept running (a job that should always run is a proc; move "a" under "procs")`,
		}},
		{"restart-on-change on a job", "", `{"jobs": {"a": {"command": "x", "restart-on-change": "a"}}}`, []string{
			`k.json:1:33: "restart-on-change" is only for procs: jobs are not kept running (a job that should always run is a proc; move "a" under "procs")`,
		}},
		{"hup-on-change on a job", "", `{"jobs": {"a": {"command": "x", "hup-on-change": "a"}}}`, []string{
			`k.json:1:33: "hup-on-change" is only for procs: jobs are not kept running (a job that should always run is a proc; move "a" under "procs")`,
		}},
		{"max-failures on a proc", "", `{"procs": {"p": {"command": "x", "max-failures": 3}}}`, []string{
			`k.json:1:34: "max-failures" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "p" under "jobs")`,
		}},
		{"backoff is for jobs too", "", `{"jobs": {"a": {"command": "x", "backoff": [1], "max-failures": 2}}}`, nil},
		{"protos misspelt in a job", "", `{"jobs": {"j": {"command": "x", "protos": "a"}}}`, []string{
			`k.json:1:33: unknown key "protos" in job "j" (did you mean "proto"?)`,
		}},
		{"duplicate key", "", `{"jobs": {"a": {"command": "x", "command": "y"}}}`, []string{
			`k.json:1:33: duplicate key "command"; the first is at 1:17`,
		}},
		{"duplicate job", "", "{\"jobs\": {\n  \"a\": {\"command\": \"x\"},\n  \"a\": {}}}", []string{
			`k.json:3:3: duplicate key "a"; the first is at 2:3`,
		}},
		{"duplicate job among many", "", "{\"jobs\": {\n" + manyJobs(20) + "  \"j7\": {}}}", []string{
			`k.json:22:3: duplicate key "j7"; the first is at 8:3`,
		}},
		{"schedule and scheduling", "", `{"jobs": {"a": {"command": "x", "scheduling": "@ 04:15", "schedule": "@ 05:15"}}}`, []string{
			`k.json:1:58: "schedule" and "scheduling" are the same key; give one`,
		}},
	})
}

func TestTypeErrors(t *testing.T) {
	job := func(settings string) string { return `{"jobs": {"a": {` + settings + `}}}` }
	// The value of the first setting starts at column 17 + len(key) + 4.
	runProblems(t, []problemTest{
		{"string", "", job(`"dir": 5, "command": "x"`), []string{
			`k.json:1:24: "dir" must be a string, found a number (5)`,
		}},
		{"boolean", "", job(`"log-start": "yes", "command": "x"`), []string{
			`k.json:1:30: "log-start" must be true or false, found the string "yes"`,
		}},
		{"duration", "", job(`"period": true, "command": "x"`), []string{
			`k.json:1:27: "period" must be a duration: seconds as a number, or a string like "90s", "1h30m" or "2d"; found a boolean (true)`,
		}},
		{"command", "", job(`"command": {"run": "x"}`), []string{
			`k.json:1:28: "command" must be a string (run by /bin/sh -c) or an array of strings (run directly), found an object`,
		}},
		{"command element", "", job(`"command": ["sleep", 5]`), []string{
			`k.json:1:38: the elements of "command" must be strings, found a number (5)`,
		}},
		{"env", "", job(`"command": "x", "env": ["A=1"]`), []string{
			`k.json:1:40: "env" must be an object from variable names to values, found an array`,
		}},
		{"env value", "", job(`"command": "x", "env": {"A": {}, "B": [1]}`), []string{
			`k.json:1:46: the value of "A" in "env" must be a string, number, boolean or null (unset), found an object`,
			`k.json:1:55: the value of "B" in "env" must be a string, number, boolean or null (unset), found an array`,
		}},
		{"mail-to", "", job(`"command": "x", "mail-to": {"a": "b"}`), []string{
			`k.json:1:44: "mail-to" must be an email address or an array of them, found an object`,
		}},
		{"mail-from", "", job(`"command": "x", "mail-to": "a@b.c", "mail-from": ["a@b.c"]`), []string{
			`k.json:1:66: "mail-from" must be a string, found an array`,
		}},
		{"timezone", "", job(`"command": "x", "timezone": 1`), []string{
			`k.json:1:45: "timezone" must be a string, found a number (1)`,
		}},
		{"schedule", "", job(`"command": "x", "schedule": {"@ 04:15": []}`), []string{
			`k.json:1:45: "schedule" must be a schedule or an array of schedules, found an object`,
		}},
		{"scheduling element", "", job(`"command": "x", "scheduling": ["@ 04:15", 5]`), []string{
			`k.json:1:59: the elements of "scheduling" must be strings, found a number (5)`,
		}},
		{"cron", "", job(`"command": "x", "cron": 5`), []string{
			`k.json:1:41: "cron" must be a crontab line, an array of them, or an object from crontab lines to extra arguments, found a number (5)`,
		}},
		{"cron arguments", "", job(`"command": "x", "cron": {"0 17": {"x": 1}}`), []string{
			`k.json:1:50: "arguments" must be an argument string or an array of them, found an object`,
		}},
		{"trigger", "", job(`"command": "x", "trigger": 5`), []string{
			`k.json:1:44: "trigger" must be a job name, an array of them, or an object from job names to extra arguments, found a number (5)`,
		}},
		{"trigger arguments", "", `{"jobs": {"a": {"command": "x", "trigger": {"b": [1]}}, "b": {"command": "y"}}}`, []string{
			`k.json:1:51: the elements of "arguments" must be strings, found a number (1)`,
		}},
		{"backoff", "", `{"procs": {"p": {"command": "x", "backoff": "5s"}}}`, []string{
			`k.json:1:45: "backoff" must be an array of durations (seconds as numbers, or strings like "5s" or "1m"), found the string "5s"`,
		}},
	})
}

func TestValueErrors(t *testing.T) {
	job := func(settings string) string { return `{"jobs": {"a": {"command": "x", ` + settings + `}}}` }
	// The value of the setting starts at column 33 + len(key) + 4.
	runProblems(t, []problemTest{
		{"catch-up value", "", job(`"catch-up": "every", "cron": "0 4"`), []string{
			`k.json:1:45: "catch-up" must be "none", "last" or "all", found "every"`,
		}},
		{"overlap value", "", job(`"overlap": "wait", "cron": "0 4"`), []string{
			`k.json:1:44: "overlap" must be "queue", "skip" or "replace", found "wait"`,
		}},
		{"overlap without a schedule", "", job(`"overlap": "skip", "period": 60`), []string{
			`k.json:1:44: warning: "overlap" has no effect without a schedule: it decides what a schedule fire does while the job runs`,
		}},
		{"catch-up-within without catch-up", "", job(`"catch-up-within": "1h", "cron": "0 4"`), []string{
			`k.json:1:52: warning: "catch-up-within" has no effect without "catch-up": "last" or "all"`,
		}},
		{"catch-up type", "", job(`"catch-up": true, "cron": "0 4"`), []string{
			`k.json:1:45: "catch-up" must be a string, found a boolean (true)`,
		}},
		{"dst type", "", job(`"dst": "skip", "cron": "0 4"`), []string{
			`k.json:1:40: "dst" must be an object like {"gap": "skip", "overlap": "both"}, found the string "skip"`,
		}},
		{"dst key", "", job(`"dst": {"gaps": "skip"}, "cron": "0 4"`), []string{
			`k.json:1:41: unknown key "gaps" in "dst" (did you mean "gap"?); expected "gap" or "overlap"`,
		}},
		{"dst value", "", job(`"dst": {"overlap": "twice"}, "cron": "0 4"`), []string{
			`k.json:1:52: unknown overlap policy "twice"; expected first, second or both`,
		}},
		{"dst value type", "", job(`"dst": {"gap": true}, "cron": "0 4"`), []string{
			`k.json:1:48: "dst gap" must be a string, found a boolean (true)`,
		}},
		{"dst without a schedule", "", job(`"dst": {"gap": "skip"}, "period": 60`), []string{
			`k.json:1:40: warning: "dst" has no effect without a schedule`,
		}},
		{"negative number", "", job(`"pause": -5`), []string{
			`k.json:1:42: "pause" must not be negative, found -5`,
		}},
		{"negative string", "", job(`"pause": "-5m"`), []string{
			`k.json:1:42: "pause" must not be negative, found -5m`,
		}},
		{"duration without unit", "", job(`"period": "90"`), []string{
			`k.json:1:43: invalid duration "90" for "period": a number without a unit; write 90 (no quotes) for seconds, or "90s"`,
		}},
		{"duration with an unknown unit", "", job(`"period": "2 days"`), []string{
			`k.json:1:43: invalid duration "2 days" for "period": expected a unit (s, m, h, d or w) after "2"`,
		}},
		{"empty duration", "", job(`"timeout": ""`), []string{
			`k.json:1:44: invalid duration "" for "timeout": it is empty`,
		}},
		{"duration too long", "", job(`"random": 1e300`), []string{
			`k.json:1:43: "random" is too long: 1e300`,
		}},
		{"duration string too long", "", job(`"random": "300000w"`), []string{
			`k.json:1:43: "random" is too long: 300000w`,
		}},
		{"empty command", "", `{"procs": {"p": {"command": "  "}}}`, []string{
			`k.json:1:29: "command" is empty`,
		}},
		{"empty command array", "", `{"procs": {"p": {"command": []}}}`, []string{
			`k.json:1:29: "command" is an empty array; it needs at least the program to run`,
		}},
		{"empty program", "", `{"procs": {"p": {"command": ["", "x"]}}}`, []string{
			`k.json:1:30: the program in "command" is empty`,
		}},
		{"NUL in a command", "", `{"procs": {"p": {"command": ["a\u0000b"]}}}`, []string{
			`k.json:1:32: "command" contains a NUL character, which no command line or path can hold`,
		}},
		{"environment names", "", job(`"env": {"": 1, "A=B": 2, "OK": 3}`), []string{
			`k.json:1:41: an environment variable needs a name; "" is none`,
			`k.json:1:48: invalid environment variable name "A=B": it contains '='`,
		}},
		{"email addresses", "", job(`"mail-to": ["ops@example.com", "ops x"], "mail-from": "kopf@"`), []string{
			`k.json:1:64: invalid email address "ops x" in "mail-to": no angle-addr`,
			`k.json:1:87: invalid email address "kopf@" in "mail-from": missing '@' or angle-addr`,
		}},
		{"a local name, as cron's MAILTO=root", "", job(`"mail-to": "root", "mail-from": "kopf"`), nil},
		{"unknown zone", "", job(`"timezone": "Europe/Berln"`), []string{
			`k.json:1:45: unknown time zone "Europe/Berln"; expected an IANA name like Europe/Berlin, UTC or Local`,
		}},
		{"empty zone", "", job(`"timezone": ""`), []string{
			`k.json:1:45: "timezone" is empty; expected an IANA name like Europe/Berlin, UTC or Local`,
		}},
		{"empty title", "", job(`"title": ""`), []string{
			`k.json:1:42: "title" is empty; leave it out to use the name`,
		}},
		{"empty backoff", "", `{"procs": {"p": {"command": "x", "backoff": []}}}`, []string{
			`k.json:1:45: "backoff" is empty; give at least one duration (the last one repeats)`,
		}},
		{"bad backoff element", "", `{"procs": {"p": {"command": "x", "backoff": [1, "-1s"]}}}`, []string{
			`k.json:1:49: "backoff" must not be negative, found -1s`,
		}},
	})
}

func TestScheduleProblems(t *testing.T) {
	runProblems(t, []problemTest{
		{"error inside a JSON string", "", `{"jobs": {"a": {"command": "x", "schedule": "every 1d offset"}}}`, []string{
			// The string's text starts at column 46; the error is at the
			// compiler's column 16, the end of the text.
			`k.json:1:61: expected a duration like 50m or a clock time like 04:15 after "offset", found end of input`,
		}},
		{"every error of a schedule", "", `{"jobs": {"a": {"command": "x", "cron": "70 25 * * *"}}}`, []string{
			`k.json:1:42: 70 is out of range for the minute field; expected 0 to 59`,
			`k.json:1:45: 25 is out of range for the hour field; expected 0 to 23`,
		}},
		{"escapes before the error", "", `{"jobs": {"a": {"command": "x", "schedule": "every\t1d \u0040 25:00"}}}`, []string{
			`k.json:1:63: 25:00 is outside the day: hours run from 00 to 23 (24:00 may only end a window)`,
		}},
		{"characters before the error count once", "", `{"jobs": {"a": {"command": "x", "title": "Zürich", "schedule": "@ 04:15 in Zürich"}}}`, []string{
			`k.json:1:77: unexpected character 'ü'`,
		}},
		{"second line of an array", "", "{\"jobs\": {\"a\": {\"command\": \"x\", \"schedule\": [\n  \"@ 04:15\",\n  \"every 7m\"]}}}", []string{
			`k.json:3:10: warning: 7m does not divide a day: times restart at midnight, so 23:55 is followed by 00:00, 5m later`,
		}},
		{"cron map key", "", `{"jobs": {"a": {"command": "x", "cron": {"*/7 * * * *": ["--x"]}}}}`, []string{
			`k.json:1:43: warning: */7 does not divide the hour: after minute 56 comes 0, 4 apart instead of 7`,
		}},
		{"never fires", "", `{"jobs": {"a": {"command": "x", "cron": ["0 0 30 2 *"]}}}`, []string{
			`k.json:1:43: "0 0 30 2 *" never fires: day 30 does not occur in feb`,
		}},
		{"empty schedule", "", `{"jobs": {"a": {"command": "x", "schedule": ""}}}`, []string{
			`k.json:1:46: the schedule is empty; expected a crontab line like "0 4 * * *" or an every-expression like "every 10m"`,
		}},
		{"every-language under cron", "", `{"jobs": {"a": {"command": "x", "cron": "every 5m"}}}`, []string{
			`k.json:1:42: "every 5m" is not a crontab line; write the every-language under "schedule"`,
		}},
		{"crontab line under schedule", "", `{"jobs": {"a": {"command": "x", "schedule": "*/5 * * * *"}}}`, nil},
		{"zone of the schedule", "", `{"jobs": {"a": {"command": "x", "schedule": "@ 04:15 in Mars/Base"}}}`, []string{
			`k.json:1:57: unknown time zone "Mars/Base"; expected an IANA name like Europe/Berlin, UTC or Local`,
		}},
	})
}

func TestTriggerProblems(t *testing.T) {
	runProblems(t, []problemTest{
		{"unknown job with a suggestion", "", `{"jobs": {"a": {"trigger": "reprot"}, "report": {"command": "x"}}}`, []string{
			`k.json:1:28: no job named "reprot" to trigger (did you mean "report"?)`,
		}},
		{"unknown job", "", `{"jobs": {"a": {"trigger": ["nope"]}}}`, []string{
			`k.json:1:29: no job named "nope" to trigger`,
		}},
		{"a proc", "", `{"jobs": {"a": {"trigger": {"tor": "--reload"}}}, "procs": {"tor": {"command": "tor"}}}`, []string{
			`k.json:1:29: "tor" is a proc; only jobs can be triggered`,
		}},
		{"twice", "", `{"jobs": {"a": {"trigger": ["b", "b"]}, "b": {"command": "x"}}}`, []string{
			`k.json:1:34: "b" is triggered twice; the first is at 1:29`,
		}},
		{"a broken job is no second error", "", `{"jobs": {"a": {"trigger": "b"}, "b": 5}}`, []string{
			`k.json:1:39: job "b" must be an object of settings, found a number (5)`,
		}},
		{"itself", "", `{"jobs": {"a": {"command": "x", "trigger": "a"}}}`, []string{
			`k.json:1:44: trigger cycle: a → a`,
		}},
		{"two jobs", "", "{\"jobs\": {\n\"b\": {\"command\": \"x\", \"trigger\": \"a\"},\n\"a\": {\"command\": \"y\", \"trigger\": [\"c\", \"b\"]},\n\"c\": {\"command\": \"z\"}}}", []string{
			`k.json:3:40: trigger cycle: a → b → a`,
		}},
		{"three jobs and a second ring", "", `{"jobs": {
"c": {"trigger": "a"},
"b": {"trigger": "c"},
"a": {"trigger": {"b": ["x"]}},
"y": {"trigger": "z"},
"z": {"trigger": "y"}}}`, []string{
			`k.json:4:19: trigger cycle: a → b → c → a`,
			`k.json:5:18: trigger cycle: y → z → y`,
		}},
		{"shortest way around", "", `{"jobs": {
"a": {"trigger": ["b", "c"]},
"b": {"trigger": "c"},
"c": {"trigger": "a"}}}`, []string{
			`k.json:2:24: trigger cycle: a → c → a`,
		}},
	})
}

func TestWarnings(t *testing.T) {
	runProblems(t, []problemTest{
		{"does nothing", "", `{"jobs": {"idle": {"period": 60}}}`, []string{
			`k.json:1:11: warning: job "idle" has neither "command" nor "trigger": it does nothing`,
		}},
		{"only triggers is something", "", `{"jobs": {"a": {"trigger": "b"}, "b": {"command": "x"}}}`, nil},
		{"timeout shorter than stop-time", "", `{"jobs": {"a": {"command": "x", "timeout": 5}}}`, []string{
			`k.json:1:44: warning: timeout 5s is shorter than stop-time 10s: a run that times out may go on for longer than it was allowed to run while it stops`,
		}},
		{"timeout at stop-time", "", `{"jobs": {"a": {"command": "x", "timeout": "10s"}}}`, nil},
		{"random without period or pause", "", `{"jobs": {"a": {"command": "x", "random": "1h", "cron": "0 4"}}}`, []string{
			`k.json:1:43: warning: "random" has no effect without "period" or "pause"`,
		}},
		{"catch-up without a schedule", "", `{"jobs": {"a": {"command": "x", "period": "1h", "catch-up": "last"}}}`, []string{
			`k.json:1:61: warning: "catch-up" has no effect without a schedule`,
		}},
		{"random with pause", "", `{"jobs": {"a": {"command": "x", "random": "1h", "pause": "1h"}}}`, nil},
		{"backoff without max-failures", "", `{"jobs": {"a": {"command": "x", "backoff": [1]}}}`, []string{
			`k.json:1:44: warning: "backoff" has no effect without "max-failures": a job's backoff is the wait before retrying a failed run`,
		}},
		{"backoff with max-failures 0", "", `{"jobs": {"a": {"command": "x", "backoff": [1], "max-failures": 0}}}`, []string{
			`k.json:1:44: warning: "backoff" has no effect without "max-failures": a job's backoff is the wait before retrying a failed run`,
		}},
		{"health timeout longer than its interval", "", `{"procs": {"p": {"command": "x", "health": {"command": "c", "timeout": "20s"}}}}`, []string{
			`k.json:1:72: warning: health timeout 20s is longer than its interval 10s: checks would overlap; kopf waits for each`,
		}},
		{"health interval shorter than the default timeout", "", `{"procs": {"p": {"command": "x", "health": {"command": "c", "interval": 0.5}}}}`, []string{
			`k.json:1:73: warning: health timeout 1s is longer than its interval 500ms: checks would overlap; kopf waits for each`,
		}},
		{"unused proto", "", `{"protos": {"base": {"command": "x"}}}`, []string{
			`k.json:1:13: warning: proto "base" is not used`,
		}},
		// A proto may be shared by units it fits only in part: what it
		// gives a unit in vain draws no warning there.
		{"no effect, inherited", "", `{"protos": {"m": {"mail-from": "k@example.com", "backoff": [1], "random": 5, "catch-up": "last"}}, "jobs": {"a": {"proto": "m", "command": "x"}}}`, nil},
		{"no effect, written", "", `{"protos": {"m": {"command": "x"}}, "jobs": {"a": {"proto": "m", "mail-from": "k@example.com", "backoff": [1]}}}`, []string{
			`k.json:1:79: warning: "mail-from" has no effect without "mail-to"`,
			`k.json:1:107: warning: "backoff" has no effect without "max-failures": a job's backoff is the wait before retrying a failed run`,
		}},
		{"mail-from without mail-to", "", `{"procs": {"p": {"command": "x", "mail-from": "kopf@example.com"}}}`, []string{
			`k.json:1:47: warning: "mail-from" has no effect without "mail-to"`,
		}},
		{"warnings come with errors", "", `{"jobs": {"a": {"command": "x", "cron": "*/7", "period": "x"}}}`, []string{
			`k.json:1:58: invalid duration "x" for "period": expected a number at "x"`,
			`k.json:1:42: warning: */7 does not divide the hour: after minute 56 comes 0, 4 apart instead of 7`,
		}},
	})
}

func TestKopfMDExample(t *testing.T) {
	// kopf.md's own example puts the settings straight under "jobs" and
	// "procs"; kopf says where they belong.
	runProblems(t, []problemTest{{"kopf.md", "kopf-md.json", mustRead(t, "../../examples/kopf-md.json"), []string{
		`kopf-md.json:3:17: job "command" must be an object of settings, found an array; "command" is a setting: put it inside a named job, like {"jobs": {"NAME": {"command": …}}}`,
		`kopf-md.json:4:16: job "pause" must be an object of settings, found a number (10); "pause" is a setting: put it inside a named job, like {"jobs": {"NAME": {"pause": …}}}`,
		`kopf-md.json:5:17: job "period" must be an object of settings, found a number (30); "period" is a setting: put it inside a named job, like {"jobs": {"NAME": {"period": …}}}`,
		`kopf-md.json:8:17: proc "command" must be an object of settings, found an array; "command" is a setting: put it inside a named proc, like {"procs": {"NAME": {"command": …}}}`,
	}}})
}

func TestServiceManagerMissingComma(t *testing.T) {
	// service-manager.md's cron task lacks the commas after "args": [] and
	// after the scheduling array. A parser notices the first only at
	// "scheduling", after a comment line; kopf points at the end of [].
	runProblems(t, []problemTest{{"cron task", "service-manager-broken.json", mustRead(t, "../../examples/service-manager-broken.json"), []string{
		`service-manager-broken.json:6:13: missing comma after this value; the next one starts at 8:3`,
	}}})
}

func TestPortProblems(t *testing.T) {
	proc := func(settings string) string { return `{"procs": {"p": {"command": "x", ` + settings + `}}}` }
	// The value of the setting starts at column 34 + len(key) + 4.
	runProblems(t, []problemTest{
		{"not a list", "", proc(`"ports": 8080`), []string{
			`k.json:1:43: "ports" must be a port name or an array of them, found a number (8080)`,
		}},
		{"not a string", "", proc(`"ports": ["http", 1]`), []string{
			`k.json:1:52: the elements of "ports" must be strings, found a number (1)`,
		}},
		{"bad names", "", proc(`"ports": ["http", "Web", "a.b", "9p", ""]`), []string{
			`k.json:1:52: invalid port name "Web": expected a lowercase letter, then lowercase letters, digits, '-' or '_'`,
			`k.json:1:59: invalid port name "a.b": expected a lowercase letter, then lowercase letters, digits, '-' or '_'`,
			`k.json:1:66: invalid port name "9p": expected a lowercase letter, then lowercase letters, digits, '-' or '_'`,
			`k.json:1:72: a port needs a name; "" is none`,
		}},
		{"good names", "", proc(`"ports": ["http", "grpc-web", "x_2"]`), nil},
		{"twice", "", proc(`"ports": ["http", "grpc", "http"]`), []string{
			`k.json:1:60: port "http" is listed twice; the first is at 1:44`,
		}},
		// A reference is reported at its {{, inside the string.
		{"unknown port in a string command", "", `{"procs": {"p": {"command": "x --port {{ports[htp]}}", "ports": "http"}}}`, []string{
			`k.json:1:39: no port named "htp" in "ports" (did you mean "http"?)`,
		}},
		{"no ports at all", "", `{"procs": {"p": {"command": "x --port {{ports[http]}}"}}}`, []string{
			`k.json:1:39: no port named "http" in "ports"; list it in "ports" to get a free port at each start`,
		}},
		{"an array command", "", `{"jobs": {"j": {"command": ["x", "--a={{ports[a]}}", "--b={{ports[b]}}"], "ports": ["a"]}}}`, []string{
			`k.json:1:59: no port named "b" in "ports" (did you mean "a"?)`,
		}},
		{"an env value", "", proc(`"env": {"PORT": "{{ports[web]}}", "N": 1}, "ports": "http"`), []string{
			`k.json:1:51: no port named "web" in "ports"; list it in "ports" to get a free port at each start`,
		}},
		{"malformed references", "", `{"procs": {"p": {"command": "x {{ports[http}} {{ports[]}} {{ports[http]}}", "ports": "http"}}}`, []string{
			`k.json:1:32: malformed port reference; expected {{ports[NAME]}}`,
			`k.json:1:47: {{ports[]}} names no port; expected {{ports[NAME]}}`,
		}},
		{"other braces are left alone", "", `{"procs": {"p": {"command": "x {{other}} {{ ports[http] }} {{thermos.ports[http]}}"}}}`, nil},
		{"escapes before the reference", "", `{"procs": {"p": {"command": "x\t\u0040 {{ports[htp]}}", "ports": "http"}}}`, []string{
			`k.json:1:40: no port named "htp" in "ports" (did you mean "http"?)`,
		}},
		{"YAML scalars", "k.yaml", "procs:\n  p:\n    ports: [http]\n    command: x --port {{ports[htp]}}\n    env: {A: 'a {{ports[b]}}', B: \"\\t{{ports[c]}}\"}\n", []string{
			`k.yaml:4:23: no port named "htp" in "ports" (did you mean "http"?)`,
			`k.yaml:5:17: no port named "b" in "ports"; list it in "ports" to get a free port at each start`,
			`k.yaml:5:38: no port named "c" in "ports"; list it in "ports" to get a free port at each start`,
		}},
		{"a health URL", "", proc(`"ports": "http", "health": {"http": "http://127.0.0.1:{{ports[htp]}}/health"}`), []string{
			`k.json:1:88: no port named "htp" in "ports" (did you mean "http"?)`,
		}},
		{"a health command", "", proc(`"ports": "web", "health": {"command": ["check", "{{ports[wbe]}}"]}`), []string{
			`k.json:1:83: no port named "wbe" in "ports" (did you mean "web"?)`,
		}},
	})
}

func TestHealthProblems(t *testing.T) {
	health := func(settings string) string {
		return `{"procs": {"p": {"command": "x", "health": {` + settings + `}}}}`
	}
	// The value of the first key starts at column 45 + len(key) + 4.
	runProblems(t, []problemTest{
		{"not an object", "", `{"procs": {"p": {"command": "x", "health": "/health"}}}`, []string{
			`k.json:1:44: "health" must be an object like {"http": "/health"} or {"command": …}, found the string "/health"`,
		}},
		{"true is no shorthand", "", `{"procs": {"p": {"command": "x", "health": true}}}`, []string{
			`k.json:1:44: "health" must be an object like {"http": "/health"} or {"command": …}, found a boolean (true); there is no shorthand: say what to check`,
		}},
		{"nothing to check", "", health(``), []string{
			`k.json:1:44: health needs "http" or "command" (or a port named "health" in "ports")`,
		}},
		{"a health port is something to check", "", `{"procs": {"p": {"command": "x", "ports": "health", "health": {}}}}`, nil},
		{"unknown keys", "", health(`"command": "c", "intervall": 5, "initial_interval": 1, "port": 1`), []string{
			`k.json:1:61: unknown key "intervall" in "health" (did you mean "interval"?)`,
			`k.json:1:77: unknown key "initial_interval" in "health" (did you mean "initial-interval"?)`,
			`k.json:1:100: unknown key "port" in "health"`,
		}},
		{"underscores", "", health(`"command": "c", "max_consecutive_failures": 1`), []string{
			`k.json:1:61: unknown key "max_consecutive_failures" in "health" (did you mean "max-consecutive-failures"?)`,
		}},
		{"http and command", "", health(`"command": "c", "http": "/h"`), []string{
			`k.json:1:61: give one of "http" and "command" in "health"; "command" is at 1:45`,
		}},
		{"http not a string", "", health(`"http": 80`), []string{
			`k.json:1:53: "http" must be a string, found a number (80)`,
		}},
		{"empty http", "", health(`"http": ""`), []string{
			`k.json:1:53: "http" in "health" is empty; expected a path like "/health" or a URL on this machine like "http://127.0.0.1:{{ports[http]}}/health"`,
		}},
		{"a path without a port", "", health(`"http": "/h"`), []string{
			`k.json:1:53: health http path needs a port: add "health" to "ports"`,
		}},
		{"neither path nor URL", "", health(`"http": "health"`), []string{
			`k.json:1:53: "http" in "health" must be a path like "/health" or a URL on this machine like "http://127.0.0.1:{{ports[http]}}/health", found "health"`,
		}},
		{"https", "", health(`"http": "https://127.0.0.1:1/h"`), []string{
			`k.json:1:53: "http" in "health" must be an http:// URL, found "https://": kopf checks plain HTTP on this machine`,
		}},
		{"another machine", "", health(`"http": "http://example.com:1/h"`), []string{
			`k.json:1:53: "http" in "health" must be on this machine (127.0.0.1, localhost or [::1]), found host "example.com"`,
		}},
		{"no port in the URL", "", health(`"http": "http://localhost/h"`), []string{
			`k.json:1:53: "http" in "health" needs a port, like "http://localhost:{{ports[http]}}/h"`,
		}},
		{"port out of range", "", health(`"http": "http://[::1]:99999/"`), []string{
			`k.json:1:53: "http" in "health" has port 99999; a port is 1 to 65535`,
		}},
		{"URLs on this machine", "", `{"procs": {
"p": {"command": "x", "health": {"http": "http://[::1]:8080/"}},
"q": {"command": "x", "ports": "a", "health": {"http": "http://localhost:{{ports[a]}}/ok?full=1"}},
"r": {"command": "x", "health": {"http": "http://127.0.0.1:9"}}}}`, nil},
		{"empty command", "", health(`"command": ""`), []string{
			`k.json:1:56: "command" is empty`,
		}},
		{"durations", "", health(`"command": "c", "interval": "0s", "timeout": -1, "initial-interval": "soon"`), []string{
			`k.json:1:73: "interval" in "health" must be more than 0, found 0s`,
			`k.json:1:90: "timeout" must not be negative, found -1`,
			`k.json:1:114: invalid duration "soon" for "initial-interval": expected a number at "soon"`,
		}},
		{"zero timeout", "", health(`"command": "c", "timeout": 0`), []string{
			`k.json:1:72: "timeout" in "health" must be more than 0, found 0`,
		}},
		{"zero initial-interval is no grace", "", health(`"command": "c", "initial-interval": 0`), nil},
		{"counts", "", health(`"command": "c", "max-consecutive-failures": -1, "min-consecutive-successes": 1.5`), []string{
			`k.json:1:89: "max-consecutive-failures" must not be negative, found -1`,
			`k.json:1:122: "min-consecutive-successes" must be a whole number, found 1.5`,
		}},
		{"counts of the wrong type or size", "", health(`"command": "c", "max-consecutive-failures": "3", "min-consecutive-successes": 1e10`), []string{
			`k.json:1:89: "max-consecutive-failures" must be a whole number, found the string "3"`,
			`k.json:1:123: "min-consecutive-successes" is too large: 1e10`,
		}},
		{"no successes needed", "", health(`"command": "c", "min-consecutive-successes": 0`), []string{
			`k.json:1:90: "min-consecutive-successes" must be at least 1, found 0`,
		}},
	})
}

func TestJobRetryProblems(t *testing.T) {
	job := func(settings string) string { return `{"jobs": {"j": {"command": "x", ` + settings + `}}}` }
	runProblems(t, []problemTest{
		{"negative", "", job(`"max-failures": -1`), []string{
			`k.json:1:49: "max-failures" must not be negative, found -1`,
		}},
		{"a string", "", job(`"max-failures": "3"`), []string{
			`k.json:1:49: "max-failures" must be a whole number, found the string "3"`,
		}},
		{"a fraction", "", job(`"max-failures": 1.5`), []string{
			`k.json:1:49: "max-failures" must be a whole number, found 1.5`,
		}},
		{"backoff not an array", "", job(`"backoff": "5s", "max-failures": 1`), []string{
			`k.json:1:44: "backoff" must be an array of durations (seconds as numbers, or strings like "5s" or "1m"), found the string "5s"`,
		}},
	})
}

func TestFileChangeProblems(t *testing.T) {
	proc := func(settings string) string { return `{"procs": {"p": {"command": "x", ` + settings + `}}}` }
	runProblems(t, []problemTest{
		{"not paths", "", proc(`"restart-on-change": {"a": 1}`), []string{
			`k.json:1:55: "restart-on-change" must be a path or an array of paths, found an object`,
		}},
		{"bad elements", "", proc(`"hup-on-change": ["a", 1, "", "b\u0000"]`), []string{
			`k.json:1:57: the elements of "hup-on-change" must be strings, found a number (1)`,
			`k.json:1:60: a path in "hup-on-change" is empty`,
			`k.json:1:66: "hup-on-change" contains a NUL character, which no command line or path can hold`,
		}},
		{"in both lists", "", proc(`"hup-on-change": ["tor.rc", "x"], "restart-on-change": ["./tor.rc", "tor.bin"]`), []string{
			`k.json:1:90: "./tor.rc" is also in "hup-on-change" at 1:52; a change to a file either restarts the proc or sends it SIGHUP`,
		}},
		{"in both lists, restart first", "", proc(`"restart-on-change": "a", "hup-on-change": "a"`), []string{
			`k.json:1:77: "a" is also in "restart-on-change" at 1:55; a change to a file either restarts the proc or sends it SIGHUP`,
		}},
		{"white space", "", proc(`"hup-on-change": "  "`), []string{
			`k.json:1:51: warning: the path "  " in "hup-on-change" is only white space`,
		}},
	})
}

func TestProtoProblems(t *testing.T) {
	runProblems(t, []problemTest{
		{"protos not an object", "", `{"protos": ["a"]}`, []string{
			`k.json:1:12: "protos" must be an object from names to settings, found an array`,
		}},
		{"null protos are none", "", `{"protos": null}`, nil},
		{"proto at the top level", "", `{"proto": {"a": {}}}`, []string{
			`k.json:1:2: unknown top-level key "proto" (did you mean "protos"?); "proto" goes inside a job or proc and names protos defined under "protos"`,
		}},
		{"a proto not an object is no second error", "", `{"protos": {"a": "x", "": {}}, "jobs": {"j": {"proto": "a", "command": "x"}}}`, []string{
			`k.json:1:18: proto "a" must be an object of settings, found the string "x"`,
			`k.json:1:23: a proto needs a name; "" is none`,
		}},
		{"unknown protos", "", `{"protos": {"base": {"command": "x"}}, "jobs": {"j": {"proto": "bsae"}, "k": {"proto": ["base", "nope"]}}}`, []string{
			`k.json:1:64: no proto named "bsae" (did you mean "base"?)`,
			`k.json:1:97: no proto named "nope"; protos are defined under the top-level "protos"`,
			`k.json:1:49: warning: job "j" has neither "command" nor "trigger": it does nothing`,
		}},
		{"proto of the wrong type", "", `{"protos": {"base": {"command": "x"}}, "jobs": {"j": {"proto": 5, "command": "x"}, "k": {"proto": ["base", 5]}}}`, []string{
			`k.json:1:64: "proto" must be a proto name or an array of them, found a number (5)`,
			`k.json:1:108: the elements of "proto" must be strings, found a number (5)`,
		}},
		// A cycle is reported at the reference that closes it, in the
		// protos' file order.
		{"cycle", "", `{"protos": {"a": {"proto": "b"}, "b": {"proto": "c"}, "c": {"proto": "a", "command": "x"}}, "jobs": {"j": {"proto": "a"}}}`, []string{
			`k.json:1:70: proto cycle: a → b → c → a`,
		}},
		{"itself", "", `{"protos": {"a": {"proto": "a", "command": "x"}}, "jobs": {"j": {"proto": "a"}}}`, []string{
			`k.json:1:28: proto cycle: a → a`,
		}},
		{"an unused proto's unknown keys", "", `{"protos": {"a": {"command": "x", "comand": "y", "stop_time": 1, "protos": "b", "jobs": 1}}}`, []string{
			`k.json:1:35: unknown key "comand" in proto "a" (did you mean "command"?)`,
			`k.json:1:50: unknown key "stop_time" in proto "a" (did you mean "stop-time"?)`,
			`k.json:1:66: unknown key "protos" in proto "a" (did you mean "proto"?)`,
			`k.json:1:81: unknown key "jobs" in proto "a"`,
			`k.json:1:13: warning: proto "a" is not used`,
		}},
		{"used through another proto", "", `{"protos": {"a": {"command": "x"}, "b": {"proto": "a"}, "c": {"proto": "b"}}, "procs": {"p": {"proto": "b"}}}`, []string{
			`k.json:1:57: warning: proto "c" is not used`,
		}},
		// Keys are checked in the unit that takes them, each error placed
		// in the proto; the same error from two units is said once.
		{"job keys in a proc's proto", "", `{"protos": {"sched": {"cron": "0 4", "timeout": 5}}, "procs": {"p": {"proto": "sched", "command": "x"}, "q": {"proto": "sched", "command": "y"}}}`, []string{
			`k.json:1:23: "cron" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "p" under "jobs")`,
			`k.json:1:23: "cron" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "q" under "jobs")`,
			`k.json:1:38: "timeout" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "p" under "jobs")`,
			`k.json:1:38: "timeout" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "q" under "jobs")`,
		}},
		{"values checked in the proto", "", `{"protos": {"sched": {"cron": "70 4", "idle": "x"}}, "jobs": {"a": {"proto": "sched", "command": "x"}, "b": {"proto": "sched", "command": "y"}}}`, []string{
			`k.json:1:32: 70 is out of range for the minute field; expected 0 to 59`,
			`k.json:1:47: invalid duration "x" for "idle": expected a number at "x"`,
		}},
		{"health in a proto", "", `{"protos": {"p": {"health": {"http": "/x"}}}, "procs": {"a": {"proto": "p", "command": "x"}}}`, []string{
			`k.json:1:38: health http path needs a port: add "health" to "ports"`,
		}},
		{"ports from a proto", "", `{"protos": {"p": {"ports": "http"}}, "procs": {"a": {"proto": "p", "command": "x {{ports[htp]}}"}, "b": {"command": "x {{ports[http]}}"}}}`, []string{
			`k.json:1:82: no port named "htp" in "ports" (did you mean "http"?)`,
			`k.json:1:120: no port named "http" in "ports"; list it in "ports" to get a free port at each start`,
		}},
		{"scheduling replaces schedule", "", `{"protos": {"s": {"schedule": "@ 04:00"}}, "jobs": {"a": {"proto": "s", "command": "x", "scheduling": "@ 05:00"}}}`, nil},
		{"schedule and scheduling in one proto", "", `{"protos": {"s": {"schedule": "@ 04:00", "scheduling": "@ 05:00"}}, "jobs": {"a": {"proto": "s", "command": "x"}}}`, []string{
			`k.json:1:42: "schedule" and "scheduling" are the same key; give one`,
		}},
		{"YAML", "k.yaml", "protos:\n  base:\n    comand: x\n    cron: '70'\njobs:\n  j: {proto: base, command: x}\nprocs:\n  p: {proto: [base, bsae], command: y}\n", []string{
			`k.yaml:3:5: unknown key "comand" in proto "base" (did you mean "command"?)`,
			`k.yaml:4:5: "cron" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "p" under "jobs")`,
			`k.yaml:4:12: 70 is out of range for the minute field; expected 0 to 59`,
			`k.yaml:8:21: no proto named "bsae" (did you mean "base"?)`,
		}},
	})
}

func TestMailSection(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runProblems(t, []problemTest{
		{"smtp with auth", "", `{"mail": {"smtp": "mail.example.com:587", "starttls": true, "username": "kopf", "password": "x"}}`, nil},
		{"not an object", "", `{"mail": "localhost"}`, []string{
			`k.json:1:10: "mail" must be an object like {"smtp": "host:port"} or {"sendmail": ["/usr/sbin/sendmail", "-t"]}, found the string "localhost"`,
		}},
		{"unknown key", "", `{"mail": {"smpt": "a:25"}}`, []string{
			`k.json:1:11: unknown key "smpt" in "mail" (did you mean "smtp"?)`,
		}},
		{"smtp without port", "", `{"mail": {"smtp": "mail.example.com"}}`, []string{
			`k.json:1:19: "smtp" must be host:port, like "mail.example.com:587", found "mail.example.com"`,
		}},
		{"smtp and sendmail", "", `{"mail": {"smtp": "a:25", "sendmail": "sendmail -t"}}`, []string{
			`k.json:1:39: give "smtp" or "sendmail", not both`,
		}},
		{"password without user", "", `{"mail": {"password": "x"}}`, []string{
			`k.json:1:10: a password needs "username"`,
		}},
		{"both passwords", "", `{"mail": {"username": "u", "password": "x", "password-file": "/nonexistent"}}`, []string{
			`k.json:1:62: give "password" or "password-file", not both`,
		}},
		{"missing password file", "", `{"mail": {"username": "u", "password-file": "/nonexistent/pw"}}`, []string{
			`k.json:1:45: cannot read "password-file": open /nonexistent/pw: no such file or directory`,
		}},
		{"partial without mail-to", "", `{"procs": {"p": {"command": "x", "mail-partial-after": "1h"}}}`, []string{
			`k.json:1:56: warning: "mail-partial-after" has no effect without "mail-to"`,
		}},
	})
	cfg := parse(t, "k.json", `{"mail": {"username": "u", "password-file": "`+pwFile+`"}}`)
	if m := cfg.Mail; m == nil || m.Password != "s3cret" || m.SMTP != "localhost:25" {
		t.Errorf("mail = %+v, want the file's password and the default server", m)
	}
}

// manyJobs is n jobs named j1…jn, a line each, as members of "jobs".
func manyJobs(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  \"j%d\": {\"command\": \"x\"},\n", i)
	}
	return b.String()
}

func TestPlacementErrors(t *testing.T) {
	runProblems(t, []problemTest{
		{"placement and prefer", "", `{"jobs": {"a": {"command": "x", "placement": "one", "prefer": ["m1", "m2"], "on-lease-loss": "kill"}}, "procs": {"p": {"command": "y", "placement": "each"}}}`, nil},
		{"unknown placement", "", `{"procs": {"p": {"command": "y", "placement": "all"}}}`, []string{
			`k.json:1:47: "placement" must be "one" or "each", found "all"`,
		}},
		{"prefer not names", "", `{"jobs": {"a": {"command": "x", "prefer": 3}}}`, []string{
			`k.json:1:43: "prefer" must be a member's name or an array of them, found a number (3)`,
		}},
		{"unknown on-lease-loss", "", `{"jobs": {"a": {"command": "x", "on-lease-loss": "stop"}}}`, []string{
			`k.json:1:50: "on-lease-loss" must be "kill" or "finish", found "stop"`,
		}},
		{"on-lease-loss is for jobs", "", `{"procs": {"p": {"command": "x", "on-lease-loss": "kill"}}}`, []string{
			`k.json:1:34: "on-lease-loss" is only for jobs: procs always run, restarted when they end (a proc with a schedule is a job; move "p" under "jobs")`,
		}},
	})
}

func TestPlacementValues(t *testing.T) {
	cfg, _, err := Parse("k.json", []byte(`{"jobs": {"a": {"command": "x", "prefer": "m1", "on-lease-loss": "kill"}, "b": {"command": "x"}}, "procs": {"p": {"command": "y", "placement": "each"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	a, b, p := cfg.Jobs[0].Placement(), cfg.Jobs[1].Placement(), cfg.Procs[0].Placement()
	if a.Each || !a.KillOnLoss || len(a.Prefer) != 1 || a.Prefer[0] != "m1" {
		t.Errorf("a: %+v", a)
	}
	if b.Each || b.KillOnLoss || b.Prefer != nil {
		t.Errorf("b, all defaults: %+v", b)
	}
	if !p.Each {
		t.Errorf("p: %+v", p)
	}
}

func TestClusterSection(t *testing.T) {
	runProblems(t, []problemTest{
		{"cluster section", "", `{"cluster": {"etcd": ["http://a:2379", "http://b:2379"], "name": "prod", "lease": "15s", "retention": "30d"}}`, nil},
		{"etcd as one string", "", `{"cluster": {"etcd": "http://a:2379,http://b:2379"}}`, nil},
		{"not an object", "", `{"cluster": "http://a:2379"}`, []string{
			`k.json:1:13: "cluster" must be an object like {"etcd": ["http://10.0.0.1:2379"]}, found the string "http://a:2379"`,
		}},
		{"no etcd", "", `{"cluster": {"name": "x"}}`, []string{
			`k.json:1:13: "cluster" needs "etcd": the client URLs of the etcd the members share`,
		}},
		{"not a URL", "", `{"cluster": {"etcd": ["a:2379"]}}`, []string{
			`k.json:1:23: "etcd" must list etcd's client URLs, like "http://10.0.0.1:2379": "a:2379": expected http:// or https://`,
		}},
		{"URL without a host", "", `{"cluster": {"etcd": ["http://a:2379", "https://:2379/"]}}`, []string{
			`k.json:1:40: "etcd" must list etcd's client URLs, like "http://10.0.0.1:2379": "https://:2379/": no host`,
		}},
		{"URL with a path", "", `{"cluster": {"etcd": "http://a:2379/v3"}}`, []string{
			`k.json:1:22: "etcd" must list etcd's client URLs, like "http://10.0.0.1:2379": "http://a:2379/v3": expected only scheme, host and port`,
		}},
		{"URL not parsed", "", `{"cluster": {"etcd": "http://[::1:2379"}}`, []string{
			`k.json:1:22: "etcd" must list etcd's client URLs, like "http://10.0.0.1:2379": "http://[::1:2379": missing ']' in host`,
		}},
		{"short retention", "", `{"cluster": {"etcd": "http://a:2379", "retention": "10m"}}`, []string{
			`k.json:1:52: the cluster's "retention" must be at least 1h, found 10m`,
		}},
		{"member in the file", "", `{"cluster": {"etcd": "http://a:2379", "member": "m1"}}`, []string{
			`k.json:1:39: unknown key "member" in "cluster": a member's name differs from member to member; give kopf run --member NAME`,
		}},
		{"short lease", "", `{"cluster": {"etcd": "http://a:2379", "lease": "2s"}}`, []string{
			`k.json:1:48: the cluster's "lease" must be whole seconds, at least 5s, found 2s`,
		}},
		{"no shards", "", `{"cluster": {"etcd": "http://a:2379", "shards": 0}}`, []string{
			`k.json:1:49: "shards" must be at least 1, found 0`,
		}},
		{"too many shards", "", `{"cluster": {"etcd": "http://a:2379", "shards": 5000}}`, []string{
			`k.json:1:49: the cluster's "shards" must be at most 4096, found 5000`,
		}},
		{"shards not whole", "", `{"cluster": {"etcd": "http://a:2379", "shards": 2.5}}`, []string{
			`k.json:1:49: "shards" must be a whole number, found 2.5`,
		}},
	})
	cfg, _, err := Parse("k.json", []byte(`{"cluster": {"etcd": "http://a:2379,http://b:2379", "lease": 15, "shards": 64}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Cluster; c == nil || len(c.Etcd) != 2 || c.Etcd[1] != "http://b:2379" || c.Lease != 15*time.Second || c.Shards != 64 {
		t.Errorf("cluster: %+v", c)
	}
}

func TestLogOutputMaxErrors(t *testing.T) {
	runProblems(t, []problemTest{
		{"a size", "", `{"jobs": {"a": {"command": "x", "log-output": true, "log-output-max": "16MiB"}}}`, nil},
		{"bytes", "", `{"jobs": {"a": {"command": "x", "log-output": true, "log-output-max": 65536}}}`, nil},
		{"no unit known", "", `{"jobs": {"a": {"command": "x", "log-output": true, "log-output-max": "4 parsecs"}}}`, []string{
			`k.json:1:71: "log-output-max": invalid size "4 parsecs": expected a number and a unit like 4MiB, 512K or 1GB`,
		}},
		{"negative", "", `{"jobs": {"a": {"command": "x", "log-output": true, "log-output-max": -1}}}`, []string{
			`k.json:1:71: "log-output-max" must be a whole number of bytes, found -1`,
		}},
		{"a boolean", "", `{"jobs": {"a": {"command": "x", "log-output": true, "log-output-max": true}}}`, []string{
			`k.json:1:71: "log-output-max" must be a size: bytes as a number, or a string like "4MiB", "512K" or "1GB"; found a boolean (true)`,
		}},
		{"without log-output", "", `{"jobs": {"a": {"command": "x", "log-output-max": "1MiB"}}}`, []string{
			`k.json:1:51: warning: "log-output-max" has no effect without "log-output"`,
		}},
	})
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4096": 4096, "4MiB": 4 << 20, "4 MiB": 4 << 20, "4mib": 4 << 20, "512K": 512 << 10,
		"1G": 1 << 30, "1GB": 1e9, "1.5KiB": 1536, "2kb": 2000, "3B": 3, "1TiB": 1 << 40,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "4 parsecs", "1.2.3K", "-1K", "99999999999TiB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, no error", in, got)
		}
	}
}

func TestLeftoversErrors(t *testing.T) {
	runProblems(t, []problemTest{
		{"keep", "", `{"jobs": {"a": {"command": "x", "leftovers": "keep"}}}`, nil},
		{"the old name", "", `{"jobs": {"a": {"command": "x", "keep-leftovers": true}}}`, nil},
		{"neither word", "", `{"jobs": {"a": {"command": "x", "leftovers": "kill"}}}`, []string{
			`k.json:1:46: "leftovers" must be "stop" or "keep", found "kill"`,
		}},
		{"both names", "", `{"procs": {"a": {"command": "x", "leftovers": "keep", "keep-leftovers": true}}}`, []string{
			`k.json:1:73: "keep-leftovers" is the old name of "leftovers", which this proc has too; keep only "leftovers"`,
		}},
	})
}

func TestCommentBytes(t *testing.T) {
	runProblems(t, []problemTest{
		{"a line comment in Latin-1", "", "{\"jobs\": {} // f\xfcr\n}", []string{
			`k.json:1:17: invalid UTF-8 (byte 0xfc) in a comment: kopf reads a config as UTF-8 (is this file in another encoding, like Latin-1?)`,
		}},
		{"a block comment in Latin-1", "", "{/* gr\xfc\xdfe */ \"jobs\": {}}", []string{
			`k.json:1:7: invalid UTF-8 (byte 0xfc) in a comment: kopf reads a config as UTF-8 (is this file in another encoding, like Latin-1?)`,
		}},
		{"UTF-8 comments", "", "{\"jobs\": {} // für, größe\n}", nil},
	})
}
