package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
)

// LogFormat is how kopf's own log is written: "text", "json", or ""
// for text on a terminal and JSON lines elsewhere.
type LogFormat string

// NewLog returns kopf's own log on w at level (debug, info, warn or
// error; "" is info) in format, and the Config.RawOutput that passes a
// unit's output lines on unchanged into the same stream: one lock keeps
// the handler's records and raw lines from cutting into each other.
// terminal says w is a terminal. The errors name the value and what was
// expected.
func NewLog(w io.Writer, format LogFormat, level string, terminal bool) (*slog.Logger, func(unit, title, stream, line string), error) {
	opts := &slog.HandlerOptions{ReplaceAttr: emptyNotNull}
	switch strings.ToLower(level) {
	case "debug":
		opts.Level = slog.LevelDebug
	case "", "info":
		opts.Level = slog.LevelInfo
	case "warn", "warning":
		opts.Level = slog.LevelWarn
	case "error":
		opts.Level = slog.LevelError
	default:
		return nil, nil, fmt.Errorf("log-level %q: expected debug, info, warn or error", level)
	}
	lw := &lockedWriter{w: w}
	asJSON := format == "json" || format == "" && !terminal
	var h slog.Handler
	switch {
	case format != "" && format != "text" && format != "json":
		return nil, nil, fmt.Errorf("log-format %q: expected text or json", format)
	case asJSON:
		h = slog.NewJSONHandler(lw, opts)
	default:
		h = slog.NewTextHandler(lw, opts)
	}
	log := slog.New(h)
	return log, rawOutput(asJSON, lw, log), nil
}

// rawOutput passes a unit's output line on unchanged, for log-output
// "raw": in a text log, the line itself, and in a JSON log a record whose
// message is the line — or, when the line is a JSON object (the unit's own
// structured log), a record with the object under "output", so that it
// stays an object.
func rawOutput(asJSON bool, w io.Writer, log *slog.Logger) func(unit, title, stream, line string) {
	if !asJSON {
		return func(_, _, _, line string) { w.Write([]byte(line + "\n")) }
	}
	return func(unit, title, stream, line string) {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
			log.Info(title, "unit", unit, "title", title, "stream", stream, "output", json.RawMessage(t))
			return
		}
		log.Info(line, "unit", unit, "title", title, "stream", stream)
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// emptyNotNull writes a nil slice as an empty list: "kept": [] rather than
// null, so that a consumer of the JSON log need not tell the two apart.
func emptyNotNull(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	v := reflect.ValueOf(a.Value.Any())
	if v.Kind() == reflect.Slice && v.IsNil() {
		a.Value = slog.AnyValue(reflect.MakeSlice(v.Type(), 0, 0).Interface())
	}
	return a
}
