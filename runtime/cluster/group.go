package cluster

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"strings"
)

// Ownership is by group, not by unit: a unit belongs to one of the
// cluster's shards (a fixed number of them, by a hash of its name), and a
// member that owns a shard owns every unit in it. Taking, balancing,
// fencing and the member records then cost O(shards) whatever the number
// of units. A unit with "prefer" is a group of its own, so that its
// preferred members get it alone.
//
// A group's ID is "s/NNNN" for a shard, "u/NAME" (NAME escaped) for a
// unit of its own; its keys are owners/ID and handoff/ID.

// DefaultShards is the number of shards of a cluster that does not say.
const DefaultShards = 256

// MaxShards bounds the setting: each shard is a key and a line of every
// member's record.
const MaxShards = 4096

// mix64 is splitmix64's finalizer: FNV's last bytes barely reach its high
// bits, and names that differ in one letter would otherwise hash alike.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// ShardOf is the group of a unit without "prefer" in a cluster of n
// shards: "s/NNNN", whose owner is under owners/s/NNNN (tests and tools
// that read etcd).
func ShardOf(name string, n int) string { return shardOf(name, n) }

// shardOf is the shard of a unit's name among n.
func shardOf(name string, n int) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("s/%04d", mix64(h.Sum64())%uint64(n))
}

// groupOf is the group of u in a cluster of n shards.
func groupOf(u Unit, n int) string {
	if len(u.Prefer) > 0 {
		return "u/" + url.PathEscape(u.Name)
	}
	return shardOf(u.Name, n)
}

// groupName says a group for people: "shard 0042", or the unit's name.
func groupName(g string) string {
	if name, ok := strings.CutPrefix(g, "u/"); ok {
		return unescape(name)
	}
	return "shard " + strings.TrimPrefix(g, "s/")
}

// inShard says which shard a group is, after a unit's name: "" for a
// unit of its own.
func inShard(g string) string {
	if strings.HasPrefix(g, "s/") {
		return " (or another unit of " + groupName(g) + ")"
	}
	return ""
}

// digest is the short fingerprint of a group's units as one member's
// config has them: members whose digests differ disagree about some unit
// of the group (its settings, or whether it is there at all).
func digest(units []Unit) string {
	lines := make([]string, len(units))
	for i, u := range units {
		lines[i] = u.Name + "\x00" + u.Fingerprint
	}
	slices.Sort(lines)
	return shortPrint(strings.Join(lines, "\n"))
}

// score is a member's rendezvous weight for a group.
func score(member, group string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(group))
	return mix64(h.Sum64())
}

// order is the members in the order they should try to own group g:
// prefer's first, then by rendezvous weight. Members whose digest of the
// group disagrees with the majority's are left out, and so are those
// that have no unit in it.
func order(g string, prefer []string, members map[string]Record) []string {
	counts := map[string]int{}
	for _, r := range members {
		if d, ok := r.Groups[g]; ok {
			counts[d]++
		}
	}
	best, n := "", 0
	for d, c := range counts {
		if c > n || c == n && d < best {
			best, n = d, c
		}
	}
	var names []string
	for name, r := range members {
		d, ok := r.Groups[g]
		if ok && (d == best || counts[d] == n) { // a tie agrees with everyone
			names = append(names, name)
		}
	}
	rank := func(name string) int {
		if i := slices.Index(prefer, name); i >= 0 {
			return i
		}
		return len(prefer)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return cmp.Compare(score(b, g), score(a, g))
	})
	return names
}
