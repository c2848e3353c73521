package lang

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct {
		name, in, canonical string
	}{
		// The every-language: every form of service-manager.md.
		{"period", "every 30m", "every 30m"},
		{"implicit anchor comment", "every 1m   # implicitly: @ 0m", "every 1m"},
		{"window wrapping midnight", "every 10m every 1d @ 10:00-01:00", "every 10m every 1d @ 10:00-01:00"},
		{"duration anchor", "every 10m @ 1m", "every 10m @ 1m"},
		{"clock anchor", "every 1d @ 04:15", "every 1d @ 04:15"},
		{"shorthand", "@ 04:15", "@ 04:15"},
		{"anchor list", "every 1h @ 0m, 10m, 20m, 40m, 50m", "every 1h @ 0m, 10m, 20m, 40m, 50m"},
		{"month offset", "every month offset 2d8h30m", "every month offset 2d8h30m"},
		{"workday", "every workday offset 8h30m", "every workday offset 8h30m"},
		{"chained words", "every monday every hour offset 30m", "every monday every hour offset 30m"},
		{"seconds", "every 30s", "every 30s"},
		{"zone", "every 1d @ 04:15 in Europe/Berlin", "every 1d @ 04:15 in Europe/Berlin"},
		{"zone first", "in Asia/Tokyo every 1h", "every 1h in Asia/Tokyo"},
		{"offset before anchor", "every 1h offset 5m @ 10m", "every 1h @ 10m offset 5m"},
		{"words lower-cased", "every Monday", "every monday"},
		{"durations normalised", "every 90m", "every 1h30m"},
		{"whole weeks", "every 14d", "every 2w"},
		{"clock seconds kept", "@ 23:59:30", "@ 23:59:30"},
		{"window end 24:00", "every 1m every 1d @ 22:00-24:00", "every 1m every 1d @ 22:00-24:00"},
		// Crontab lines.
		{"five fields", "*/15 * * * *", "*/15 * * * *"},
		{"omitted fields", "5,35", "5,35 * * * *"},
		{"teatime", "0 17", "0 17 * * *"},
		{"ranges and steps", "0-59/10 0,10-23 * * *", "0-59/10 0,10-23 * * *"},
		{"names any case", "0 9 * JAN-Mar/2 MON-fri", "0 9 * jan-mar/2 mon-fri"},
		{"step one kept", "0-5/1 * * * *", "0-5/1 * * * *"},
		{"sunday as 7", "0 0 * * 7", "0 0 * * 7"},
		{"a weekday range to sunday", "0 0 * * sat-sun", "0 0 * * sat-sun"},
		{"a weekday range to 0", "0 0 * * 5-0", "0 0 * * 5-7"},
		{"to sunday with a step", "0 0 * * mon-sun/2", "0 0 * * mon-sun/2"},
		{"hashed", "H H * * *", "H H * * *"},
		{"hashed in a range", "H(0-29) H(2-5) * * *", "H(0-29) H(2-5) * * *"},
		{"hashed with a step", "H/15 * * * *", "H/15 * * * *"},
		{"hashed range with a step", "H(0-29)/10 * H * H", "H(0-29)/10 * H * H"},
		{"macro", "@Daily", "@daily"},
		{"cron tz", "CRON_TZ=America/New_York 30 2 * * *", "CRON_TZ=America/New_York 30 2 * * *"},
		{"tz", "TZ=UTC @hourly", "TZ=UTC @hourly"},
		{"cron with a trailing zone", "0 9 * * 1-5 in Europe/Berlin", "0 9 * * 1-5 in Europe/Berlin"},
		{"macro with a trailing zone", "@daily in UTC", "@daily in UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.canonical, s.String()); diff != "" {
				t.Errorf("Parse(%q).String() mismatch (-want +got):\n%s", tt.in, diff)
			}
			// Printing is a fixed point: the canonical text parses to itself.
			again, err := Parse(s.String())
			if err != nil {
				t.Fatalf("Parse(canonical %q): %v", s, err)
			}
			if diff := cmp.Diff(tt.canonical, again.String()); diff != "" {
				t.Errorf("canonical form is not a fixed point (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAST(t *testing.T) {
	s, err := Parse("every 10m every 1d @ 10:00-01:00 offset 0m")
	if err != nil {
		t.Fatal(err)
	}
	want := &Every{Clauses: []*Clause{
		{Pos: Pos{Line: 1, Col: 1}, Period: Period{Pos: Pos{Offset: 6, Line: 1, Col: 7}, Sec: 600, Text: "10m"}},
		{
			Pos:    Pos{Offset: 10, Line: 1, Col: 11},
			Period: Period{Pos: Pos{Offset: 16, Line: 1, Col: 17}, Sec: 86400, Text: "1d"},
			Anchors: []Anchor{{
				Pos: Pos{Offset: 21, Line: 1, Col: 22},
				At:  Amount{Pos: Pos{Offset: 21, Line: 1, Col: 22}, Clock: true, Sec: 36000, Text: "10:00"},
				To:  &Amount{Pos: Pos{Offset: 27, Line: 1, Col: 28}, Clock: true, Sec: 3600, Text: "01:00"},
			}},
			Offset: &Amount{Pos: Pos{Offset: 40, Line: 1, Col: 41}, Sec: 0, Text: "0m"},
		},
	}}
	if diff := cmp.Diff(want, s.Every); diff != "" {
		t.Errorf("AST mismatch (-want +got):\n%s", diff)
	}

	c, err := Parse("1-5/2,*/7 0")
	if err != nil {
		t.Fatal(err)
	}
	wantMin := Field{Kind: Minute, Pos: Pos{Line: 1, Col: 1}, Ranges: []Range{
		{Pos: Pos{Line: 1, Col: 1}, Lo: 1, Hi: 5, Step: 2, HasStep: true},
		{Pos: Pos{Offset: 6, Line: 1, Col: 7}, Star: true, Lo: 0, Hi: 59, Step: 7, HasStep: true},
	}}
	if diff := cmp.Diff(wantMin, c.Cron.Fields[0]); diff != "" {
		t.Errorf("minute field mismatch (-want +got):\n%s", diff)
	}
	// Cronie's star rule looks at the field's first character only.
	if c.Cron.Fields[0].Star() || c.Cron.Fields[1].Star() || !c.Cron.Fields[2].Star() || !c.Cron.Fields[2].Omitted {
		t.Errorf("Star/Omitted flags wrong: %+v", c.Cron.Fields)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// Syntax: participle's errors, said in words.
		{"every 10m offset", `1:17: expected a duration like 50m or a clock time like 04:15 after "offset", found end of input`},
		{"every", `1:6: expected a period like 10m, day or monday after "every", found end of input`},
		{"every 5m in", `1:12: expected a zone name like Europe/Berlin after "in", found end of input`},
		{"every 10m @", `1:12: expected a duration like 50m or a clock time like 04:15 after "@", found end of input`},
		{"every 10m @ 5m,", `1:16: expected a duration like 50m or a clock time like 04:15 after ",", found end of input`},
		{"*/", `1:3: expected a number after "/", found end of input`},
		{"*/mon", `1:3: expected a number after "/", found "mon"`},
		{"foo", `1:1: unknown word "foo"; a schedule starts with "every", "@", a zone prefix like CRON_TZ=UTC or a crontab minute field`},
		{"every 10m ^", `1:11: unexpected character '^'`},
		{"", `1:1: the schedule is empty; expected a crontab line like "0 4 * * *" or an every-expression like "every 10m"`},
		{"  # only a comment", `1:19: the schedule is empty; expected a crontab line like "0 4 * * *" or an every-expression like "every 10m"`},
		// The every-language's own checks.
		{"every mondy", `1:7: unknown period "mondy" (did you mean "monday"?); expected a duration like 10m or one of minute, hour, day, week, month, year, monday, tuesday, wednesday, thursday, friday, saturday, sunday, workday, weekend`},
		{"every 0m", `1:7: a period must be longer than zero`},
		{"every 10m @ 25:00", `1:13: 25:00 is outside the day: hours run from 00 to 23 (24:00 may only end a window)`},
		{"every 10m @ 10:60", `1:13: 10:60 is not a clock time: minutes and seconds run from 00 to 59`},
		{"every 10m @ 1:5", `1:13: 1:5 is not a clock time; expected HH:MM or HH:MM:SS with two-digit minutes and seconds`},
		{"every 10m offset 1m offset 2m", `1:21: offset is already given as 1m; a clause has one offset`},
		{"every 1h in UTC in Europe/Paris", `1:17: the zone is already given as UTC at 1:13; a schedule has one zone`},
		{"in UTC", `1:1: expected a clause ("every …" or "@ …"), not only a zone`},
		{"CRON_TZ=UTC 0 9 * * * in UTC", `1:26: the zone is already given as UTC at 1:9; a schedule has one zone`},
		// Crontab lines: stricter than cronie only where cronie is silently wrong.
		{"5 4 * * * chrome-bot", `1:11: a crontab schedule has at most five fields (minute hour day-of-month month day-of-week); a user name or command does not belong in it`},
		{"5-2 * * * *", `1:1: range 5-2 runs backwards; cron ranges do not wrap around, write 5-59,0-2`},
		{"0 0 * * sat-mon", `1:9: range sat-mon runs backwards; cron ranges do not wrap around, write sat,sun-mon`},
		{"0 0 * * 6-1", `1:9: range 6-1 runs backwards; cron ranges do not wrap around, write 6,0-1`},
		{"H(5-2) * * * *", `1:1: range H(5-2) runs backwards; write H(2-5)`},
		{"H(0-60) * * * *", `1:5: 60 is out of range for the minute field; expected 0 to 59`},
		{"0 H(1-24) * * *", `1:7: 24 is out of range for the hour field; expected 0 to 23`},
		{"5/10", `1:1: a step needs a range or *: write 5-59/10 or */10`},
		{"*/0", `1:3: step 0 is out of range; expected a number from 1 to the size of the minute field`},
		{"60", `1:1: 60 is out of range for the minute field; expected 0 to 59`},
		{"0 0 0 * *", `1:5: 0 is out of range for the day-of-month field; expected 1 to 31`},
		{"0 0 * 13 *", `1:7: 13 is out of range for the month field; expected 1 to 12`},
		{"0 0 * * 8", `1:9: 8 is out of range for the day-of-week field; expected 0 to 7`},
		{"0 0 * * monday", `1:9: unknown day-of-week name "monday"; crontab takes the first three letters: mon`},
		{"0 0 * jna *", `1:7: unknown month name "jna" (did you mean "jan"?); expected one of jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec`},
		{"0 mon * * *", `1:3: unexpected name "mon" in the hour field; names are allowed only for months and days of the week`},
		{"1,2 ,3", `1:4: unexpected space inside the minute field "1,2 ,3"`},
		{"@dayly", `1:1: unknown macro @dayly (did you mean "@daily"?); expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly`},
		{"@reboot", `1:1: @reboot is not a time schedule; use the job setting run-on-start instead`},
		{"0 0 * * *\n  5-1", "2:3: a crontab schedule has at most five fields (minute hour day-of-month month day-of-week); a user name or command does not belong in it"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, s)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Parse(%q) error mismatch (-want +got):\n%s", tt.in, diff)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 || !list[0].Pos.IsValid() {
				t.Errorf("Parse(%q) error has no position: %#v", tt.in, err)
			}
		})
	}
}

func TestErrorList(t *testing.T) {
	var l ErrorList
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add(Pos{Offset: 5, Line: 1, Col: 6}, "second")
	l.Add(Pos{Offset: 1, Line: 1, Col: 2}, "first")
	l.Sort()
	if diff := cmp.Diff("1:2: first (and 1 more errors)", l.Err().Error()); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	sentinel := errors.New("sentinel")
	l = ErrorList{{Msg: "x", Err: sentinel}}
	if !errors.Is(l, sentinel) {
		t.Error("errors.Is does not see through ErrorList")
	}
}

func TestSnippet(t *testing.T) {
	src := "# café\n\tevery 10m offset"
	got := Snippet(src, Pos{Offset: len(src), Line: 2, Col: 18})
	want := "  \tevery 10m offset\n  \t                ^"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snippet mismatch (-want +got):\n%s", diff)
	}
	if got := Snippet("abc", Pos{}); got != "" {
		t.Errorf("Snippet without a position = %q", got)
	}
	// A terminal gets no escape sequence, NUL or invalid UTF-8 from the
	// file, and the caret stays under the character.
	src = "echo \x1b]0;title\x07 \xff\xfe\x00x"
	got = Snippet(src, Pos{Offset: 19, Line: 1, Col: 20}) // at the x
	want = "  echo \ufffd]0;title\ufffd \ufffd\ufffd\ufffdx\n                     ^"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snippet of control characters mismatch (-want +got):\n%s", diff)
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"monday", "month", "minute"}
	for in, want := range map[string]string{"mondy": "monday", "mnth": "month", "xyz": "", "minutes": "minute", "mnoth": "month", "omnday": "monday"} {
		if got := Closest(in, cands); got != want {
			t.Errorf("Closest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCronSpacing(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1, 2", `1:3: unexpected space inside the minute field "1, 2"`},
		{"1,", `1:3: expected a value after ","`},
		{"0 9 * * mon,", `1:13: expected a value after ","`},
		{"*/5*", `1:4: expected a space or "," before "*"`},
		{"0 # a comment between fields\n 9", ""},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
