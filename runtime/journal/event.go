package journal

import "time"

// EventType names what an Event records. docs/operations.md describes each
// type with its fields; a reader skips types it does not know, which a
// newer kopf may write.
type EventType string

// The types of events.
const (
	// The daemon's own life.
	Acquired     EventType = "acquired"      // JournalID, PID, BootID: a daemon took the journal
	State        EventType = "state"         // Running, Jobs, JournalID, PID, BootID: what the daemon holds, first in a file after rotation
	LogTruncated EventType = "log_truncated" // Reason: kopf cut a torn or unreadable part of the journal
	Warning      EventType = "warning"       // Component, Error: a non-fatal problem
	Quit         EventType = "quit"          // the daemon stopped every process and exits

	// Config.
	Source   EventType = "source"   // Op, Unit, Kind, File: a unit was added, updated or removed
	Reloaded EventType = "reloaded" // Reason, Error: the config was applied: at start (Reason "start"), or by a reload that changed something (Reason: what), or the reload failed (Error)

	// Processes.
	Spawned    EventType = "spawned"     // Unit, Kind, PID, StartTicks, Run, Cgroup, Argv, Args, Reasons: a process started
	SpawnError EventType = "spawn_error" // Unit, Kind, Error, Argv: a process could not be started
	Exited     EventType = "exited"      // Unit, Kind, PID, Code, Signal, Seconds, Graceful, StoppedBy, Leftovers, Kept, UserSeconds, SystemSeconds, MaxRSS
	Leftover   EventType = "leftover"    // Unit, PID, StartTicks, Run, Cgroup, Action, Reason, Processes: a run of an earlier daemon found at start

	// Job decisions.
	Fired     EventType = "fired"     // Unit, Source, At, Start, Count: a schedule fired (Start: its jittered start; Count: fires joined when several were missed)
	CatchUp   EventType = "catch_up"  // Unit, Source, At: a run at start makes up for the fire At, missed while kopf was down
	Missed    EventType = "missed"    // Unit, Source, At, Count, Reason: a fire while kopf was down that does not run (Count: more such fires, when several are counted in one event)
	Triggered EventType = "triggered" // Unit, By, Args: a trigger from a job or from outside
	Queued    EventType = "queued"    // Unit, Reason: a run waits for the running one to end
	Skipped   EventType = "skipped"   // Unit, Source, At, Reason: a fire or trigger that starts no run of its own
	Dropped   EventType = "dropped"   // Unit, Count, Reason: trigger arguments a run had no room for (max-trigger-args), counted when it starts
	Retry     EventType = "retry"     // Unit, Count, Reason: a failed run is retried (max-failures)
	GaveUp    EventType = "gave_up"   // Unit, Count, Reason: the job failed max-failures retries; it waits for its next fire or trigger

	// Health checks.
	Health EventType = "health" // Unit, PID, Action, Reason, Count: a proc's checks changed: it became healthy, a check failed after passing or passed after failing, it is restarted as unhealthy, or its checks were snoozed or resumed (Count: the checks since the previous health event)
	// Watched files.
	FileChanged EventType = "file_changed" // Unit, File, Action: a restart-on-change or hup-on-change file changed; Action "restart" or "hup"
	// Mail.
	Mail EventType = "mail" // Unit, To, Reason (the subject), Action ("sent", "retry", "dropped"), Count (the attempt), Error

	// A cluster (runtime/cluster).
	Claimed      EventType = "claimed"       // Unit, At, Fence, Epoch, Member: the cluster granted this member the run of a job's instant (At: the first of its instants; zero for a run no schedule fire started)
	ClaimRefused EventType = "claim_refused" // Unit, At, Reason: the cluster refused the run (another member ran the instant, or this member no longer owns the unit)
	OwnerGained  EventType = "owner_gained"  // Unit, Epoch, Member, Count, Reason: this member owns the unit from now (Count: instants recorded missed before it)
	OwnerLost    EventType = "owner_lost"    // Unit, Epoch, Member, Reason: this member no longer owns the unit
	Fenced       EventType = "fenced"        // Member, Reason: no keep-alive answered in time; the member stopped acting for the cluster until it is answered again. With Unit, Kind: a run of the unit started after the fence deadline and was stopped at once

	// alerts
	Alert EventType = "alert" // Unit, Sink ("webhook", "ping"), Reason (the condition: failure, timeout, missed, overdue, recovery; start, success for pings), Action ("sent", "retry", "dropped"), Count (the attempt), Error
)

// ReloadStart is the Reason of the reloaded event of the config a
// daemon starts with.
const ReloadStart = "start"

// Op says what a source event did to a unit.
type Op string

// The ops of a source event.
const (
	OpAdd    Op = "add"
	OpUpdate Op = "update"
	OpRemove Op = "remove"
)

// StoppedBy says why kopf stopped a process, in its exited event.
type StoppedBy string

// Why kopf stops a process.
const (
	StoppedReload      StoppedBy = "reload"       // its definition changed
	StoppedRemoved     StoppedBy = "removed"      // it was removed from the config
	StoppedTimeout     StoppedBy = "timeout"      // a job past its timeout
	StoppedShutdown    StoppedBy = "shutdown"     // kopf stopping
	StoppedStop        StoppedBy = "stop"         // kopf stop
	StoppedRestart     StoppedBy = "restart"      // kopf restart
	StoppedFileChanged StoppedBy = "file changed" // restart-on-change
	StoppedUnhealthy   StoppedBy = "unhealthy"    // its health checks failed
	StoppedReplaced    StoppedBy = "replaced"     // a schedule fire replaced it (overlap: replace)
)

// Action is what became of what an event is about: a leftover run, a
// proc's health, a changed file, a mail or an alert.
type Action string

// The actions, by the types of event that have them.
const (
	// leftover (runtime/proc names the same words)
	ActionStopped   Action = "stopped"    // its processes ended after SIGTERM
	ActionKilled    Action = "killed"     // some needed SIGKILL
	ActionGone      Action = "gone"       // none runs any more
	ActionLeftAlone Action = "left alone" // its pid names another process now
	ActionFailed    Action = "failed"     // some still run after SIGKILL; health: a check failed
	// health
	ActionHealthy  Action = "healthy"
	ActionStarting Action = "starting"
	ActionRestart  Action = "restart" // health, file_changed: the proc is restarted
	ActionSnoozed  Action = "snoozed"
	ActionResumed  Action = "resumed"
	// file_changed
	ActionHUP Action = "hup"
	// mail, alert
	ActionSent    Action = "sent"
	ActionRetry   Action = "retry"
	ActionDropped Action = "dropped"
)

// Kind says whether an event's unit is a job or a proc.
type Kind string

// The kinds of unit.
const (
	KindJob  Kind = "job"
	KindProc Kind = "proc"
)

// Event is one line of the journal. Which fields are set depends on Type;
// the rest are left out of the line.
type Event struct {
	Time time.Time `json:"time"`
	Type EventType `json:"type"`

	Unit string `json:"unit,omitempty"` // a job or proc's name
	Kind Kind   `json:"kind,omitempty"` // KindJob or KindProc

	// acquired, state
	JournalID string `json:"journal_id,omitempty"` // random, one per daemon run
	BootID    string `json:"boot_id,omitempty"`    // /proc/sys/kernel/random/boot_id

	// source
	Op   Op     `json:"op,omitempty"`
	File string `json:"file,omitempty"` // where the unit is defined

	// spawned, exited, leftover, acquired, state
	PID int `json:"pid,omitempty"`
	// StartTicks is the process's start time, field 22 of /proc/PID/stat
	// (clock ticks after boot): with BootID and PID it names one process,
	// so a reused pid is never taken for kopf's.
	StartTicks uint64 `json:"start_ticks,omitempty"`
	// Run names the run the process leads, as its KOPF_RUN ends; Cgroup
	// is the run's cgroup, where kopf has cgroups (spawned, leftover).
	Run     string   `json:"run,omitempty"`
	Cgroup  string   `json:"cgroup,omitempty"`
	Argv    []string `json:"argv,omitempty"`
	Args    []string `json:"args,omitempty"`    // a run's extra arguments (spawned, triggered)
	Reasons []string `json:"reasons,omitempty"` // why a job's run started

	// exited
	Code     *int    `json:"code,omitempty"`   // exit status; absent when a signal ended it
	Signal   string  `json:"signal,omitempty"` // "SIGTERM", …
	Seconds  float64 `json:"seconds,omitempty"`
	Graceful bool    `json:"graceful,omitempty"` // exit 0, or ended on kopf's SIGTERM before the SIGKILL
	// StoppedBy says why kopf stopped the process; empty when it ended by
	// itself.
	StoppedBy StoppedBy `json:"stopped_by,omitempty"`
	// Leftovers counts the processes of the run still running when its
	// process ended, which kopf then stopped; Kept those it left running
	// (leftovers "keep").
	Leftovers int `json:"leftovers,omitempty"`
	Kept      int `json:"kept,omitempty"`
	// UserSeconds and SystemSeconds are the CPU time the process (and the
	// descendants it waited for) used, in user and kernel mode; MaxRSS its
	// largest resident set, in bytes. From wait4's rusage.
	UserSeconds   float64 `json:"user_seconds,omitempty"`
	SystemSeconds float64 `json:"system_seconds,omitempty"`
	MaxRSS        int64   `json:"max_rss,omitempty"`
	// OutputCut is how many bytes of the run's output kopf did not log:
	// they came after log-output-max was reached.
	OutputCut int64 `json:"output_cut,omitempty"`

	// fired, catch_up
	Source string    `json:"source,omitempty"` // the schedule, as `schedule "every 1h"`
	At     time.Time `json:"at,omitzero"`      // the (first) fire time
	Start  time.Time `json:"start,omitzero"`   // fired: when it was due, moved from At by the job's jitter
	Count  int       `json:"count,omitempty"`  // fires that joined one run, when more than one

	// triggered
	By string `json:"by,omitempty"` // the job that triggered, or "control" / "signal"

	// claimed, owner_gained, owner_lost, fenced: the cluster's member,
	// the owner's epoch (the create revision of its owners/ key) and the
	// claim's fence token (its revision, increasing across the cluster)
	Member string `json:"member,omitempty"`
	Epoch  int64  `json:"epoch,omitempty"`
	Fence  int64  `json:"fence,omitempty"`

	// mail
	To []string `json:"to,omitempty"`

	// alert: where it went (never the URL, which may hold a secret)
	Sink string `json:"sink,omitempty"`

	// leftover, health, file_changed, mail, alert: what became of it (the
	// Action constants, by type).
	Action Action `json:"action,omitempty"`

	// queued, skipped, log_truncated, leftover
	Reason string `json:"reason,omitempty"`

	// warning, spawn_error
	Component string `json:"component,omitempty"`
	Error     string `json:"error,omitempty"`

	// leftover: the processes of the run that kopf found running
	Processes []Found `json:"processes,omitempty"`

	// state
	Running []Proc   `json:"running,omitempty"` // processes started and not yet seen to exit
	Jobs    []string `json:"jobs,omitempty"`    // the jobs the daemon runs, sorted
}

// Found is a process of a leftover run.
type Found struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
}

// Proc is a process a daemon started and has not seen exit.
type Proc struct {
	Unit       string `json:"unit"`
	Kind       Kind   `json:"kind"`
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks"`
	Run        string `json:"run,omitempty"`
	Cgroup     string `json:"cgroup,omitempty"`
	BootID     string `json:"boot_id,omitempty"` // the boot it was started in
}

// LeftoverFailed is the action of a leftover event when kopf could not stop
// the process; it stays listed for the next daemon. The other actions are
// runtime/proc's.
const LeftoverFailed = "failed"

// Loads reports whether ev is a Source event that adds or updates a unit:
// a load of many units makes one each, all at once, and subscribers that
// act only on a unit's removal filter them out rather than fill their
// queues with them.
func (ev Event) Loads() bool { return ev.Type == Source && ev.Op != "remove" }
