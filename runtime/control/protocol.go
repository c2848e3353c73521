package control

import (
	"encoding/json"
	"fmt"
	"time"
)

// Command names what a Request asks for; docs/control.md describes each.
type Command string

// The commands a Request may carry.
const (
	CmdStatus  Command = "status"  // Units: every job and proc
	CmdTrigger Command = "trigger" // Name, Args: run a job as a trigger would
	CmdStart   Command = "start"   // Name
	CmdStop    Command = "stop"    // Name
	CmdRestart Command = "restart" // Name
	CmdReload  Command = "reload"  // read every config source again, as SIGHUP
	CmdNext    Command = "next"    // Name, N: the job's next N fire times
	// A cluster's (docs/cluster.md); a daemon without one answers an error.
	CmdCluster Command = "cluster" // the members, and each unit's owner
	CmdClaims  Command = "claims"  // Name, N: the job's latest N claims
	CmdHandoff Command = "handoff" // Name, Args (at most one: the member): move the unit after its current run
)

// MaxRequest is the longest request line the daemon reads, newline
// included; a longer one gets an error response and the connection ends.
const MaxRequest = 64 << 10

// Request is one line a client sends: a JSON object and a newline.
type Request struct {
	Cmd  Command  `json:"cmd"`
	Name string   `json:"name,omitempty"` // a job or proc; for trigger, start, stop, restart and next only
	Args []string `json:"args,omitempty"` // trigger only: extra arguments, each one argv entry
	N    int      `json:"n,omitempty"`    // next only: how many fire times, 1 to 10000; 0 is 10
}

// Response is the daemon's answer to one Request: a JSON object on one
// line. OK false comes with Error; OK true with Message and, for status
// and next, Units or Times.
type Response struct {
	OK      bool     `json:"ok"`
	Error   string   `json:"error,omitempty"`
	Message string   `json:"message,omitempty"` // what the daemon did, in words
	Units   []Unit   `json:"units,omitempty"`   // status
	Times   []string `json:"times,omitempty"`   // next: RFC 3339, in the job's zone
	// Tracking says how the daemon finds each run's processes (status):
	// by cgroup, or by session and process group, and why.
	Tracking string `json:"tracking,omitempty"`
	// Cluster is the answer to cluster (runtime/cluster's Status) and
	// claims (a list of its ClaimInfo).
	Cluster json.RawMessage `json:"cluster,omitempty"`
}

// Unit is the status of one job or proc.
type Unit struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`  // "job" or "proc"
	State string `json:"state"` // see the State constants
	PID   int    `json:"pid,omitempty"`
	// Since is when the unit entered its state.
	Since    time.Time `json:"since,omitzero"`
	LastExit *Exit     `json:"last_exit,omitempty"`
	// NextFire is a job's next schedule fire, in the job's zone (Zone).
	NextFire time.Time `json:"next_fire,omitzero"`
	Zone     string    `json:"zone,omitempty"`
	// RestartAt is when a proc that is backing off starts again.
	RestartAt time.Time `json:"restart_at,omitzero"`
	// Queued lists why a job's next run waits, oldest first.
	Queued []string `json:"queued,omitempty"`
	// Failures counts a job's failed runs in a row, while it retries or
	// after it gave up (max-failures).
	Failures int `json:"failures,omitempty"`
	// Health is a checked proc's health state: "starting", "healthy" or
	// "snoozed"; empty without checks.
	Health    string `json:"health,omitempty"`
	LastCheck *Check `json:"last_check,omitempty"`
	File      string `json:"file,omitempty"` // where the unit is defined
	// Ports are the running process's ports, by name (`ports`).
	Ports map[string]int `json:"ports,omitempty"`
	// Epoch is, in a cluster, the epoch this member owns the unit at
	// (placement "one"); 0 when it does not own it or is no member.
	Epoch int64 `json:"epoch,omitempty"`
	// Kept are the processes the unit's ended runs left running
	// (leftovers "keep"), which kopf still tracks: kopf stop ends them.
	Kept []Kept `json:"kept,omitempty"`
}

// Kept is a process an ended run left running.
type Kept struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	Run     string `json:"run"` // the run it belongs to
}

// Check is the result of a health check.
type Check struct {
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"` // empty when healthy
}

// Exit is how a process ended.
type Exit struct {
	Code   *int      `json:"code,omitempty"`   // absent when a signal ended it
	Signal string    `json:"signal,omitempty"` // "SIGTERM", …
	At     time.Time `json:"at"`
}

// How says how the process ended: "exit 1", or the signal's name.
func (e Exit) How() string {
	switch {
	case e.Signal != "":
		return e.Signal
	case e.Code != nil:
		return fmt.Sprintf("exit %d", *e.Code)
	}
	return "ended"
}

// States of a unit.
const (
	Running    = "running"     // its process runs
	Stopping   = "stopping"    // kopf asked it to end and waits
	Waiting    = "waiting"     // a job with nothing to run until its next fire or trigger
	Queued     = "queued"      // a job run waits: behind the running one, or for idle
	BackingOff = "backing off" // a proc waits before its restart
	Starting   = "starting"    // a proc about to start
	Stopped    = "stopped"     // stopped with kopf stop, until kopf start
	Retrying   = "retrying"    // a job waits to retry a failed run (max-failures)
	Failed     = "failed"      // a job failed max-failures retries in a row, until its next fire or trigger
	Elsewhere  = "elsewhere"   // in a cluster, another member owns the unit; it runs there
)
