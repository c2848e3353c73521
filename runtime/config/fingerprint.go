package config

import (
	"slices"
	"sort"
)

// Fingerprint is a canonical text of everything that affects how the job
// runs: equal fingerprints mean a reload leaves it running untouched. It
// is made from the table of settings (settings.go), each setting's value
// in its canonical form: positions, the key a schedule came from
// (schedule, scheduling or cron) and how it was written (every 90m or
// every 1h30m) do not count, nor do the order of its schedules, triggers
// and ports, which are sets, nor whether a setting was written in the job
// or in a proto. Backoff counts only when failed runs are retried.
func (j *Job) Fingerprint() string { return fingerprint(of{Unit: &j.Unit, j: j}) }

// Fingerprint is a canonical text of everything that affects how the proc
// runs: equal fingerprints mean a reload leaves it running untouched. The
// files it watches are sets; a health check counts whole, and its URL as
// made from a path or a health port, however it was written; a string
// command is exactly its /bin/sh -c argv.
func (p *Proc) Fingerprint() string { return fingerprint(of{Unit: &p.Unit, p: p}) }

// sorted returns a sorted copy of a list that is a set.
func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}
