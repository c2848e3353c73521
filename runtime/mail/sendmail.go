package mail

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"time"
)

// SendmailError is a sendmail command's exit with a status other than 0.
type SendmailError struct {
	Command string
	Code    int
}

func (e *SendmailError) Error() string {
	return fmt.Sprintf("mail: %s exited with status %d", e.Command, e.Code)
}

// Temporary reports whether another try may succeed. sysexits.h names the
// statuses: of those, a usage error (64), bad input (65), an unknown user
// (67) or host (68), a missing permission (77) and a configuration error
// (78) do not go away by themselves; every other status is worth a retry,
// EX_TEMPFAIL (75) in the first place.
func (e *SendmailError) Temporary() bool {
	switch e.Code {
	case 64, 65, 67, 68, 77, 78:
		return false
	}
	return true
}

// sendmail runs Config.Sendmail through Options.Start with the message on
// its stdin, in the line-end convention of the local system (LF), and
// waits for it within the attempt's limit.
//
// A command still running at the limit is left to run: Start hands out no
// way to stop it, and the daemon's process host reaps it whenever it ends.
func (m *Mailer) sendmail(ctx context.Context, it *item, limit time.Time) error {
	if m.opts.Start == nil {
		return ErrNoStart
	}
	argv := append(slices.Clone(m.opts.Config.Sendmail), "-i", "-f", it.from, "--")
	argv = append(argv, it.to...)
	stdin := bytes.ReplaceAll(it.data, []byte("\r\n"), []byte("\n"))
	wait, err := m.opts.Start(argv, os.Environ(), stdin)
	if err != nil {
		return fmt.Errorf("mail: start %s: %w", argv[0], err)
	}
	ctx, cancel := context.WithDeadline(ctx, limit)
	defer cancel()
	type exit struct {
		code int
		err  error
	}
	done := make(chan exit, 1) // the waiter never blocks, even when abandoned
	go func() {
		code, err := wait()
		done <- exit{code, err}
	}()
	select {
	case e := <-done:
		switch {
		case e.err != nil:
			return fmt.Errorf("mail: %s: %w", argv[0], e.err)
		case e.code != 0:
			return &SendmailError{Command: argv[0], Code: e.code}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mail: %s still running after %v: %w", argv[0], m.opts.Timeout, context.Cause(ctx))
	}
}
