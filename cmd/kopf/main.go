// Command kopf compiles schedules, previews their fire times and lints them.
// The CLI lives in internal/cli, where tests run it in-process.
package main

import (
	"os"

	"github.com/kopf/kopf/internal/cli"
)

func main() { os.Exit(cli.Main()) }
