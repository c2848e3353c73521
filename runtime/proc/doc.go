// Package proc is kopf's OS process layer on Linux: it starts the daemon's
// processes, reaps every child the daemon ever gets, and stops them.
//
// A [Host] is the one owner of the daemon's children; there is one per
// process, and [NewHost] refuses to make a second while one is open.
// NewHost makes the daemon a child subreaper, so that processes its
// children leave behind are reparented to kopf rather than to init, and
// runs the only wait loop, which reaps with wait4(-1) on every SIGCHLD.
//
// The guarantees:
//
//   - Every process that [Host.Start] started delivers exactly one [Exit]
//     on its own [Process.Done] channel, which is then closed. A process
//     that exits at once is registered before the wait loop can reap it,
//     so no exit is lost, and the channel is fresh per process, so an old
//     process's exit is never mistaken for a new one's.
//   - No exit status is stolen: the wait loop is the only waiter. Nothing
//     else in the daemon may wait for children (no exec.Cmd.Run, Output or
//     Wait, no os.Process.Wait): those would fail with ECHILD, their
//     children being reaped here as orphans.
//   - Exit is delivered once the process is reaped and its stdout and
//     stderr are drained, or 200 ms after it was reaped if a descendant
//     still holds them open; lines written after that still reach
//     [Spec.Output] until end of file.
//   - Each process leads its own process group, so [Process.Signal] and
//     [Process.Stop] reach the descendants that stayed in it.
//   - Each process has Pdeathsig SIGKILL, set from one OS thread that the
//     Host keeps locked for its whole life, so the process is killed when
//     kopf dies in any way (SIGKILL included), and never before: Pdeathsig
//     fires when the spawning thread ends, not the process (golang/go#27505).
//   - Orphans — processes reparented to kopf that it did not start,
//     including, when kopf is PID 1, every orphan in the container — are
//     reaped and forgotten, so none stays a zombie. [Host.Orphans] lists
//     those still running and [Host.KillOrphans] ends them.
//
// The package logs nothing; what happened is in return values only.
//
// Use:
//
//	h, err := proc.NewHost(proc.Options{Name: "kopf-3fa2c1d4e5f6"})
//	if err != nil {
//		return err
//	}
//	defer h.Close()
//	p, err := h.Start(proc.Spec{
//		Argv:   []string{"backup", "--all"},
//		Env:    os.Environ(),
//		Output: func(stream, line string) { slog.Info(line, "stream", stream) },
//	})
//	if err != nil {
//		return err
//	}
//	select {
//	case e := <-p.Done():
//		slog.Info("backup ended", "code", e.Code)
//	case <-ctx.Done():
//		p.Stop(10 * time.Second) // SIGTERM to the group, SIGKILL 10 s later
//		<-p.Done()
//	}
package proc
