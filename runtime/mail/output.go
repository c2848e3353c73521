package mail

import (
	"sync"
	"unicode/utf8"
)

// DefaultOutputLimit is the bound NewOutput uses when given none.
const DefaultOutputLimit = 1 << 20

// Output collects a run's combined output for mail, up to a bound per
// mail, and hands out what is new since the last Take, so that a run still
// going can be mailed in parts. It is safe for concurrent use.
//
// What is kept is the first limit bytes since the last Take; once a line
// does not fit, it is cut (never inside a UTF-8 sequence) and every later
// byte only counted, so the output a mail shows has no gaps, only a cut
// end. The stream a line came from is not recorded: stdout and stderr are
// interleaved as they arrived, as cron mails them.
type Output struct {
	mu    sync.Mutex
	limit int64
	data  []byte
	cut   int64
}

// NewOutput returns an Output that keeps at most limit bytes per Take;
// limit <= 0 means DefaultOutputLimit.
func NewOutput(limit int64) *Output {
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	return &Output{limit: limit}
}

// Line adds one line of output; a newline is appended to it. stream
// ("stdout" or "stderr") is accepted so that Line fits proc.Spec.Output.
func (o *Output) Line(stream, line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := int64(len(line)) + 1
	if o.cut > 0 {
		o.cut += n
		return
	}
	room := o.limit - int64(len(o.data))
	if n <= room {
		o.data = append(o.data, line...)
		o.data = append(o.data, '\n')
		return
	}
	keep := int(room) // room < n, so this is within line
	for keep > 0 && keep < len(line) && !utf8.RuneStart(line[keep]) {
		keep--
	}
	o.data = append(o.data, line[:keep]...)
	o.cut = n - int64(keep)
}

// Take returns the output added since the last Take (or since NewOutput),
// and how many bytes of it were left out; then it starts over.
func (o *Output) Take() (data []byte, cut int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	data, cut = o.data, o.cut
	o.data, o.cut = nil, 0
	return data, cut
}
