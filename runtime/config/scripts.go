package config

import (
	"path/filepath"
	"time"

	"github.com/kopf/kopf/lang"
)

// Script is the config of one executable of a scripts directory, as
// cronmon runs them: a proc named by the file's base name that runs the
// file with no arguments, in the file's directory, with a proc's defaults.
// digest is a hash of the file's content, so that a changed script makes a
// different fingerprint and restarts.
func Script(path, digest string) *Config {
	name := filepath.Base(path)
	pos := lang.Pos{Filename: path}
	p := &Proc{
		Unit: Unit{
			Name:     name,
			Pos:      pos,
			Command:  []string{path},
			Dir:      filepath.Dir(path),
			Title:    name,
			LogStart: true,
			Idle:     defaultProcIdle,
			StopTime: defaultStopTime,
			Location: time.UTC,
			Digest:   digest,
		},
		Backoff: defaultBackoff,
	}
	return &Config{File: path, Procs: []*Proc{p}}
}
