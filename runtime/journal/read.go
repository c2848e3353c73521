package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// maxLine bounds a journal line. kopf's own lines are far shorter (an argv
// and a few reasons); the bound keeps a corrupt file from costing the
// reader its memory.
const maxLine = 1 << 20

// LineError is a line of a journal file that is not a valid event.
type LineError struct {
	File string
	// Line counts from 1; 0 when the file was read from Offset on, not
	// from its start, and the lines before it were not counted.
	Line   int
	Offset int64 // where the line begins in File, in bytes
	Err    error
}

func (e *LineError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: line at byte %d: %v", e.File, e.Offset, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// ErrLineTooLong is in the chain of the *LineError of a line longer than a
// journal line may be (1 MiB). Readers skip such a line, as they skip an
// invalid one, but it need not be corrupt: kopf writes an event of any
// size, and an argv near the kernel's 2 MiB limit makes a spawned event
// that large.
var ErrLineTooLong = errors.New("line longer than " + strconv.Itoa(maxLine>>20) + " MiB")

// tooLong is the error of a line longer than maxLine: its length, which
// scan counts without keeping the line, tells a person what to look for.
type tooLong struct{ size int64 }

func (e *tooLong) Error() string {
	return fmt.Sprintf("line of %d bytes skipped: longer than %d MiB", e.size, maxLine>>20)
}

func (e *tooLong) Is(target error) bool { return target == ErrLineTooLong }

// scan calls fn with each line of r ending in '\n', without the '\n', and
// the offset in r where it begins. A line longer than maxLine comes with a
// nil line and a *tooLong. scan returns the offset just after the last
// '\n' and the length of what follows it: a last line being written, or
// one a crash cut short. line is only valid until fn returns.
func scan(r io.Reader, fn func(n int, off int64, line []byte, err error) error) (complete, tail int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line that did not fit in br's buffer
	tooLongLine := false
	for n := 1; ; {
		chunk, err := br.ReadSlice('\n')
		tail += int64(len(chunk))
		switch {
		case err == bufio.ErrBufferFull:
			if !tooLongLine {
				if len(long)+len(chunk) > maxLine {
					tooLongLine, long = true, nil
				} else {
					long = append(long, chunk...)
				}
			}
			continue
		case err == io.EOF:
			return complete, tail, nil
		case err != nil:
			return complete, tail, err
		}
		off, size := complete, tail-1
		complete, tail = complete+tail, 0
		line := chunk[:len(chunk)-1]
		if long != nil {
			long = append(long, line...)
			line = long
		}
		var lineErr error
		if tooLongLine || size > maxLine {
			line, lineErr = nil, &tooLong{size}
		}
		if err := fn(n, off, line, lineErr); err != nil {
			return complete, tail, err
		}
		n++
		long, tooLongLine = nil, false
	}
}

// decode reads one line as an event; the error says what is wrong with it
// in words.
func decode(line []byte) (Event, error) {
	var ev Event
	if len(bytes.TrimSpace(line)) == 0 {
		return ev, errors.New("empty line")
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		return ev, notAnEvent(err)
	}
	switch {
	case ev.Type == "":
		return ev, errors.New(`not an event: no "type"`)
	case ev.Time.IsZero():
		return ev, errors.New(`not an event: no "time"`)
	}
	return ev, nil
}

// notAnEvent words what json.Unmarshal found wrong for a person who does
// not know kopf's Go types.
func notAnEvent(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("not JSON: %v", err)
	case errors.As(err, &typ) && typ.Field != "":
		want := "a " + typ.Type.String()
		switch typ.Type.Kind() {
		case reflect.Int:
			want = "a whole number"
		case reflect.Uint64:
			want = "a whole number, 0 or more"
		case reflect.Float64:
			want = "a number"
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "true or false"
		case reflect.Slice:
			want = "a list"
		case reflect.Struct:
			want = "an object"
		}
		return fmt.Errorf("not an event: %q is %s, want %s", typ.Field, jsonValue(typ.Value), want)
	case errors.As(err, &typ):
		return fmt.Errorf("not an event: %s, want an object", jsonValue(typ.Value))
	}
	return fmt.Errorf("not an event: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonValue words the Value of a json.UnmarshalTypeError.
func jsonValue(v string) string {
	if n, ok := strings.CutPrefix(v, "number "); ok {
		return n
	}
	switch v {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a " + v
}

// readFile calls fn with each valid event of f and bad with each invalid
// line. f holds the file name from byte from on: its lines are numbered
// when from is 0, and otherwise named by their offset, as the lines before
// were not counted. readFile returns where the last complete line ends and
// how many bytes follow it, both counted from from.
func readFile(name string, f io.Reader, from int64, fn func(ev Event, raw []byte) error, bad func(*LineError)) (complete, tail int64, err error) {
	return scan(f, func(n int, off int64, line []byte, err error) error {
		var ev Event
		if err == nil {
			ev, err = decode(line)
		}
		if err != nil {
			le := &LineError{File: name, Line: n, Offset: from + off, Err: err}
			if from > 0 {
				le.Line = 0
			}
			bad(le)
			return nil
		}
		return fn(ev, line)
	})
}

// Read calls fn with each event of the journal at path, oldest first: the
// rotated files path.keep … path.1 that exist, then path itself. keep is
// the Keep of Options, 0 meaning DefaultKeep. raw is the event's line as
// written, without its newline, and only valid until fn returns. Read takes
// no lock: it may run while a daemon writes, and a last line without its
// newline, being written right now, is left out. A line that is not a valid
// event goes to bad as a *LineError, and reading goes on; bad may be nil. A
// rotated file that cannot be opened goes to bad too.
//
// Read returns the first error fn returns, or an error if path itself
// cannot be read: test it with errors.Is(err, fs.ErrNotExist) for a
// journal that does not exist.
func Read(path string, keep int, fn func(ev Event, raw []byte) error, bad func(err error)) error {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if bad == nil {
		bad = func(error) {}
	}
	files, err := openAll(path, keep, bad)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, f := range files {
		if _, _, err := readFile(f.Name(), f, 0, fn, func(le *LineError) { bad(le) }); err != nil {
			return err
		}
	}
	return nil
}

// openAll opens the files of the journal at path, oldest first. A daemon
// may rotate the journal while they are opened one by one; then a name no
// longer names the file opened, which a second look at each name catches,
// and the files are opened again.
func openAll(path string, keep int, bad func(error)) ([]*os.File, error) {
	names := make([]string, 0, keep+1)
	for i := keep; i >= 1; i-- {
		names = append(names, path+"."+strconv.Itoa(i))
	}
	names = append(names, path)
	for attempt := 1; ; attempt++ {
		files, seen, errs, err := openNames(names)
		if err != nil {
			return nil, err
		}
		if attempt == 5 || unchanged(names, seen) {
			for _, err := range errs {
				bad(err)
			}
			return files, nil
		}
		for _, f := range files {
			f.Close()
		}
	}
}

// opened is what openNames found at a name.
type opened struct {
	info    fs.FileInfo // of the file opened; nil when none was
	missing bool
}

// openNames opens each of names that exists. The last one must be
// readable; the others may be missing or unreadable (an error in errs).
func openNames(names []string) (files []*os.File, seen []opened, errs []error, err error) {
	seen = make([]opened, len(names))
	for i, name := range names {
		last := i == len(names)-1
		f, err := os.Open(name)
		if err == nil {
			var info fs.FileInfo
			if info, err = f.Stat(); err == nil {
				files, seen[i].info = append(files, f), info
				continue
			}
			f.Close()
		}
		switch {
		case last:
			for _, f := range files {
				f.Close()
			}
			return nil, nil, nil, err
		case errors.Is(err, fs.ErrNotExist):
			seen[i].missing = true
		default:
			errs = append(errs, err)
		}
	}
	return files, seen, errs, nil
}

// unchanged reports whether each name still names the file it named when
// opened, or still names none.
func unchanged(names []string, seen []opened) bool {
	for i, name := range names {
		info, err := os.Stat(name)
		switch {
		case seen[i].missing:
			if !errors.Is(err, fs.ErrNotExist) {
				return false
			}
		case seen[i].info != nil:
			if err != nil || !os.SameFile(seen[i].info, info) {
				return false
			}
		}
	}
	return true
}

// ReadSince calls fn, oldest first, with the events at the end of the
// journal at path, as Read would with the ones before left out: reading
// back from the end, through the rotated files, it stops at the first
// event older than since, or after limit bytes, and calls fn with the
// events after that point. A reader that needs only recent events (the
// status page's last day) so costs what they take, not what the journal
// holds. cut is true when limit stopped it, and then fn may have missed
// events from since on.
//
// Events are in the order of their times but for a clock set back, and a
// state event, which takes the time of the rotation, a moment after the
// event whose write began it: fn sees the events after the last one older
// than since, which may leave out one as old as since, or those written
// before the clock went back.
//
// bad, and the errors returned, are as Read's; a line fn does not see is
// not checked. The lines of a file read from its middle are named by
// their offset in a *LineError, as the ones before were not counted.
func ReadSince(path string, keep int, since time.Time, limit int64, fn func(ev Event, raw []byte) error, bad func(err error)) (cut bool, err error) {
	if keep <= 0 {
		keep = DefaultKeep
	}
	if bad == nil {
		bad = func(error) {}
	}
	files, err := openAll(path, keep, bad)
	if err != nil {
		return false, err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	first, from := 0, int64(0) // the file and the offset to read from
	for i := len(files) - 1; i >= 0; i-- {
		info, err := files[i].Stat()
		if err != nil {
			return false, err
		}
		start, read, found, whole, err := startSince(files[i], info.Size(), since, limit)
		if err != nil {
			return false, err
		}
		limit -= read
		if found || !whole {
			first, from, cut = i, start, !found
			break
		}
	}
	for i := first; i < len(files); i++ {
		off := int64(0)
		if i == first {
			off = from
		}
		if _, err := files[i].Seek(off, io.SeekStart); err != nil {
			return cut, err
		}
		if _, _, err := readFile(files[i].Name(), files[i], off, fn, func(le *LineError) { bad(le) }); err != nil {
			return cut, err
		}
	}
	return cut, nil
}

// startSince reads the file f, of size bytes, back from its end, at most
// limit bytes, for the line of an event older than since. It returns
// where to read from (just after that line; when it found none, the
// earliest line it read whole), how many bytes it read, whether it found
// one, and whether it read every line of f.
func startSince(f io.ReaderAt, size int64, since time.Time, limit int64) (from, read int64, found, whole bool, err error) {
	from = size
	read, whole, err = backLines(f, size, limit, func(off int64, line []byte) bool {
		if t, ok := peekTime(line); ok && t.Before(since) {
			from, found = off+int64(len(line))+1, true
			return false
		}
		from = off
		return true
	})
	return from, read, found, whole, err
}

// peekTime returns the time of an event's line: cheaply for the lines kopf
// writes, which begin with it, else by decoding the line. ok is false for
// a line that is not an event.
func peekTime(line []byte) (t time.Time, ok bool) {
	if rest, found := bytes.CutPrefix(line, []byte(`{"time":"`)); found {
		if i := bytes.IndexByte(rest, '"'); i > 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:i])); err == nil {
				return t, true
			}
		}
	}
	ev, err := decode(line)
	return ev.Time, err == nil
}

// backLines calls fn with the complete lines of r, of size bytes, from the
// last back to the first, with where each begins, until fn returns false.
// A line longer than maxLine comes as nil, its bytes not kept. backLines
// reads r a chunk at a time, at most limit bytes, and returns how many it
// read and whether fn had every line.
func backLines(r io.ReaderAt, size, limit int64, fn func(off int64, line []byte) bool) (read int64, whole bool, err error) {
	const chunk = 64 << 10
	pos := size // the bytes before pos are not read yet
	// buf holds the bytes from pos to the end of the next line for fn,
	// its newline included; it is empty until the file's last newline is
	// found, as what follows that is a line being written.
	var buf []byte
	long := false // the line ending buf is longer than maxLine: its bytes were dropped
	for {
		for len(buf) > 0 {
			i := bytes.LastIndexByte(buf[:len(buf)-1], '\n')
			if i < 0 {
				break
			}
			line := buf[i+1 : len(buf)-1]
			if long || len(line) > maxLine {
				line = nil
			}
			if !fn(pos+int64(i)+1, line) {
				return read, false, nil
			}
			buf, long = buf[:i+1], false
		}
		if len(buf) > maxLine+1 {
			buf, long = buf[len(buf)-1:], true
		}
		if pos == 0 {
			if len(buf) > 0 {
				line := buf[:len(buf)-1]
				if long || len(line) > maxLine {
					line = nil
				}
				if !fn(0, line) {
					return read, false, nil
				}
			}
			return read, true, nil
		}
		if read >= limit {
			return read, false, nil
		}
		n := min(chunk, pos, limit-read)
		b := make([]byte, n, n+int64(len(buf)))
		if _, err := r.ReadAt(b, pos-n); err != nil {
			return read, false, err
		}
		pos, read = pos-n, read+n
		switch {
		case len(buf) == 0:
			i := bytes.LastIndexByte(b, '\n')
			if i < 0 {
				continue
			}
			b = b[:i+1]
		case long && bytes.IndexByte(b, '\n') < 0:
			continue // more of the long line, which is not kept
		}
		buf = append(b, buf...)
	}
}
