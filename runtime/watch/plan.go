package watch

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// maxLinks bounds how many symlinks one path may go through, as the kernel
// does (ELOOP), so that a symlink loop ends the walk instead of recursing.
const maxLinks = 40

// fileID identifies a directory by device and inode. The kernel watches
// inodes while fsnotify names its watches by the path they were added with,
// so the plan and the watch set are compared by identity: a path that now
// leads to another directory needs a new watch under the same name.
type fileID struct{ dev, ino uint64 }

// interest says which events in one watched directory are relevant.
type interest struct {
	// path is how the walk reached the directory, free of symlinks; the
	// watch is added under it.
	path string
	// all: the directory is itself a watched path, so every event in it
	// counts.
	all bool
	// names are the entries that lead to a watched path: their creation,
	// removal or replacement may move what the path resolves to.
	names map[string]bool
	// prefixes are the first elements of relative symlink targets. An event
	// whose name starts with one is relevant too, which catches Kubernetes'
	// "..data_tmp" renamed onto "..data".
	prefixes []string
	// required marks the directories that are watched: each path's parent
	// (or nearest existing ancestor, waiting for the missing element), the
	// directories a symlink that is the path's own last element leads to,
	// and the path itself when it is a directory. Higher ancestors are
	// looked at by the periodic re-check only: watching them would wake
	// kopf for every file written beside them.
	required bool
}

// structural reports whether an event for name in the directory may change
// where a watched path leads, so that the watches must be re-synced.
func (in *interest) structural(name string) bool {
	if in.names[name] {
		return true
	}
	for _, p := range in.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// plan is the set of directories to watch for some paths, and why.
type plan map[fileID]*interest

// makePlan looks at the file system now and says what to watch for paths,
// which must be absolute and clean: the directories where the walks end
// (see interest.required). The ancestors a walk passes are not watched.
func makePlan(paths []string) plan {
	p := plan{}
	for _, path := range paths {
		p.walk("/", strings.Split(path, "/"), 0)
	}
	for id, in := range p {
		if !in.required {
			delete(p, id)
		}
	}
	return p
}

// walk resolves elems from dir the way the kernel would, one element at a
// time, and notes in every directory it passes the name it looks up there.
// That covers a path that does not exist yet (the walk stops in the nearest
// existing ancestor, waiting for the next element). At a symlink it continues with the link's
// target, so the directories the path really reaches are watched as well as
// the one holding the link; dir is thus always free of symlinks.
func (p plan) walk(dir string, elems []string, links int) {
	// The directory where the walk ends is required; see interest.
	var last *interest
	defer func() {
		if last != nil {
			last.required = true
		}
	}()
	for i, e := range elems {
		switch e {
		case "", ".":
			continue
		case "..":
			dir = filepath.Dir(dir) // dir has no symlinks, so this is exact
			continue
		}
		in := p.dir(dir)
		if in == nil {
			return // not a directory (any more)
		}
		last = in
		in.names[e] = true
		next := filepath.Join(dir, e)
		fi, err := os.Lstat(next)
		if err != nil {
			return // missing: wait here for e to appear
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(next)
			if err != nil || links >= maxLinks {
				return
			}
			if first := firstName(target); first != "" && !slices.Contains(in.prefixes, first) {
				in.prefixes = append(in.prefixes, first)
			}
			rest := elems[i+1:]
			if slices.ContainsFunc(rest, func(e string) bool { return e != "" && e != "." }) {
				last = nil // a link on the way, not the path's own
			}
			if filepath.IsAbs(target) {
				dir = "/"
			}
			p.walk(dir, slices.Concat(strings.Split(target, "/"), rest), links+1)
			return
		}
		dir = next
	}
	// The whole path resolved; watch inside it when it is a directory.
	if in := p.dir(dir); in != nil {
		in.all = true
		in.required = true
	}
}

// firstName returns the entry a relative symlink target starts with in the
// link's own directory, or "" if there is none.
func firstName(target string) string {
	first, _, _ := strings.Cut(target, "/")
	if first == "." || first == ".." {
		return ""
	}
	return first // "" for an absolute target
}

// dir returns the plan's entry for the directory at path, adding it when
// new, or nil when path is not a directory.
func (p plan) dir(path string) *interest {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return nil
	}
	id, ok := idOf(fi)
	if !ok {
		return nil
	}
	in := p[id]
	if in == nil {
		in = &interest{path: path, names: map[string]bool{}}
		p[id] = in
	}
	return in
}

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}
