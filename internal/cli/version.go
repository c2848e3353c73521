package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/spf13/pflag"
	"runtime"
	"runtime/debug"
)

var versionCmd = &command{
	name:     "version",
	synopsis: "[--json]",
	summary:  "print kopf's version",
	run:      runVersion,
}

// buildVersion is what the binary says of its build.
type buildVersion struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	Time     string `json:"time"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

func readVersion() buildVersion {
	v := buildVersion{Version: "(unknown)", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func runVersion(e *env, fs *pflag.FlagSet) func(ctx context.Context, pos []string) error {
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, pos []string) error {
		if len(pos) != 0 {
			return usagef("unexpected arguments: %v", pos)
		}
		v := readVersion()
		if *asJSON {
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintln(e.stdout, string(b))
			return nil
		}
		printVersion(e, v)
		return nil
	}
}

func printVersion(e *env, v buildVersion) {
	fmt.Fprintf(e.stdout, "kopf %s\n", v.Version)
	if v.Revision != "" {
		modified := ""
		if v.Modified {
			modified = " (modified)"
		}
		fmt.Fprintf(e.stdout, "revision %s%s of %s\n", v.Revision, modified, v.Time)
	}
	fmt.Fprintf(e.stdout, "built with %s\n", v.Go)
}
