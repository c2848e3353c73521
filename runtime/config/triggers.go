package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kopf/kopf/lang"
)

// checkRefs checks what spans a daemon's sources once they are merged:
// each trigger's target is a job, and no jobs trigger each other in a ring
// (a job that triggers itself, directly or through others, would never stop
// running). defs names every entry, also those too broken to load, so that
// a trigger to one is not a second error.
func checkRefs(cfg *Config, defs []def) lang.ErrorList {
	if !slices.ContainsFunc(cfg.Jobs, func(j *Job) bool { return len(j.Triggers) > 0 }) {
		return nil
	}
	var errs lang.ErrorList
	jobs := map[string]bool{}
	procs := map[string]bool{}
	var jobNames []string
	for _, d := range defs {
		if d.job {
			jobs[d.name] = true
			jobNames = append(jobNames, d.name)
		} else {
			procs[d.name] = true
		}
	}
	sort.Strings(jobNames)
	for _, j := range cfg.Jobs {
		for _, t := range j.Triggers {
			switch {
			case jobs[t.Job]:
			case procs[t.Job]:
				errs.Add(t.Pos, "%s is a proc; only jobs can be triggered", quote(t.Job))
			default:
				hint := ""
				if s := closestKey(t.Job, jobNames); s != "" {
					hint = fmt.Sprintf(" (did you mean %s?)", quote(s))
				}
				errs.Add(t.Pos, "no job named %s to trigger%s", quote(t.Job), hint)
			}
		}
	}
	return append(errs, cycles(cfg)...)
}

// cycles reports one cycle for each group of jobs that trigger each other
// in a ring (a strongly connected component), starting from the group's
// first name and at the trigger that leaves it.
func cycles(cfg *Config) lang.ErrorList {
	var errs lang.ErrorList
	// Every job of a ring triggers the next: those that trigger nothing
	// are left out of the graph, a config of many scheduled jobs and few
	// triggers costs little.
	var triggering []*Job
	byName := map[string]*Job{}
	for _, j := range cfg.Jobs {
		if len(j.Triggers) > 0 {
			triggering = append(triggering, j)
			byName[j.Name] = j
		}
	}
	for _, group := range components(triggering, byName) {
		first := byName[group[0]]
		in := map[string]bool{}
		for _, name := range group {
			in[name] = true
		}
		path, t := shortestCycle(first, byName, in)
		if path == nil {
			continue // a single job that does not trigger itself
		}
		errs.Add(t.Pos, "trigger cycle: %s", strings.Join(path, " → "))
	}
	return errs
}

// components is Tarjan's algorithm over the trigger graph; each component
// comes sorted by name, and the components by their first name.
func components(jobs []*Job, byName map[string]*Job) [][]string {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	var visit func(j *Job)
	visit = func(j *Job) {
		index[j.Name] = len(index)
		low[j.Name] = index[j.Name]
		stack = append(stack, j.Name)
		onStack[j.Name] = true
		for _, t := range j.Triggers {
			next := byName[t.Job]
			if next == nil {
				continue
			}
			if _, seen := index[next.Name]; !seen {
				visit(next)
				low[j.Name] = min(low[j.Name], low[next.Name])
			} else if onStack[next.Name] {
				low[j.Name] = min(low[j.Name], index[next.Name])
			}
		}
		if low[j.Name] == index[j.Name] {
			var group []string
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				group = append(group, top)
				if top == j.Name {
					break
				}
			}
			sort.Strings(group)
			out = append(out, group)
		}
	}
	for _, j := range jobs {
		if _, seen := index[j.Name]; !seen {
			visit(j)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i][0] < out[k][0] })
	return out
}

// shortestCycle finds the shortest way from first back to itself inside
// a component, breadth first, and returns it with the trigger it leaves
// first by; it returns nil when there is none.
func shortestCycle(first *Job, byName map[string]*Job, in map[string]bool) ([]string, Trigger) {
	type step struct {
		prev string
		via  Trigger // the trigger this job was reached by
	}
	reached := map[string]step{}
	queue := []string{first.Name}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, t := range byName[name].Triggers {
			if !in[t.Job] {
				continue
			}
			if t.Job == first.Name {
				path := []string{first.Name}
				firstTrigger := t
				for at := name; at != first.Name; at = reached[at].prev {
					path = append(path, at)
					firstTrigger = reached[at].via
				}
				path = append(path, first.Name)
				slices.Reverse(path[1 : len(path)-1])
				return path, firstTrigger
			}
			if _, seen := reached[t.Job]; !seen {
				reached[t.Job] = step{prev: name, via: t}
				queue = append(queue, t.Job)
			}
		}
	}
	return nil, Trigger{}
}
