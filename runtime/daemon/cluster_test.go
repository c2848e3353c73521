package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/cluster"
	"github.com/kopf/kopf/runtime/cluster/etcdtest"
	"github.com/kopf/kopf/runtime/control"
	"github.com/kopf/kopf/runtime/journal"
	"github.com/kopf/kopf/runtime/mail"
)

// TestClusterMember: a daemon whose config names a cluster joins it as
// the member it is told to be, owns its units, claims each run in etcd,
// answers the cluster commands, refuses a handoff that cannot complete,
// and leaves the cluster when it stops. A changed "cluster" section is
// only a warning until the next start.
func TestClusterMember(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	dir := t.TempDir()
	section := `"cluster": {"etcd": ["` + strings.Join(etcd.Endpoints(), `", "`) + `"], "name": "daemontest", "lease": "5s"}`
	cfg, log := testConfig(t, dir, `{`+section+`, "jobs": {"job": {"command": "true", "schedule": "every 1h"}}}`)
	cfg.Cluster = Cluster{Member: "m1", ClockOffset: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := run(ctx, cfg)
	askStatus(t, cfg.Socket)

	var st cluster.Status
	eventually(t, "m1 owns job", func() bool {
		resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdCluster})
		if !resp.OK {
			t.Fatalf("cluster: %+v", resp)
		}
		st = cluster.Status{}
		json.Unmarshal(resp.Cluster, &st)
		return unitState(t, cfg.Socket, "job") != "elsewhere" && len(st.Members) == 1
	})
	if st.Member != "m1" || st.Name != "daemontest" || !st.Joined || len(st.Members[0].Owns) != 1 {
		t.Errorf("cluster status: %+v", st)
	}
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdTrigger, Name: "job"}); !resp.OK {
		t.Fatalf("trigger: %+v", resp)
	}
	var claims []cluster.ClaimInfo
	eventually(t, "the triggered run's claim is in etcd", func() bool {
		resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdClaims, Name: "job", N: 5})
		claims = nil
		json.Unmarshal(resp.Cluster, &claims)
		return resp.OK && len(claims) == 1
	})
	if claims[0].Member != "m1" {
		t.Errorf("claim %+v, want m1's", claims[0])
	}
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdClaims, Name: "jbo"}); resp.OK || !strings.Contains(resp.Error, `"job"`) {
		t.Errorf("claims of a typo: %+v, want an error naming job", resp)
	}
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdHandoff, Name: "job", Args: []string{"m2"}}); resp.OK {
		t.Errorf("handoff to a member that is not there: %+v", resp)
	}

	// The cluster section changes: a warning, the member stays.
	os.WriteFile(cfg.Sources.File, []byte(`{`+strings.Replace(section, `"5s"`, `"6s"`, 1)+`, "jobs": {"job": {"command": "true", "schedule": "every 2h"}}}`), 0o644)
	if resp := ask(t, cfg.Socket, control.Request{Cmd: control.CmdReload}); !resp.OK {
		t.Errorf("reload: %+v", resp)
	}
	if !strings.Contains(log.String(), `the config's \"cluster\" section changed`) {
		t.Errorf("no warning of the changed cluster section:\n%s", log)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var joined bool
	for _, ev := range journalEvents(t, cfg.Journal, journal.Claimed) {
		joined = joined || ev.Unit == "job"
	}
	if !joined {
		t.Error("no claimed event of job in the journal")
	}
}

// TestMailThroughSendmail: a job's output goes to its mail-to through the
// config's sendmail command, run on the daemon's host, and the delivery
// is journaled.
func TestMailThroughSendmail(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "mail.txt")
	sendmail := filepath.Join(dir, "sendmail")
	os.WriteFile(sendmail, []byte("#!/bin/sh\necho \"$@\" > "+got+".args\ncat > "+got+"\n"), 0o755)
	cfg, log := testConfig(t, dir, `{"mail": {"sendmail": ["`+sendmail+`"]},
	  "jobs": {"report": {"command": "echo the report", "mail-to": "ops@example.com", "run-on-start": true}}}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := run(ctx, cfg)
	eventually(t, "the mail is journaled", func() bool {
		for _, ev := range journalEvents(t, cfg.Journal, journal.Mail) {
			if ev.Action == journal.Action(mail.Sent) {
				return true
			}
		}
		return false
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	msg, _ := os.ReadFile(got)
	args, _ := os.ReadFile(got + ".args")
	if !strings.Contains(string(msg), "the report") || !strings.Contains(string(args), "ops@example.com") {
		t.Errorf("sendmail got %q with %q\n%s", msg, args, log)
	}
}
