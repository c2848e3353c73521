// Package config loads kopf's config file — kopf.md's jobs and procs, in
// JSON with comments and trailing commas, or in YAML — into one model, and
// checks it: every problem found is reported at its file:line:col, and
// schedules are compiled, their errors and warnings placed inside the
// schedule text in the file.
//
// Use:
//
//	cfg, warnings, err := config.Load("kopf.json")
//	for _, w := range warnings {
//		log.Print(w) // kopf.json:12:20: warning: …
//	}
//	if err != nil {
//		log.Fatal(err) // a lang.ErrorList, sorted by position
//	}
//	for _, j := range cfg.Jobs {
//		fmt.Println(j.Name, j.Command, j.Schedules)
//	}
//
// A reload compares each unit's Fingerprint with the running one's: equal
// fingerprints leave it running untouched. docs/config.md describes the
// file.
package config
