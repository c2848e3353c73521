package supervise

// Every test runs the loop with its queue checked after each event.
func init() { verifyQueue = true }
