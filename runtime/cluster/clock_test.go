package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kopf/kopf/runtime/cluster/etcdtest"
)

// syncBuffer is a log's buffer for the member's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A member that joins (or restarts) reads the records of the members
// there are, each written when its member last changed it — here 90 s
// ago, with clocks that agree. That says nothing of their offsets: no
// warning, no offset. A record written now with a clock 90 s ahead does
// warn, and shows as the member's offset.
func TestClockOffsetOnlyFromFreshRecords(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	lease, err := cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	putOld := func(clock time.Time) {
		t.Helper()
		b, _ := json.Marshal(Record{Member: "old", Host: "elsewhere", PID: 1, Lease: int64(lease.ID), Clock: clock})
		if _, err := cli.Put(ctx, "/kopf/t/members/old", string(b), clientv3.WithLease(lease.ID)); err != nil {
			t.Fatal(err)
		}
	}
	putOld(time.Now().Add(-90 * time.Second))

	var log syncBuffer
	a := join(t, etcd.Endpoints(), "a", func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	offset := func() (time.Duration, bool) {
		st, err := a.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, mi := range st.Members {
			if mi.Member == "old" {
				return mi.Offset, true
			}
		}
		return 0, false
	}
	eventually(t, patience, "a sees old", func() bool { _, ok := offset(); return ok })
	if off, _ := offset(); off != 0 || strings.Contains(log.String(), "clock is") {
		t.Errorf("an old record gave old an offset of %s:\n%s", off, log.String())
	}

	// Written again until a warns: a write that comes before a's watch
	// has made its first read is read, not watched, and rightly says
	// nothing (on a loaded machine Join returns before that read).
	eventually(t, patience, "a warns of old's clock", func() bool {
		putOld(time.Now().Add(90 * time.Second))
		time.Sleep(100 * time.Millisecond)
		return strings.Contains(log.String(), "member old's clock is 1m")
	})
	if off, _ := offset(); off < 85*time.Second || off > 91*time.Second {
		t.Errorf("old's offset is %s, want about 90s", off)
	}
}
