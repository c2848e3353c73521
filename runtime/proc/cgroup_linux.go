package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupMount is a mount of the cgroup v2 file system: point is where it
// is mounted, root the part of the hierarchy it shows there ("/" for all).
type cgroupMount struct{ point, root string }

// cgroup2Mounts lists the mounts of the cgroup v2 file system.
func cgroup2Mounts() ([]cgroupMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroupMount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - type source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if fields := strings.Fields(pre); len(fields) >= 5 {
			out = append(out, cgroupMount{point: unescapeMount(fields[4]), root: unescapeMount(fields[3])})
		}
	}
	return out, sc.Err()
}

// OwnCgroup returns the directory of this process's cgroup v2: below
// /sys/fs/cgroup on a pure v2 system, below the unified mount
// (/sys/fs/cgroup/unified) on the hybrid layout. It fails, saying why,
// where the process is in no cgroup v2.
func OwnCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	path, found := "", false
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			path, found = p, true
		}
	}
	if !found {
		return "", errors.New("this process is in no cgroup v2 (/proc/self/cgroup has no 0:: line): the machine has cgroup v1 only")
	}
	mounts, err := cgroup2Mounts()
	if err != nil {
		return "", err
	}
	for _, m := range mounts {
		if rel, ok := within(path, m.root); ok {
			return filepath.Join(m.point, rel), nil
		}
	}
	return "", errors.New("no cgroup v2 file system that holds this process's cgroup is mounted (/proc/self/mountinfo)")
}

// hierarchyPath returns the path of the cgroup directory dir in the
// hierarchy, as /proc/PID/cgroup shows it.
func hierarchyPath(dir string) (string, error) {
	mounts, err := cgroup2Mounts()
	if err != nil {
		return "", err
	}
	best := -1
	for i, m := range mounts {
		if _, ok := within(dir, m.point); ok && (best < 0 || len(m.point) > len(mounts[best].point)) {
			best = i
		}
	}
	if best < 0 {
		return "", fmt.Errorf("%s is in no mounted cgroup v2 file system", dir)
	}
	rel, _ := within(dir, mounts[best].point)
	return filepath.Join(mounts[best].root, rel), nil
}

// within returns path relative to dir ("" for dir itself) if path is dir
// or below it.
func within(path, dir string) (string, bool) {
	if dir == "/" {
		rel, ok := strings.CutPrefix(path, "/")
		return rel, ok
	}
	if path == dir {
		return "", true
	}
	if rel, ok := strings.CutPrefix(path, dir+"/"); ok {
		return rel, true
	}
	return "", false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isCgroup2 reports whether dir is a directory of a cgroup v2 file system.
func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// cgroupDir is one cgroup directory that kopf made: the Host's own, or a
// run's below it.
type cgroupDir string

// procs returns the pids in the cgroup and in every cgroup below it. A
// process a run moved to a cgroup of its own below the run's is still the
// run's.
func (c cgroupDir) procs() []int {
	var pids []int
	filepath.WalkDir(string(c), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range bytes.Fields(b) {
			if pid, err := strconv.Atoi(string(f)); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// populated reports whether a process is left in the cgroup or below it.
// A cgroup that cannot be read any more (removed) holds no process.
func (c cgroupDir) populated() bool {
	var buf [128]byte
	b, err := readSmall(filepath.Join(string(c), "cgroup.events"), buf[:])
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("populated 1"))
}

// kill sends SIGKILL to every process in the cgroup and below it, at once
// and without a race against forks: the kernel's cgroup.kill.
func (c cgroupDir) kill() error {
	err := os.WriteFile(filepath.Join(string(c), "cgroup.kill"), []byte("1"), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed: nothing is left to kill
	}
	return err
}

// remove removes the cgroup and the cgroups below it, deepest first. It
// fails while any of them holds a process.
func (c cgroupDir) remove() error {
	entries, err := os.ReadDir(string(c))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := cgroupDir(filepath.Join(string(c), e.Name())).remove(); err != nil {
				return err
			}
		}
	}
	// A cgroup whose last process has just been reaped may still count it
	// for a moment (EBUSY).
	for try := 0; ; try++ {
		err := unix.Rmdir(string(c))
		switch {
		case err == nil || err == unix.ENOENT:
			return nil
		case err == unix.EBUSY && try < 50:
			time.Sleep(2 * time.Millisecond)
		default:
			return fmt.Errorf("remove cgroup %s: %w", c, err)
		}
	}
}

// holds reports whether the process pid is in the cgroup or below it,
// from /proc/PID/cgroup; rel is the cgroup's path in the hierarchy.
func holds(rel string, pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p == rel || strings.HasPrefix(p, rel+"/")
		}
	}
	return false
}

// cgroupName is the name of a run's cgroup, and the last part of its
// KOPF_RUN marker: its label (kind and unit, like "job-backup") with
// every byte that is not a letter, digit, '-', '_' or '.' (a dot not
// first: that would hide the name) written as %XX, then "@" and a number. The label can be read back (parseCgroupName), so
// a leftover cgroup found by a scan names its unit.
func cgroupName(label string, seq uint64) string {
	if label == "" {
		label = "run"
	}
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		switch c := label[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
		if b.Len() > 200 { // a file name has at most 255 bytes
			b.WriteString("%~") // cut: not read back
			break
		}
	}
	return b.String() + "@" + strconv.FormatUint(seq, 10)
}

// parseCgroupName returns the label of a name that cgroupName made; ok is
// false for any other name, and for a label that was cut.
func parseCgroupName(name string) (label string, ok bool) {
	i := strings.LastIndexByte(name, '@')
	if i < 0 {
		return "", false
	}
	if _, err := strconv.ParseUint(name[i+1:], 10, 64); err != nil {
		return "", false
	}
	enc := name[:i]
	var b strings.Builder
	for j := 0; j < len(enc); j++ {
		if enc[j] != '%' {
			b.WriteByte(enc[j])
			continue
		}
		if j+2 >= len(enc) {
			return "", false
		}
		n, err := strconv.ParseUint(enc[j+1:j+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(n))
		j += 2
	}
	return b.String(), true
}
