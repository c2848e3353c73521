package daemon

import (
	"context"
	"log/slog"

	"github.com/kopf/kopf/runtime/journal"
)

// journalWarnings passes kopf's log on and copies its warnings and errors
// that are not about one unit (config errors, watch failures) to the
// journal; the supervisor journals what happens to units as events of
// their own.
type journalWarnings struct {
	slog.Handler
	record func(...journal.Event)
}

func (h journalWarnings) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		component, unit := "kopf", false
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "unit":
				unit = true
			case "file":
				component = "config"
			case "dir":
				component = "sources"
			}
			return true
		})
		if !unit {
			h.record(journal.Event{Time: r.Time, Type: journal.Warning, Component: component, Error: r.Message})
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h journalWarnings) WithAttrs(as []slog.Attr) slog.Handler {
	return journalWarnings{h.Handler.WithAttrs(as), h.record}
}

func (h journalWarnings) WithGroup(name string) slog.Handler {
	return journalWarnings{h.Handler.WithGroup(name), h.record}
}
