// Command kopf compiles schedules, previews their fire times, lints them and
// runs jobs and procs on them (kopf run).
// The CLI lives in internal/cli, where tests run it in-process.
package main

import (
	"os"

	"github.com/kopf/kopf/internal/cli"
)

func main() { os.Exit(cli.Main()) }
