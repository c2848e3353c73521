package cluster

import "go.uber.org/zap"

// quietZap is the etcd client's logger: kopf logs what matters itself,
// and the client's own lines (retries, balancer changes) are noise.
func quietZap() *zap.Logger { return zap.NewNop() }
