// Package journal is kopf's memory: every decision the daemon acts on is one
// line of JSON, an Event, appended to a file. A daemon that starts reads
// back what the daemon before it wrote, to find the processes that one
// started and that may still run, and to know when it was last alive and
// which jobs it ran. kopf journal prints the file for people.
//
//	j, prev, err := journal.Open(journal.DefaultPath(os.Getenv), journal.Options{})
//	if err != nil {
//		return err // a *LockedError names the daemon that holds it
//	}
//	defer j.Close()
//	for _, p := range prev.Running {
//		// stop p if /proc still shows it, started at p.StartTicks
//	}
//	j.Record(journal.Event{Type: journal.Spawned, Unit: "web", Kind: "proc", PID: pid, StartTicks: ticks})
//	…
//	j.Record(journal.Event{Type: journal.Quit})
//
// One daemon holds a journal at a time, by an flock on PATH.lock. Each
// event is one line, written to a file opened with O_APPEND by a write(2)
// of whole lines (one, or the events of one Record call together), so a
// crash leaves at most the last line cut short, and Open cuts that off.
// The file is synced after the events a restart depends on (acquired,
// state, quit) and in Close, not after every event: a power loss may lose
// the last seconds of events, but the processes they describe die with the
// machine. The file is rotated at Options.MaxSize, and each new file starts
// with a state event, so the current file alone tells what the daemon held.
package journal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kopf/kopf/runtime/proc"
)

// Defaults for Options.
const (
	DefaultMaxSize = 16 << 20
	DefaultKeep    = 3
)

// Invalid lines Open reports one by one; beyond them, one warning counts
// the rest.
const maxWarnings = 10

// Options configure Open.
type Options struct {
	// MaxSize is the size the journal file does not grow past: before a
	// line would make it larger, the file is rotated. A line alone longer
	// than MaxSize still goes into a file of its own. 0 means
	// DefaultMaxSize.
	MaxSize int64
	// Keep is how many rotated files are kept, PATH.1 the newest to
	// PATH.Keep the oldest. 0 means DefaultKeep.
	Keep int
	// Now is the clock for events recorded without a time; nil means
	// time.Now.
	Now func() time.Time
	// OnError is told when the journal cannot be written (a full disk, a
	// failed rotation), once for each run of failures: after a write
	// succeeds again, the next failure is told again. The journal goes on
	// without it either way; it never stops what kopf runs. OnError is
	// called by the Record that met the failure after the journal's lock
	// is released, so it may Record a warning itself; it should return
	// quickly, as that Record waits for it. nil ignores failures.
	OnError func(error)
	// LockWait bounds how long Open waits for the lock when the daemon
	// that took it has ended but the lock is still held: a process it
	// forked and that had not yet exec'd (a SIGKILL that landed while kopf
	// was starting a child) holds the lock's open file until it execs or
	// dies. 0 means 5 seconds.
	LockWait time.Duration
	// OnWait is told, once, when Open waits for such a lock, and why; nil
	// says nothing.
	OnWait func(msg string)
	// OnReopen is told when the journal file was removed or replaced while
	// the daemon ran (rm, a log rotation tool's rename) and the Journal
	// opened a new one at its path, which begins with a state event and a
	// warning event saying what happened. It is called after the lock is
	// released, like OnError; nil says nothing.
	OnReopen func(msg string)
}

// Journal is a journal file taken by this daemon. Its methods are safe for
// concurrent use.
type Journal struct {
	path      string
	maxSize   int64
	keep      int
	now       func() time.Time
	onError   func(error)
	onReopen  func(string)
	lock      *os.File // held, with its flock, until Close
	journalID string
	bootID    string

	mu      sync.Mutex
	f       *os.File    // nil once closed
	fi      os.FileInfo // f's identity, to tell when the path names another file
	size    int64
	head    int64 // bytes of the state event that begins the file, if one does
	torn    bool  // the file ends in part of a line that could not be cut off
	state   *state
	failing bool // the last Record failed, and OnError was told
	buf     bytes.Buffer
	pending []byte // lines marshalled and not written yet, by Record
	enc     *json.Encoder
}

// Previous is what the journal says of the daemon that wrote it last.
type Previous struct {
	// LastSeen is the time of the last event it wrote: it was alive then.
	// Zero for a new or empty journal.
	LastSeen time.Time
	// BootID is the boot_id of the machine it ran on, "" if unknown. A pid
	// means the same process only in the same boot.
	BootID string
	// Running are the processes it started and did not see exit, by unit
	// then pid.
	Running []Proc
	// Jobs are the jobs it ran.
	Jobs map[string]bool
	// Quit says it ended with a quit event: it stopped cleanly, every
	// process with it.
	Quit bool
}

// LockedError says another daemon holds the journal.
type LockedError struct {
	Path string // the journal
	PID  int    // of the daemon holding it; 0 if unknown
	// Ended says the daemon PID has ended, and the lock was still held
	// after Options.LockWait by Holders, the processes that have the lock
	// file open.
	Ended   bool
	Waited  time.Duration
	Holders []int
}

func (e *LockedError) Error() string {
	switch {
	case e.Ended:
		var pids []string
		for _, p := range e.Holders {
			pids = append(pids, strconv.Itoa(p))
		}
		held := "a process that inherited it still holds"
		switch len(pids) {
		case 0:
		case 1:
			held = "pid " + pids[0] + " still holds"
		default:
			held = "pids " + strings.Join(pids, ", ") + " still hold"
		}
		return fmt.Sprintf("journal %s is locked although kopf pid %d, which took it, has ended: %s the lock file open after %s; "+
			"stop them, or give this kopf its own --journal", e.Path, e.PID, held, e.Waited)
	case e.PID <= 0:
		return fmt.Sprintf("journal %s is in use by another kopf", e.Path)
	}
	return fmt.Sprintf("journal %s is in use by kopf pid %d", e.Path, e.PID)
}

// DefaultPath is where kopf keeps its journal: $XDG_STATE_HOME/kopf/
// journal.jsonl, or $HOME/.local/state/kopf/journal.jsonl when
// XDG_STATE_HOME is unset or not absolute, as the XDG base directory spec
// says.
func DefaultPath(getenv func(string) string) string {
	base := getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(base) {
		base = filepath.Join(getenv("HOME"), ".local", "state")
	}
	return filepath.Join(base, "kopf", "journal.jsonl")
}

// BootID returns the kernel's boot_id, which changes at every boot; "" if
// it cannot be read.
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Open takes the journal at path for this daemon and reads what the
// daemons before it wrote. It creates the directory and the file when
// missing. Another daemon holding the journal is a *LockedError.
//
// A last line without its newline was cut short by a crash: Open removes
// it and records a log_truncated event saying so. Nothing else is ever
// removed: a line in the middle that is not a valid event stays, and Open
// records a warning for it. Open records acquired first, then those.
//
// A file larger than four times MaxSize (at least 4 MiB), which kopf
// never makes, is read from its end only: the lines that begin in that
// many last bytes, and a warning says what was not read. When those bytes
// hold a state event, as they do when the file is several that kopf
// rotated put together, Previous is what the whole file tells; otherwise
// it is what those bytes tell. The first event recorded rotates the file.
func Open(path string, opts Options) (*Journal, *Previous, error) {
	j := &Journal{
		path:      path,
		maxSize:   opts.MaxSize,
		keep:      opts.Keep,
		now:       opts.Now,
		onError:   opts.OnError,
		onReopen:  opts.OnReopen,
		journalID: newJournalID(),
		bootID:    BootID(),
		state:     newState(),
	}
	if j.maxSize <= 0 {
		j.maxSize = DefaultMaxSize
	}
	if j.keep <= 0 {
		j.keep = DefaultKeep
	}
	if j.now == nil {
		j.now = time.Now
	}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false) // a command line reads better with its < and & as they are

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	lock, err := takeLock(path, opts.LockWait, opts.OnWait)
	if err != nil {
		return nil, nil, err
	}
	unlinkHalfRotated(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	prev, notes, err := j.load(f)
	if err != nil {
		f.Close()
		lock.Close()
		return nil, nil, fmt.Errorf("reading journal: %w", err)
	}
	j.lock, j.f = lock, f
	j.fi, _ = f.Stat()
	j.Record(Event{Type: Acquired, JournalID: j.journalID, PID: os.Getpid(), BootID: j.bootID})
	for _, ev := range notes {
		j.Record(ev)
	}
	return j, prev, nil
}

// takeLock locks path's lock file and writes our pid and start time in
// it. The lock file is never removed: a daemon that removed it could leave
// the next two to lock two different files of one name.
//
// A lock held while the daemon named in the file has ended is held by a
// process that daemon forked and that had not exec'd yet (the descriptor
// is close-on-exec, so it goes at exec or exit): takeLock waits for it, up
// to wait, and says so once through onWait.
func takeLock(path string, wait time.Duration, onWait func(string)) (*os.File, error) {
	if wait <= 0 {
		wait = 5 * time.Second
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	told := false
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == unix.EINTR {
			continue
		}
		if err != unix.EWOULDBLOCK {
			break
		}
		b := make([]byte, 64)
		n, _ := f.ReadAt(b, 0)
		pid, ticks, known := parseHolder(string(b[:n]))
		if !known || holderRuns(pid, ticks) {
			f.Close()
			return nil, &LockedError{Path: path, PID: pid}
		}
		if waited := time.Since(start); waited >= wait {
			holders := lockHolders(f)
			f.Close()
			return nil, &LockedError{Path: path, PID: pid, Ended: true, Waited: wait, Holders: holders}
		}
		if !told && onWait != nil {
			told = true
			onWait(fmt.Sprintf("journal %s: kopf pid %d, which held it, has ended, but the lock is still held, "+
				"most likely by a child it was starting when it died; waiting up to %s for it to go", path, pid, wait))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock %s: %w", f.Name(), err)
	}
	// The pid only names the holder for the next daemon; failing to write
	// it is no reason not to run.
	ticks, _ := proc.StartTicks(os.Getpid())
	if f.Truncate(0) == nil {
		f.WriteAt(fmt.Appendf(nil, "%d %d\n", os.Getpid(), ticks), 0)
	}
	return f, nil
}

// parseHolder reads a lock file: "PID TICKS", or "PID" as kopf wrote it
// before. known is false when it names no pid (a daemon between its flock
// and its write).
func parseHolder(s string) (pid int, ticks uint64, known bool) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, 0, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0, 0, false
	}
	if len(f) > 1 {
		ticks, _ = strconv.ParseUint(f[1], 10, 64)
	}
	return pid, ticks, true
}

// holderRuns reports whether the daemon pid, started at ticks (0:
// unknown), still runs.
func holderRuns(pid int, ticks uint64) bool {
	now, ok := proc.StartTicks(pid)
	if !ok || (ticks != 0 && now != ticks) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// lockHolders lists the processes that have the file f has open, as far
// as /proc lets us see.
func lockHolders(f *os.File) []int {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	procs, _ := os.ReadDir("/proc")
	var out []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fds, _ := os.ReadDir("/proc/" + p.Name() + "/fd")
		for _, fd := range fds {
			if other, err := os.Stat("/proc/" + p.Name() + "/fd/" + fd.Name()); err == nil && os.SameFile(fi, other) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// unlinkHalfRotated undoes a rotation a crash interrupted after it linked
// PATH.1 to PATH and before the new file took the name PATH: the events
// would be read twice.
func unlinkHalfRotated(path string) {
	cur, err1 := os.Stat(path)
	old, err2 := os.Stat(path + ".1")
	if err1 == nil && err2 == nil && os.SameFile(cur, old) {
		os.Remove(path + ".1")
	}
}

// load reads the journal file f, or its end when it is larger than kopf
// makes one, cuts off a torn last line, and returns what the last daemon
// left and the events telling what load found wrong or did not read.
func (j *Journal) load(f *os.File) (*Previous, []Event, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := fi.Size()
	e, err := readEnd(j.path, f, size, readBack(j.maxSize))
	if err != nil {
		return nil, nil, err
	}
	j.state, j.size = e.state, size
	notes := e.notes
	switch {
	case e.complete < 0:
		// Not a line a crash cut short, which is one write of kopf's: a
		// line that large has no start Open could find without reading
		// all of it. It stays, and kopf's next line starts on a line of
		// its own; the first write rotates the file, larger than MaxSize.
		j.torn = true
		notes = append([]Event{{Type: Warning, Component: "journal",
			Error: fmt.Sprintf("%s: its last %s hold no newline: not a line cut short by a crash; left as it is", j.path, sizeWords(size-e.from))}}, notes...)
	case e.tail > 0:
		cut := fmt.Sprintf("the last line was cut short (%d bytes), most likely by a crash while it was written", e.tail)
		if err := f.Truncate(e.complete); err != nil {
			// It stays a line of its own: the next line starts on a new one.
			j.torn = true
			notes = append([]Event{{Type: Warning, Component: "journal",
				Error: fmt.Sprintf("%s: %s; cannot remove it: %v", j.path, cut, err)}}, notes...)
		} else {
			j.size = e.complete
			notes = append([]Event{{Type: LogTruncated, Reason: cut + "; removed"}}, notes...)
		}
	}
	return e.previous(), notes, nil
}

// readBack is how much of the end of its file Open reads at most, for a
// journal of MaxSize maxSize. kopf rotates a file before it passes
// MaxSize, or, with a state event larger than that, twice the state event
// (which a reader takes only up to maxLine), so a file kopf wrote is
// always read whole. One that grew larger otherwise (rotated files put
// back together, a larger MaxSize before, a file kopf did not write) costs
// the start no more than this, whatever its size: a daemon started on a 1
// GiB journal answers in seconds, not minutes.
func readBack(maxSize int64) int64 { return max(4*maxSize, 4*maxLine) }

// ending is what Open learns from the end of a journal file.
type ending struct {
	state    *state
	lastSeen time.Time
	notes    []Event // warnings: the invalid lines, and what was not read
	// from is where reading began: 0, or the first line that begins in
	// the window read.
	from int64
	// complete is where the last complete line ends, and tail how many
	// bytes follow it. complete is -1 when the window holds no newline:
	// then where the last line begins is not known.
	complete, tail int64
	stated         bool // a state event was among the events read
}

// previous is what the events read say of the daemon that wrote them.
func (e *ending) previous() *Previous {
	return &Previous{
		LastSeen: e.lastSeen,
		BootID:   e.state.bootID,
		Running:  e.state.procs(),
		Jobs:     maps.Clone(e.state.jobs),
		Quit:     e.state.quit,
	}
}

// readEnd folds the events of the journal file name, of size bytes, into
// a new state: all of them when it is no larger than window; else those of
// the lines that begin in its last window bytes, and a warning says what
// was not read. A state event resets what the events before it said, and
// every file kopf rotates begins with one, so a window that holds one
// tells what reading the whole file tells.
func readEnd(name string, r io.ReaderAt, size, window int64) (*ending, error) {
	e := &ending{state: newState()}
	if size > window {
		from, err := lineAfter(r, size-window-1, size)
		if err != nil {
			return nil, err
		}
		if from < 0 {
			e.from, e.complete, e.tail = size-window, -1, window
			e.notes = append(e.notes, skippedWarning(name, size, e.from, false))
			return e, nil
		}
		e.from = from
	}
	invalid := 0
	complete, tail, err := readFile(name, io.NewSectionReader(r, e.from, size-e.from), e.from, func(ev Event, _ []byte) error {
		e.state.apply(ev)
		e.lastSeen = ev.Time
		e.stated = e.stated || ev.Type == State
		return nil
	}, func(le *LineError) {
		if invalid++; invalid <= maxWarnings {
			e.notes = append(e.notes, Event{Type: Warning, Component: "journal", Error: le.Error()})
		}
	})
	if err != nil {
		return nil, err
	}
	if more := invalid - maxWarnings; more > 0 {
		e.notes = append(e.notes, Event{Type: Warning, Component: "journal",
			Error: fmt.Sprintf("%s: %d more lines are not valid events; kopf journal lists them all", name, more)})
	}
	if e.from > 0 {
		e.notes = append([]Event{skippedWarning(name, size, e.from, e.stated)}, e.notes...)
	}
	e.complete, e.tail = e.from+complete, tail
	return e, nil
}

// skippedWarning says that Open read the journal file name, of size
// bytes, from byte from only, and what that costs: nothing when what it
// read holds a state event.
func skippedWarning(name string, size, from int64, stated bool) Event {
	msg := fmt.Sprintf("journal %s is %s, larger than kopf lets a file grow: read its last %s only, from byte %d",
		name, sizeWords(size), sizeWords(size-from), from)
	if stated {
		msg += ", which hold a state event of what kopf held then, so no process or job was missed; the lines before were not checked"
	} else {
		msg += ", and found no state event there; processes started and jobs run before that were not looked for: " +
			"such a process that still runs is not stopped, and such a job's missed fires are not made up for"
	}
	msg += "; kopf's first event rotates it to " + name + ".1"
	return Event{Type: Warning, Component: "journal", Error: msg}
}

// lineAfter returns the offset just after the first '\n' of r at or after
// off, -1 if there is none before size. It reads no further than that
// newline, a chunk at a time.
func lineAfter(r io.ReaderAt, off, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for off < size {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return off + int64(i) + 1, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		if n == 0 {
			break // the file is shorter than it was: a newline is not coming
		}
		off += int64(n)
	}
	return -1, nil
}

// sizeWords writes a size for a person: 1.0 GiB, 64 MiB, 512 KiB.
func sizeWords(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func newJournalID() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	return hex.EncodeToString(b)
}

// Path returns the journal file's path.
func (j *Journal) Path() string { return j.path }

// Record writes each event as one line, in order, its Time set to now
// when zero. The lines of one call are written together, in as few
// write(2)s as fit them, so that a daemon loading 100k jobs writes their
// source events at the cost of a few calls, not 100k. A failure goes to
// Options.OnError and changes nothing else: the journal never stops what
// kopf runs. After Close, Record does nothing.
func (j *Journal) Record(evs ...Event) {
	reopened, err := j.record(evs)
	if reopened != "" && j.onReopen != nil {
		j.onReopen(reopened)
	}
	if err != nil && j.onError != nil {
		j.onError(err)
	}
}

// Check opens the journal again, as Record does, if its file was removed
// or replaced: for a daemon with no event to write for a while, so that
// the file is back before it is needed. After Close, it does nothing.
func (j *Journal) Check() {
	j.mu.Lock()
	reopened, err := "", error(nil)
	if j.f != nil {
		reopened, err = j.followPath(j.now())
		err = j.failed(errors.Join(err, j.flush()))
	}
	j.mu.Unlock()
	if reopened != "" && j.onReopen != nil {
		j.onReopen(reopened)
	}
	if err != nil && j.onError != nil {
		j.onError(err)
	}
}

// record writes evs and returns what OnReopen is to be told, if anything,
// and the error OnError is to be told, if any.
func (j *Journal) record(evs []Event) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil || len(evs) == 0 {
		return "", nil
	}
	now := j.now()
	reopened, err := j.followPath(now)
	if err != nil {
		return reopened, j.failed(err)
	}
	var errs []error
	for _, ev := range evs {
		if ev.Time.IsZero() {
			ev.Time = now
		}
		errs = append(errs, j.append(ev))
	}
	errs = append(errs, j.flush())
	return reopened, j.failed(errors.Join(errs...))
}

// append folds ev into the state and adds its line to the pending ones.
func (j *Journal) append(ev Event) error {
	j.state.apply(ev)
	return j.write(ev)
}

// failed returns err if OnError is to be told of it: the first failure
// after a success.
func (j *Journal) failed(err error) error {
	switch {
	case err == nil:
		j.failing = false
		return nil
	case j.failing:
		return nil
	}
	j.failing = true
	return err
}

// followPath reopens the journal when its path no longer names the file
// being written: it was removed, or renamed away (a log rotation tool),
// and appending to it would be appending to a file no reader finds. The
// new file begins with a state event, so that a restart still knows what
// runs, and a warning saying what happened; followPath returns that text.
func (j *Journal) followPath(now time.Time) (string, error) {
	fi, err := os.Stat(j.path)
	if err == nil && os.SameFile(fi, j.fi) {
		return "", nil
	}
	what := "was removed"
	if err == nil {
		what = "was replaced by another file"
	}
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("journal %s %s while kopf ran, and cannot be opened again: %w", j.path, what, err)
	}
	nfi, err := f.Stat()
	if err != nil {
		f.Close()
		return "", err
	}
	j.f.Close()
	j.f, j.fi, j.size, j.head, j.torn = f, nfi, nfi.Size(), 0, endsTorn(f, nfi.Size())
	msg := fmt.Sprintf("journal %s %s while kopf ran; kopf writes to a file at that path again, which begins with what kopf holds now. "+
		"kopf rotates its journal itself: do not remove or rotate it by hand (docs/operations.md)", j.path, what)
	st := j.stateEvent(now)
	if err := j.append(st); err != nil {
		return msg, err
	}
	j.head = j.size
	return msg, j.append(Event{Time: now, Type: Warning, Component: "journal", Error: msg})
}

// endsTorn reports whether f, of size bytes, ends in part of a line.
func endsTorn(f *os.File, size int64) bool {
	if size == 0 {
		return false
	}
	b := make([]byte, 1)
	_, err := f.ReadAt(b, size-1)
	return err == nil && b[0] != '\n'
}

// stateEvent says what the daemon holds at now.
func (j *Journal) stateEvent(now time.Time) Event {
	return Event{
		Time:      now,
		Type:      State,
		JournalID: j.journalID,
		PID:       os.Getpid(),
		BootID:    j.bootID,
		Running:   j.state.procs(),
		Jobs:      j.state.jobList(),
	}
}

// maxPending is how many bytes of lines wait in pending before they are
// written: the lines of one Record call go out in writes of about this
// size.
const maxPending = 64 << 10

// write adds ev's line to the lines pending, rotating the file first
// (after writing what is pending) when the line would make it larger than
// maxSize. The events a restart depends on are written and synced at once.
func (j *Journal) write(ev Event) error {
	line, err := j.marshal(ev)
	if err != nil {
		return err
	}
	// A file holds at least as many bytes of events as of the state event
	// it begins with: a state larger than MaxSize (thousands of
	// processes) makes files larger, not a rotation for every event.
	var errs []error
	size := j.size + int64(len(j.pending))
	if size > 0 && size+int64(len(line)) > j.maxSize && size >= 2*j.head {
		errs = append(errs, j.flush(), j.rotate())
		if line, err = j.marshal(ev); err != nil { // rotate used the buffer
			return errors.Join(append(errs, err)...)
		}
	}
	j.pending = append(j.pending, line...)
	if len(j.pending) >= maxPending {
		errs = append(errs, j.flush())
	}
	if ev.Type == Acquired || ev.Type == State || ev.Type == Quit {
		if err := j.flush(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		errs = append(errs, j.f.Sync())
	}
	return errors.Join(errs...)
}

// flush writes the pending lines.
func (j *Journal) flush() error {
	if len(j.pending) == 0 {
		return nil
	}
	err := j.writeLine(j.f, j.pending)
	j.pending = j.pending[:0]
	if cap(j.pending) > maxPending*2 {
		j.pending = nil
	}
	return err
}

// marshal returns ev's line, newline included, in j.buf.
func (j *Journal) marshal(ev Event) ([]byte, error) {
	j.buf.Reset()
	if err := j.enc.Encode(ev); err != nil {
		return nil, fmt.Errorf("journal: %s event: %w", ev.Type, err)
	}
	return j.buf.Bytes(), nil
}

// writeLine writes whole lines with one write(2): os.File.Write calls it
// again only after a short write, which for a file means a full disk. Then
// the part written is cut off again, so that the next line starts at the
// start of a line.
func (j *Journal) writeLine(f *os.File, line []byte) error {
	if j.torn {
		line = append([]byte{'\n'}, line...)
	}
	n, err := f.Write(line)
	if err == nil {
		j.size += int64(n)
		j.torn = false
		return nil
	}
	if n > 0 {
		if f.Truncate(j.size) != nil {
			j.size += int64(n)
			j.torn = line[n-1] != '\n'
		}
	}
	return err
}

// rotate moves the journal file to PATH.1, the older rotated files one
// number up, and starts a new file with a state event. The new file is
// written and synced under another name first and renamed over PATH, so
// PATH always names a file from which Previous can be computed.
func (j *Journal) rotate() error {
	next := j.path + ".new"
	f, err := os.OpenFile(next, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot rotate journal: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(next)
		return fmt.Errorf("cannot rotate journal: %w", err)
	}
	st := j.stateEvent(j.now())
	line, err := j.marshal(st)
	if err != nil {
		return fail(err)
	}
	size, torn := j.size, j.torn
	j.size, j.torn = 0, false
	err = j.writeLine(f, line)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = j.f.Sync() // the old file's last events, before it is renamed
	}
	if err == nil {
		err = j.shift()
	}
	if err != nil {
		j.size, j.torn = size, torn
		return fail(err)
	}
	// A link, where the file system has them, keeps PATH a name of the
	// old file until the new one takes it.
	linked := os.Link(j.path, j.path+".1") == nil
	if !linked {
		if err := os.Rename(j.path, j.path+".1"); err != nil {
			j.size, j.torn = size, torn
			return fail(err)
		}
	}
	if err := os.Rename(next, j.path); err != nil {
		if linked {
			os.Remove(j.path + ".1")
		} else {
			os.Rename(j.path+".1", j.path)
		}
		j.size, j.torn = size, torn
		return fail(err)
	}
	syncDir(filepath.Dir(j.path))
	j.f.Close()
	j.f, j.head = f, j.size
	j.fi, _ = f.Stat()
	j.state.apply(st)
	return nil
}

// shift renames PATH.(keep-1) to PATH.keep, …, PATH.1 to PATH.2, dropping
// the oldest, so that PATH.1 is free.
func (j *Journal) shift() error {
	for i := j.keep; i > 1; i-- {
		err := os.Rename(j.path+"."+strconv.Itoa(i-1), j.path+"."+strconv.Itoa(i))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(j.path + ".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// syncDir makes renames in dir durable. Some file systems cannot sync a
// directory; their renames are as durable as they make them.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Close syncs and closes the journal file and releases the lock. Record
// the quit event before, on a clean stop. Close after Close does nothing.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Sync()
	err = errors.Join(err, j.f.Close(), j.lock.Close())
	j.f, j.lock = nil, nil
	return err
}
