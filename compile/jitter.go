package compile

import (
	"hash/fnv"
	"time"
)

// JitterOffset returns a stable offset in [0, d), in whole seconds, for
// key: the same for the same key and d, at every fire and across restarts,
// and spread over [0, d) between keys. The daemon's key is the jitter seed
// and the job's name.
func JitterOffset(key string, d time.Duration) time.Duration {
	n := int64(d / time.Second)
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64()%uint64(n)) * time.Second
}

// Jitter returns where the fire at of s moves under a jitter offset off:
// off later, but never past the end of the @ window of the part of s that
// fires at at (every 10m every 1d @ 10:00-01:00: not past 01:00), and
// always before the schedule's next fire.
// at must be a fire time of s; off <= 0 leaves it where it is.
func (s *Schedule) Jitter(at time.Time, off time.Duration) time.Time {
	if off < time.Second {
		return at
	}
	u := at.Unix()
	room := int64(off / time.Second)
	if n, ok := s.Next(at); ok {
		room = min(room, n.Unix()-u-1)
	}
	window := int64(-1)
	for i := range s.terms {
		t := &s.terms[i]
		if c, ok := t.next(u); ok && c == u {
			window = max(window, t.windowRoom(u))
		}
	}
	if window >= 0 {
		room = min(room, window)
	}
	return at.Add(time.Duration(max(room, 0)) * time.Second)
}

// windowRoom is how many seconds after u, a fire time of the term, the
// term's window still holds; a term without a window has room for ever.
func (t *term) windowRoom(u int64) int64 {
	if t.window == nil {
		return noEnd
	}
	w := u + t.zone.at(u).off
	day := floorDiv(w, daySec)
	s := w - day*daySec
	end := s
	for _, r := range t.window {
		if r.lo <= s && s < r.hi {
			end = r.hi
		}
	}
	if first := t.window[0]; end == daySec && first.lo == 0 {
		// A window that wraps past midnight goes on the next day, if the
		// term holds that day.
		if n, ok := t.days.next(day + 1); ok && n == day+1 {
			end += first.hi
		}
	}
	return end - s - 1
}
