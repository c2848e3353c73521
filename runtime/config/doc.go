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
// A daemon's config has more sources than one file: ParsePart reads its
// config file, ParseService a file of a services directory
// (service-manager.md's layout), Script an executable of a scripts
// directory (cronmon's), and Merge puts them together and checks what spans
// them — a name defined twice, triggers across sources. runtime/sources
// does the reading and the re-reading.
//
// A reload compares each unit's Fingerprint with the running one's: equal
// fingerprints leave it running untouched. docs/config.md describes the
// file, its protos, and the directory layouts.
package config
