// Command startup times whole commands, process start included, running
// them in turn round after round so that a change in the machine's load
// falls on all of them alike. It prints a Markdown table for
// docs/performance.md.
//
//	go run ./startup -n 300 -- "/tmp/kopf next '*/5 * * * *'" "systemd-analyze calendar '*:0/5'"
//
// A command is split on spaces, with single quotes grouping words.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	rounds := flag.Int("n", 200, "rounds; each runs every command once")
	warm := flag.Int("warm", 20, "rounds run first and not counted")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: startup [-n ROUNDS] COMMAND...")
		os.Exit(2)
	}
	var cmds [][]string
	for _, c := range flag.Args() {
		argv, err := split(c)
		if err != nil {
			fmt.Fprintf(os.Stderr, "startup: %q: %v\n", c, err)
			os.Exit(2)
		}
		cmds = append(cmds, argv)
	}
	times := make([][]time.Duration, len(cmds))
	for r := -*warm; r < *rounds; r++ {
		for i, argv := range cmds {
			d, err := run(argv)
			if err != nil {
				fmt.Fprintf(os.Stderr, "startup: %s: %v\n", flag.Arg(i), err)
				os.Exit(1)
			}
			if r >= 0 {
				times[i] = append(times[i], d)
			}
		}
	}
	fmt.Printf("| command | median | mean | min |\n|---|---:|---:|---:|\n")
	for i, ts := range times {
		slices.Sort(ts)
		var sum time.Duration
		for _, t := range ts {
			sum += t
		}
		fmt.Printf("| `%s` | %s | %s | %s |\n", flag.Arg(i), ms(ts[len(ts)/2]), ms(sum/time.Duration(len(ts))), ms(ts[0]))
	}
}

// run runs argv once with its output discarded and returns how long it
// took from the fork to the reaping of the process.
func run(argv []string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), err
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// split cuts a command line into words at spaces; single quotes group.
func split(s string) ([]string, error) {
	var out []string
	var word strings.Builder
	inWord, quoted := false, false
	for _, c := range s {
		switch {
		case c == '\'':
			quoted, inWord = !quoted, true
		case c == ' ' && !quoted:
			if inWord {
				out = append(out, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unclosed quote")
	}
	if inWord {
		out = append(out, word.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return out, nil
}
