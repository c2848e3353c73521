package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/kopf/kopf/lang"
	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/config"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/daemon"
)

// clusterOpts are kopf run's cluster flags.
type clusterOpts struct {
	endpoints string
	name      string
	member    string
	lease     string
	retention string
	// clockOffset moves the daemon's wall clock, for the cluster tests'
	// members whose clocks disagree (hidden).
	clockOffset time.Duration
}

func clusterFlags(fs *pflag.FlagSet) *clusterOpts {
	c := &clusterOpts{}
	fs.StringVar(&c.endpoints, "cluster", "", "")
	fs.StringVar(&c.name, "cluster-name", "", "")
	fs.StringVar(&c.member, "member", "", "")
	fs.StringVar(&c.lease, "cluster-lease", "", "")
	fs.StringVar(&c.retention, "cluster-retention", "", "")
	fs.DurationVar(&c.clockOffset, "test-clock-offset", 0, "")
	fs.MarkHidden("test-clock-offset")
	return c
}

// resolve checks the flags, with $KOPF_CLUSTER for --cluster, and says
// what they come to; the daemon takes what they leave unset from the
// config's "cluster" section.
func (c *clusterOpts) resolve(e *env) (daemon.Cluster, error) {
	out := daemon.Cluster{Name: c.name, Member: c.member, ClockOffset: c.clockOffset}
	endpoints, from := c.endpoints, "--cluster"
	if endpoints == "" {
		endpoints, from = e.getenv("KOPF_CLUSTER"), "$KOPF_CLUSTER"
	}
	if endpoints != "" {
		out.Endpoints = strings.Split(endpoints, ",")
	}
	for _, u := range out.Endpoints {
		if err := config.CheckEtcdURL(u); err != nil {
			return out, usagef("%s %q: expected etcd client URLs like http://10.0.0.1:2379, comma-separated; %v", from, endpoints, err)
		}
	}
	var err error
	if c.lease != "" {
		if out.TTL, err = config.ParseDuration(c.lease); err != nil {
			return out, usagef("--cluster-lease %q: %v", c.lease, err)
		}
		if out.TTL < cluster.MinTTL || out.TTL%time.Second != 0 {
			return out, usagef("--cluster-lease %s: expected whole seconds, at least %s", c.lease, cluster.MinTTL)
		}
	}
	if c.retention != "" {
		if out.Retention, err = config.ParseDuration(c.retention); err != nil || out.Retention < config.MinRetention {
			return out, usagef("--cluster-retention %q: expected a duration like 7d, at least %s", c.retention, lang.FormatDuration(int64(config.MinRetention/time.Second)))
		}
	}
	if strings.Contains(c.name, "/") || strings.Contains(c.member, "/") {
		return out, usagef("--cluster-name and --member cannot hold /")
	}
	for _, f := range [][2]string{{"--cluster-name", c.name}, {"--member", c.member}, {"--cluster-lease", c.lease}, {"--cluster-retention", c.retention}} {
		if f[1] != "" {
			out.Given = append(out.Given, f[0])
		}
	}
	return out, nil
}

var clusterCmd = &command{
	name:     "cluster",
	synopsis: "[--socket PATH] [--json] members | claims JOB [N] | handoff UNIT [MEMBER]",
	summary:  "show the cluster's members and claims, or move a unit",
	run:      runCluster,
}

func runCluster(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	socket := e.clientSocket(fs)
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, pos []string) error {
		if len(pos) == 0 {
			return usagef("expected members, claims JOB [N] or handoff UNIT [MEMBER]")
		}
		var req control.Request
		switch verb, rest := pos[0], pos[1:]; {
		case verb == "members" && len(rest) == 0:
			req.Cmd = control.CmdCluster
		case verb == "claims" && (len(rest) == 1 || len(rest) == 2):
			req = control.Request{Cmd: control.CmdClaims, Name: rest[0], N: 20}
			if len(rest) == 2 {
				if _, err := fmt.Sscanf(rest[1], "%d", &req.N); err != nil || req.N < 1 {
					return usagef("claims %s %s: N must be a whole number above 0", rest[0], rest[1])
				}
			}
		case verb == "handoff" && (len(rest) == 1 || len(rest) == 2):
			req = control.Request{Cmd: control.CmdHandoff, Name: rest[0], Args: rest[1:]}
		default:
			return usagef("expected members, claims JOB [N] or handoff UNIT [MEMBER], got %s", strings.Join(pos, " "))
		}
		resp, err := e.call(ctx, socket(), req)
		if err != nil {
			return err
		}
		switch {
		case req.Cmd == control.CmdHandoff:
			fmt.Fprintln(e.stdout, resp.Message)
		case *asJSON:
			fmt.Fprintln(e.stdout, string(resp.Cluster))
		case req.Cmd == control.CmdCluster:
			var st cluster.Status
			if err := json.Unmarshal(resp.Cluster, &st); err != nil {
				return err
			}
			printCluster(e, st)
		default:
			var cs []cluster.ClaimInfo
			if err := json.Unmarshal(resp.Cluster, &cs); err != nil {
				return err
			}
			if len(cs) == 0 {
				fmt.Fprintf(e.stdout, "no claims of %s yet\n", req.Name)
				return nil
			}
			printClaims(e, cs)
		}
		return nil
	}
}

// printCluster prints the members and the owners of a cluster's units.
func printCluster(e *env, st cluster.Status) {
	live := "live"
	switch {
	case !st.Joined:
		live = "NOT JOINED: etcd has not answered its request for a session; it takes its share of the units once etcd does"
	case !st.Live:
		live = "FENCED: no keep-alive answered in time; it acts for the cluster again once one is"
	}
	fmt.Fprintf(e.stdout, "cluster %s, seen from member %s (%s)\n", st.Name, st.Member, live)
	if st.Etcd != "" {
		fmt.Fprintf(e.stdout, "%s; what follows is this member's own view\n", st.Etcd)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tHOST\tPID\tVERSION\tCLOCK OFFSET\tOWNS\tCONFIG DIFFERS FOR")
	for _, m := range st.Members {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\n", m.Member, m.Host, m.PID, m.Version, m.Offset.Round(time.Millisecond), len(m.Owns), orDash(strings.Join(m.Disagrees, ",")))
	}
	tw.Flush()
	if len(st.Owners) > 0 {
		fmt.Fprintln(e.stdout)
		tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "UNIT\tOWNER\tEPOCH")
		for _, o := range st.Owners {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", o.Unit, o.Member, o.Epoch)
		}
		tw.Flush()
	}
	if len(st.Recent) > 0 {
		fmt.Fprintf(e.stdout, "\ninstants this member recorded missed or lost (the latest %d):\n", len(st.Recent))
		tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tINSTANT\tSTATE\tWHY")
		for _, r := range st.Recent {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Job, r.Key, r.State, r.Reason)
		}
		tw.Flush()
	}
}

func printClaims(e *env, cs []cluster.ClaimInfo) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANT\tSTATE\tMEMBER\tFENCE\tOUTCOME")
	for _, c := range cs {
		out := c.Outcome
		if out == "" {
			out = c.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", c.Key, c.State, c.Member, c.Fence, orDash(out))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
