package compile

// Calendar arithmetic on day numbers: days since 1970-01-01 in the proleptic
// Gregorian calendar, counted on the wall clock of the schedule's zone. These
// are Howard Hinnant's days_from_civil / civil_from_days algorithms: integer
// only, exact for any int64 day the callers produce, and much cheaper than a
// round trip through time.Date.

const daySec = 86400

// epochWeekday is the weekday of day 0, 1970-01-01: a Thursday (Sunday = 0).
const epochWeekday = 4

// floorDiv and floorMod round toward negative infinity, so instants before
// 1970 land on the right day.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m != 0 && ((m < 0) != (b < 0)) {
		m += b
	}
	return m
}

// civil returns the year, month (1-12) and day of month (1-31) of day n.
func civil(n int64) (y int64, m, d int) {
	z := n + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

// dayNumber returns the day number of y-m-d; d may be past the month's end
// (day 32 of January is February 1).
func dayNumber(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func monthLen(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// weekday returns the weekday of day n, Sunday = 0.
func weekday(n int64) int { return int(floorMod(n+epochWeekday, 7)) }

// gcd is Euclid's, for the cycle lengths of multi-day periods.
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
