package cli

import (
	"bufio"
	"context"
	"fmt"
	"github.com/spf13/pflag"
	"strings"
	"time"

	"github.com/kopf/kopf/compile"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
)

var nextCmd = &command{
	name:     "next",
	synopsis: "[--tz ZONE] [--after TIME] [--dst-gap P] [--dst-overlap P] [--name NAME [--jitter D]] [-n N] SCHEDULE | --job NAME [-n N] [--socket PATH]",
	summary:  "print the next fire times of a schedule",
	run:      runNext,
}

func runNext(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	times := addTimeFlags(fs)
	dst := addDSTFlags(fs)
	name := fs.String("name", "", "")
	jitter := fs.String("jitter", "", "")
	seed := fs.String("jitter-seed", "", "")
	n := fs.IntP("n", "n", 10, "")
	job := fs.String("job", "", "")
	socket := e.clientSocket(fs)
	return func(ctx context.Context, pos []string) error {
		var err error
		if *job != "" {
			return e.nextOfJob(ctx, fs, *job, socket(), *n, pos)
		}
		switch {
		case len(pos) == 0:
			return usagef("missing SCHEDULE")
		case len(pos) > 1:
			return usagef("expected one SCHEDULE argument, got %d; quote a schedule that has spaces, like '30 2 * * *'", len(pos))
		case *n < 1:
			return usagef("-n must be at least 1, got %d", *n)
		}
		loc, after, err := times.resolve(e)
		if err != nil {
			return err
		}
		policy, err := dst.resolve()
		if err != nil {
			return err
		}
		var off time.Duration
		if *jitter != "" {
			d, err := config.ParseDuration(*jitter)
			switch {
			case err != nil:
				return usagef("--jitter %q: %v", *jitter, err)
			case *name == "":
				return usagef("--jitter needs --name: a job's jitter offset is a hash of its name")
			}
			off = compile.JitterOffset(*seed+"/"+*name, d)
		}
		s := e.lint("", pos[0], loc, *name)
		if s == nil {
			return errFailed
		}
		if note := hashNote(s, *name); note != "" {
			fmt.Fprintln(e.stderr, note)
		}
		s = s.WithDST(policy)
		// Formatting into one reused buffer and writing through bufio keeps
		// "kopf next -n 100000" at the cost of Next itself.
		w := bufio.NewWriterSize(e.stdout, 32<<10)
		buf := make([]byte, 0, len(time.RFC3339)+8)
		for t, i := after, 0; i < *n; i++ {
			next, ok := s.Next(t)
			if !ok {
				break
			}
			buf = append(s.Jitter(next, off).AppendFormat(buf[:0], time.RFC3339), '\n')
			w.Write(buf) // a write error sticks; Flush reports it
			t = next
		}
		return w.Flush()
	}
}

// nextOfJob prints the next fire times of a job of the running kopf.
func (e *env) nextOfJob(ctx context.Context, fs *pflag.FlagSet, job, socket string, n int, pos []string) error {
	var bad []string
	fs.Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "tz", "after", "dst-gap", "dst-overlap", "name", "jitter", "jitter-seed":
			bad = append(bad, "--"+f.Name)
		}
	})
	switch {
	case len(bad) > 0:
		return usagef("%s cannot go with --job: the job's times are from now, in its own zone, under its own DST policy and jitter", strings.Join(bad, " and "))
	case len(pos) > 0:
		return usagef("--job NAME takes no SCHEDULE, got %q", pos[0])
	case n < 1 || n > 10000:
		return usagef("-n must be from 1 to 10000, got %d", n)
	}
	resp, err := e.call(ctx, socket, control.Request{Cmd: control.CmdNext, Name: job, N: n})
	if err != nil {
		return err
	}
	for _, t := range resp.Times {
		fmt.Fprintln(e.stdout, t)
	}
	return nil
}
