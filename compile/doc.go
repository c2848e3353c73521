// Package compile turns schedules — crontab lines or the every-language —
// into one time-set representation that answers "when is the next fire time
// strictly after t".
//
// A Schedule is a union of terms. Each term is a set of days (day of month,
// month and weekday sets with cron's day rule, optionally a cycle of whole
// days for periods like "every 2w", optionally only leap or common years)
// times a set of seconds of the day, in one zone, under one DST policy.
// Crontab lines land in one term directly; the every-language lands in one
// or a few. Next walks a month at a time to the next matching day, then finds
// the second with two levels of summary bits, so it never steps minute by
// minute, never allocates, and is exact for any year: the calendar repeats
// every 400 years, which bounds every search and makes "never fires" a
// compile-time error.
//
// Fire times are wall-clock times in the schedule's zone (UTC unless the
// schedule or the caller names another). Across DST changes kopf follows
// cronie: fixed-time schedules (crontab lines whose minute and hour fields do
// not start with "*", every-language schedules whose finest period is a day
// or longer) fire once when a spring-forward gap swallowed their time, at the
// end of the gap, and only on the first pass of a fall-back overlap; all
// others fire at every instant whose wall clock matches.
//
// Use:
//
//	s, err := compile.Parse("every 10m every 1d @ 10:00-01:00")
//	if err != nil {
//		// err is a lang.ErrorList; each entry has a line:col position.
//	}
//	t, ok := s.Next(time.Now())
//
// See docs/language.md for the language, and the examples below.
package compile
