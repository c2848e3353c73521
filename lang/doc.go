// Package lang reads kopf schedules: the every-language of the service
// manager ("every 10m every 1d @ 10:00-01:00", "every workday offset
// 8h30m", "@ 04:15 in Europe/Berlin") and crontab(5) time specifications as
// cronie reads them ("*/15 9-17 * * mon-fri", "@daily", "CRON_TZ=Asia/Tokyo
// 0 9 * * *"). One participle grammar parses both into a positioned AST;
// package compile turns that into times.
//
// Errors are an ErrorList of *Error, each with the Pos (1-based line, and a
// column counted in characters) of the token that caused it and a message
// saying what was expected. Snippet renders the source line with a caret,
// for terminals. The AST prints canonically: printing what was parsed and
// parsing it again is a fixed point.
//
// Use:
//
//	s, err := lang.Parse("every 10m offset")
//	if err != nil {
//		fmt.Println(err) // 1:17: expected a duration like 50m or a clock time like 04:15 after "offset", found end of input
//		var list lang.ErrorList
//		if errors.As(err, &list) {
//			fmt.Println(lang.Snippet("every 10m offset", list[0].Pos))
//		}
//		return
//	}
//	fmt.Println(s) // canonical form
package lang
