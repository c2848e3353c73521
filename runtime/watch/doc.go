// Package watch tells kopf run when its config sources may have changed.
//
// The sources are files and directories: a config file, a directory of
// service files, a directory of scripts. [Watch] calls back once after each
// burst of activity that may have touched any of them. The call means "may
// have changed", nothing more: the caller re-reads all its sources and
// compares what it parsed, which is cheap, so a spurious call costs little
// while a missed one leaves the daemon running a stale config. The rules
// below therefore err on the side of calling.
//
// # Directories, not files
//
// Only directories are watched. Editors save by writing a temporary file
// and renaming it onto the old one, and a watch on a file stays with the
// old inode, which no longer has that name. A watch on the directory sees
// the rename. So for a file path, its directory is watched and only events
// for the file's name count, which keeps churn of other names in a busy
// directory such as /etc from causing calls. For a directory path, the
// directory itself is watched too and every event in it counts.
//
// # Paths that do not exist yet, symlinks, and replaced ancestors
//
// Each path is resolved one element at a time from the root, as the kernel
// does. The directory where the walk ends is watched: a file path's
// directory, a directory path itself and its parent, or, when an element
// is missing, the nearest existing ancestor, which waits for that name;
// when it appears the watches move down, and when it goes away they move
// back up.
//
// At a symlink the walk carries on from the link's target, so both the
// directory holding the link and the directory it leads to are watched;
// when the link is swapped, the watches follow the new target. A watch is
// kept by device and inode, not by name: fsnotify names a watch by the path
// it was added with, so when a path comes to lead to another directory the
// old watch is removed and the path added again.
//
// The ancestors a walk passes through are not watched: inotify would wake
// kopf for every file written beside them, and a config under a busy /tmp
// would cost hundreds of wake-ups a second. A replaced ancestor (a
// "current -> releases/N" symlink swapped, a directory renamed into place)
// is found instead by resolving the paths again every Options.Recheck, 5
// seconds by default: a swap that high up is seen within that time, and
// otherwise nothing wakes kopf.
//
// # Kubernetes ConfigMap volumes
//
// A mounted ConfigMap holds "kopf.json -> ..data/kopf.json" and
// "..data -> ..2026_11_23_10_00_00.123"; an update writes a new timestamped
// directory, points a "..data_tmp" symlink at it and renames that onto
// "..data". For a link with a relative target, events whose names start
// with the target's first element ("..data") count in the link's
// directory, so the update is seen as it happens. A whole ConfigMap mounted
// as a watched directory needs nothing special: every event in it counts.
//
// # Debounce
//
// A relevant event opens a burst. The callback runs once the watched paths
// have been quiet for Options.Debounce, or Options.MaxDelay after the
// burst's first event if events keep coming, whichever is first. Just
// before it runs, the watches are brought in line with the file system
// again; they are also re-synced at once after any event that may have
// moved a path, so that files written into a directory that just appeared
// are seen. Whatever happened before a watch was in place is covered by the
// caller re-reading everything after the call. Events during the callback
// open the next burst.
//
// # Limits
//
// An inotify queue overflow loses events; it is treated as a relevant event
// and all watches are added afresh. A directory that cannot be watched
// (permissions, the inotify watch limit) is logged and retried whenever the
// watches are re-synced.
package watch
