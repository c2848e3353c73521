// Package conformance holds no code, only tests: the evidence that the
// schedule compiler means what the reference documents say.
//
// The suite proves four things, each against expectations computed without
// the compiler:
//
//   - Every equivalence between a crontab line and an every-expression in
//     service-manager.md ("Example equivalence with Unix Cron") holds: both
//     fire at exactly the same instants for two years and more from several
//     starts, and both agree with an independent brute-force crontab matcher.
//     The one listed alternative that is not equivalent
//     ("every 1h @ 0m, 10m, 20m, 40m, 50m" for "00,10,20,30,40,50 * * * *")
//     is shown to differ in exactly the :30 minutes. compile.Diff proves
//     each equivalence, and the alternative's subset, over the whole
//     400-year cycle as well.
//   - The scheduling examples of service-manager.md, alone and as a union,
//     fire at instants written out by hand from a calendar; leap years,
//     schedules that never fire, the alignment of every-periods and the
//     fixed/wildcard DST policy of DESIGN.md, in both dialects, are pinned
//     by hand-computed instants too, and further every-expressions are
//     checked against the crontab lines that say the same.
//   - Random crontab lines fire, in UTC and in America/New_York across both
//     2026 DST transitions (and around offset changes of zones stranger
//     than New York's), exactly when a brute-force, minute-by-minute
//     implementation of cronie's rules (written here, sharing nothing with
//     the compiler) says they do. Reproduce a failure with
//     KOPF_SEED=n go test ./conformance, or go test ./conformance -seed=n.
//   - Parsing and compiling never panic on any input, every error carries a
//     position inside the input, and Next never goes backwards (FuzzParse).
//
// Run it with
//
//	go test ./conformance
//	go test -fuzz=FuzzParse -fuzztime=60s ./conformance
package conformance
