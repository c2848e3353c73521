package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/kopf/kopf/compile"
)

var diffCmd = &command{
	name:     "diff",
	synopsis: "[--tz ZONE] [--after TIME] [--json] A B",
	summary:  "compare two schedules exactly",
	run:      runDiff,
}

// errSchedule says a schedule given on the command line is invalid and its
// errors are printed: exit status 2, as a usage error.
var errSchedule = errors.New("invalid schedule")

func runDiff(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	times := addTimeFlags(fs)
	asJSON := fs.Bool("json", false, "")
	return func(_ context.Context, pos []string) error {
		if len(pos) != 2 {
			return usagef("expected two schedules, A and B, got %d arguments; quote a schedule that has spaces", len(pos))
		}
		loc, after, err := times.resolve(e)
		if err != nil {
			return err
		}
		var ss [2]*compile.Schedule
		for i, src := range pos {
			if ss[i] = e.lint(fmt.Sprintf("schedule %c: ", 'A'+i), src, loc, ""); ss[i] == nil {
				return errSchedule
			}
		}
		c, err := compile.Diff(ss[0], ss[1], after)
		if err != nil {
			return usagef("%v", err)
		}
		if *asJSON {
			type witness struct {
				At   time.Time `json:"at"`
				Kind string    `json:"kind"`
			}
			doc := struct {
				Relation  compile.Relation `json:"relation"`
				Witnesses []witness        `json:"witnesses"`
			}{Relation: c.Relation, Witnesses: []witness{}}
			for _, w := range c.Witnesses {
				doc.Witnesses = append(doc.Witnesses, witness{w.At, w.Kind})
			}
			b, _ := json.MarshalIndent(doc, "", "  ")
			fmt.Fprintln(e.stdout, string(b))
		} else {
			fmt.Fprintln(e.stdout, c.Relation)
			for _, w := range c.Witnesses {
				fmt.Fprintf(e.stdout, "witness %s %s\n", w.At.Format(time.RFC3339), w.Kind)
			}
		}
		if c.Relation != compile.RelEqual {
			return errDiffers
		}
		return nil
	}
}

// errDiffers is kopf diff's status 1: the schedules differ (nothing more
// to print).
var errDiffers = fmt.Errorf("%w: the schedules differ", errFailed)
