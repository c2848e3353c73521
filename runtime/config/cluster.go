package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kopf/kopf/lang"
)

// Cluster is the top-level `cluster` section: the etcd that makes the
// daemons running this config one cluster (docs/cluster.md). kopf run's
// flags and $KOPF_CLUSTER override it; the member's own name is never in
// the file, which every member shares.
type Cluster struct {
	Pos       lang.Pos
	Etcd      []string      // client URLs
	Name      string        // "" is the default
	Lease     time.Duration // 0 is the default
	Retention time.Duration // 0 is the default
	// Shards is how many shards the units hash to, for a new cluster (its
	// first member sets it); 0 is the default.
	Shards int
}

// MaxShards bounds "shards" (runtime/cluster's MaxShards).
const MaxShards = 4096

// MinRetention is the least time claims are kept. A claim deleted is an
// instant that could run again, on a member whose clock is behind the
// collecting member's by as much; an hour is far beyond any clock a
// cluster should have (kopf warns at 2 s).
const MinRetention = time.Hour

// CheckEtcdURL checks one of etcd's client URLs: http or https, a host,
// and nothing after the port.
func CheckEtcdURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %v", quote(s), err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s: expected http:// or https://", quote(s))
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%s: no host", quote(s))
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%s: expected only scheme, host and port", quote(s))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s: port %s out of range", quote(s), p)
		}
	}
	return nil
}

var clusterKeys = []string{"etcd", "lease", "name", "retention", "shards"}

// cluster reads the top-level `cluster` section.
func (l *loader) cluster(n *node) *Cluster {
	if n.kind != kindObject {
		l.errorf(n.pos, "\"cluster\" must be an object like {\"etcd\": [\"http://10.0.0.1:2379\"]}, found %s", n.found())
		return nil
	}
	c := &Cluster{Pos: n.pos}
	for _, e := range n.members {
		k, v := e.key.text, e.val
		switch k {
		case "etcd":
			for _, u := range l.stringList("etcd", v, "a URL or an array of URLs") {
				for _, part := range strings.Split(u.text, ",") {
					if err := CheckEtcdURL(part); err != nil {
						l.errorf(u.pos, "\"etcd\" must list etcd's client URLs, like \"http://10.0.0.1:2379\": %v", err)
						continue
					}
					c.Etcd = append(c.Etcd, part)
				}
			}
		case "name":
			if c.Name = l.str("name", v); strings.Contains(c.Name, "/") || v.kind == kindString && c.Name == "" {
				l.errorf(v.pos, "the cluster's \"name\" must be a non-empty name without /, found %s", quote(c.Name))
			}
		case "lease":
			c.Lease = l.duration("lease", v)
			if c.Lease != 0 && (c.Lease < 5*time.Second || c.Lease%time.Second != 0) {
				l.errorf(v.pos, "the cluster's \"lease\" must be whole seconds, at least 5s, found %s", formatDuration(c.Lease))
			}
		case "retention":
			c.Retention = l.duration("retention", v)
			if c.Retention != 0 && c.Retention < MinRetention {
				l.errorf(v.pos, "the cluster's \"retention\" must be at least %s, found %s", formatDuration(MinRetention), formatDuration(c.Retention))
			}
		case "shards":
			if c.Shards = l.count("shards", v, 1); c.Shards > MaxShards {
				l.errorf(v.pos, "the cluster's \"shards\" must be at most %d, found %d", MaxShards, c.Shards)
			}
		default:
			hint := ""
			if s := closestKey(k, clusterKeys); s != "" {
				hint = " (did you mean " + quote(s) + "?)"
			}
			if k == "member" {
				hint = ": a member's name differs from member to member; give kopf run --member NAME"
			}
			l.errorf(e.key.pos, "unknown key %s in \"cluster\"%s", quote(k), hint)
		}
	}
	if len(c.Etcd) == 0 && !slices.ContainsFunc(n.members, func(m member) bool { return m.key.text == "etcd" }) {
		l.errorf(n.pos, "\"cluster\" needs \"etcd\": the client URLs of the etcd the members share")
	}
	return c
}
