package compile

import (
	"strings"
	"testing"
	"time"
)

// TestExplain: a table of schedules and their sentences; and every
// canonical crontab form explained is equal to its schedule (Diff).
func TestExplain(t *testing.T) {
	be, _ := time.LoadLocation("Europe/Berlin")
	from := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	tests := []struct{ src, sentence, crontab, every string }{
		{"30 9-16 * * mon-fri", "at minute 30 past every hour from 09:00 to 16:59, Monday to Friday, in Europe/Berlin", "30 9-16 * * 1-5", "every 1h @ 30m every workday @ 09:00-17:00"},
		{"every 2h", "at minute 0 past every 2nd hour, in Europe/Berlin", "0 */2 * * *", "every 2h"},
		{"*/15 * * * *", "every 15th minute of every hour, in Europe/Berlin", "*/15 * * * *", "every 15m"},
		{"every 1d @ 04:15", "at 04:15, in Europe/Berlin", "15 4 * * *", "@ 04:15"},
		{"every workday offset 8h30m", "at 08:30, Monday to Friday, in Europe/Berlin", "30 8 * * 1-5", "every workday @ 08:30"},
		{"0 9 1 * mon", "at 09:00, on day 1 of the month or on Monday, in Europe/Berlin", "0 9 1 * 1", ""},
		{"5,35 */2 1-10 jan,jul *", "at minutes 5, 35 past every 2nd hour, on days 1 to 10 of the month, in January and July, in Europe/Berlin", "5,35 */2 1-10 1,7 *", ""},
		{"* * * * *", "every minute, in Europe/Berlin", "* * * * *", "every 1m"},
		{"*/10 0,10-23 * * *", "every 10th minute of hours 0, 10 to 23, in Europe/Berlin", "*/10 0,10-23 * * *", "every 10m every 1d @ 10:00-01:00"},
		{"every 30s", "at seconds 0, 30 of every minute, in Europe/Berlin", "", "every 30s"},
		{"every 2w", "at 00:00, on one day in every 14, in Europe/Berlin", "", ""},
	}
	for _, tt := range tests {
		s, err := ParseIn(tt.src, be)
		if err != nil {
			t.Fatal(err)
		}
		e := Explain(s, from)
		if e.Sentence != tt.sentence || strings.Join(e.Crontab, "|") != tt.crontab || e.Every != tt.every {
			t.Errorf("%q:\n got %q %q %q\nwant %q %q %q", tt.src, e.Sentence, e.Crontab, e.Every, tt.sentence, tt.crontab, tt.every)
		}
		if e.Every != "" {
			b, err := ParseIn(e.Every, be)
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := Diff(s, b, from); c.Relation != RelEqual {
				t.Errorf("%q: its every-language form %q is %s", tt.src, e.Every, c.Relation)
			}
		}
		if len(e.Crontab) > 0 {
			var back []*Schedule
			for _, l := range e.Crontab {
				b, err := ParseIn(l, be)
				if err != nil {
					t.Fatal(err)
				}
				back = append(back, b)
			}
			if c, _ := Diff(s, Union(back...), from); c.Relation != RelEqual {
				t.Errorf("%q: its canonical form %q is %s", tt.src, e.Crontab, c.Relation)
			}
		}
	}
}

// TestWhyNot says which part of a schedule excludes an instant, and finds
// the fires around it.
func TestWhyNot(t *testing.T) {
	be, _ := time.LoadLocation("Europe/Berlin")
	s, _ := ParseIn("30 9-16 * * mon-fri", be)
	sat := time.Date(2026, 12, 5, 10, 30, 0, 0, be)
	if got, want := s.WhyNot(sat), "2026-12-05 is a Saturday; it fires Monday to Friday"; got != want {
		t.Errorf("Saturday: %q, want %q", got, want)
	}
	if got := s.WhyNot(time.Date(2026, 12, 7, 10, 31, 0, 0, be)); !strings.HasPrefix(got, "10:31:00 is not one of its times: it fires at minute 30") {
		t.Errorf("10:31: %q", got)
	}
	if got := s.WhyNot(time.Date(2026, 12, 7, 10, 30, 0, 0, be)); got != "" {
		t.Errorf("a fire: %q, want none", got)
	}
	if p, ok := s.Prev(sat); !ok || !p.Equal(time.Date(2026, 12, 4, 16, 30, 0, 0, be)) {
		t.Errorf("before Saturday: %v %t, want Friday 16:30", p, ok)
	}
}
