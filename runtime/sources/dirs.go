package sources

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ServiceFiles lists the files of a services directory that define
// services, sorted: regular files (or symlinks to them) named *.json that
// are not hidden, editor or package-manager leftovers (see Ignored).
func ServiceFiles(dir string) ([]string, error) {
	return list(dir, func(name string, mode fs.FileMode) bool {
		return strings.EqualFold(filepath.Ext(name), ".json")
	})
}

// ScriptFiles lists the executables of a scripts directory, sorted:
// regular files (or symlinks to them) with an execute bit set, except the
// names Ignored skips. A file without one is not a script, so one that
// becomes executable is a new script.
func ScriptFiles(dir string) ([]string, error) {
	return list(dir, func(name string, mode fs.FileMode) bool {
		return mode&0o111 != 0
	})
}

func list(dir string, keep func(name string, mode fs.FileMode) bool) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if Ignored(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path) // through a symlink, as a ConfigMap's files are
		if err != nil || !info.Mode().IsRegular() || !keep(e.Name(), info.Mode()) {
			continue
		}
		out = append(out, path)
	}
	return out, nil
}

// leftovers are the suffixes of files that editors and package managers
// leave beside the ones they write.
var leftovers = []string{
	"~", ".swp", ".swo", ".swx", ".tmp", ".bak", ".old", ".orig", ".rej",
	".dpkg-dist", ".dpkg-new", ".dpkg-old", ".dpkg-tmp", ".rpmnew", ".rpmorig", ".rpmsave",
}

// Ignored reports whether a file name in a services or scripts directory is
// never a source: hidden names (dotfiles, among them editors' swap and lock
// files and a Kubernetes volume's ..data), emacs's #autosave# files, and
// the leftovers of editors and package managers (a vim backup "run~" is
// still executable, and must not start a second copy of the service).
func Ignored(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#") {
		return true
	}
	for _, suffix := range leftovers {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}
