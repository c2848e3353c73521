package main

import (
	"errors"
	"time"

	"github.com/adhocore/gronx"
	"github.com/hashicorp/cronexpr"
	"github.com/kopf/kopf/compile"
	cron "github.com/robfig/cron/v3"
)

// nextFunc is one library's "first fire time strictly after t", with false
// for "none" (each peer has its own way of saying that).
type nextFunc func(t time.Time) (time.Time, bool)

// lib is a cron library under test. parse returns the compiled schedule's
// Next for expr in loc; the peers have no zone argument and compute in the
// zone of the time they are given, which the callers always pass in loc.
type lib struct {
	name  string
	parse func(expr string, loc *time.Location) (nextFunc, error)
}

var kopf = lib{"kopf", func(expr string, loc *time.Location) (nextFunc, error) {
	s, err := compile.ParseIn(expr, loc)
	if err != nil {
		return nil, err
	}
	return s.Next, nil
}}

var peers = []lib{
	{"robfig/cron", func(expr string, _ *time.Location) (nextFunc, error) {
		// ParseStandard's schedules are in time.Local, which robfig
		// reads as "the zone of the time passed to Next".
		s, err := cron.ParseStandard(expr)
		if err != nil {
			return nil, err
		}
		return func(t time.Time) (time.Time, bool) {
			n := s.Next(t)
			return n, !n.IsZero()
		}, nil
	}},
	{"cronexpr", func(expr string, _ *time.Location) (nextFunc, error) {
		e, err := cronexpr.Parse(expr)
		if err != nil {
			return nil, err
		}
		return func(t time.Time) (time.Time, bool) {
			n := e.Next(t)
			return n, !n.IsZero()
		}, nil
	}},
	{"gronx", func(expr string, _ *time.Location) (nextFunc, error) {
		// gronx has no compiled form: NextTickAfter parses expr on
		// every call, and that is part of what it costs.
		if !gronx.IsValid(expr) {
			return nil, errors.New("gronx: invalid expression")
		}
		return func(t time.Time) (time.Time, bool) {
			n, err := gronx.NextTickAfter(expr, t, false)
			return n, err == nil
		}, nil
	}},
}

// parseOnly is each library's cost of turning a line into something that
// can answer Next; gronx has nothing to compile, so it is measured by its
// validator, the closest thing it has.
var parseOnly = map[string]func(expr string) error{
	"kopf": func(expr string) error { _, err := compile.Parse(expr); return err },
	"robfig/cron": func(expr string) error {
		_, err := cron.ParseStandard(expr)
		return err
	},
	"cronexpr": func(expr string) error { _, err := cronexpr.Parse(expr); return err },
	"gronx": func(expr string) error {
		if !gronx.IsValid(expr) {
			return errors.New("invalid")
		}
		return nil
	},
}
