package lang

import (
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The participle grammar. These structs are the parse tree only; Parse turns
// them into the exported AST, checking what a grammar cannot say (value
// ranges, names, spacing inside crontab fields). The every-language is tried
// first: it always starts with "every", "@" or "in", none of which can start a
// crontab line, so the choice is made on the first token.

// schedule: prefix? (every | cron)
type gSchedule struct {
	Pos    lexer.Position
	Prefix *gPrefix `parser:"@@?"`
	Every  *gEvery  `parser:"( @@"`
	Cron   *gCron   `parser:"| @@ )"`
}

// prefix: ("CRON_TZ" | "TZ") "=" zone
type gPrefix struct {
	Pos  lexer.Position
	Var  string     `parser:"@(\"CRON_TZ\" | \"TZ\") \"=\""`
	Zone *gZoneName `parser:"@@"`
}

// every: part+
type gEvery struct {
	Parts []*gPart `parser:"@@+"`
}

// part: clause | "@" anchors | "in" zone
type gPart struct {
	Pos    lexer.Position
	Clause *gClause   `parser:"@@"`
	Short  *gAnchors  `parser:"| \"@\" @@"`
	In     *gZoneName `parser:"| \"in\" @@"`
}

// clause: "every" period (("@" anchors) | ("offset" amount))*
type gClause struct {
	Pos    lexer.Position
	Period *gPeriod `parser:"\"every\" @@"`
	Mods   []*gMod  `parser:"@@*"`
}

type gMod struct {
	Pos    lexer.Position
	At     *gAnchors `parser:"\"@\" @@"`
	Offset *gAmount  `parser:"| \"offset\" @@"`
}

// anchors: anchor ("," anchor)*
type gAnchors struct {
	Pos  lexer.Position
	List []*gAnchor `parser:"@@ ( \",\" @@ )*"`
}

// anchor: amount ("-" amount)?
type gAnchor struct {
	Pos  lexer.Position
	From *gAmount `parser:"@@"`
	To   *gAmount `parser:"( \"-\" @@ )?"`
}

// amount: Clock | Duration
type gAmount struct {
	Pos   lexer.Position
	Clock string `parser:"@Clock"`
	Dur   string `parser:"| @Duration"`
}

// period: Duration | Word
type gPeriod struct {
	Pos  lexer.Position
	Dur  string `parser:"@Duration"`
	Word string `parser:"| @Word"`
}

type gZoneName struct {
	Pos  lexer.Position
	Name string `parser:"@(Zone | Word)"`
}

// cron: (Macro | item+) ("in" zone)?
// A crontab line never starts with a word, so a leading word is left for the
// every-language's error (and "every" alone reports what it lacks). The
// items of all five fields form one list: an item followed by "," continues
// its field. The spaces between fields, which the lexer drops, are found
// again from the items' positions. Fewer grammar nodes make participle's
// reflective parse of a crontab line about twice as fast.
type gCron struct {
	Pos   lexer.Position
	Macro string     `parser:"( @Macro"`
	Items []*gItem   `parser:" | (?! (?! \"H\") Word) @@+ )"`
	In    *gZoneName `parser:"( \"in\" @@ )?"`
}

// item: ("*" | hash | value ("-" value)?) ("/" Number)? ","?
// value: Number | Word (but not "in", which starts a zone)
type gItem struct {
	Pos   lexer.Position
	Star  bool        `parser:"( @\"*\""`
	Hash  *gHash      `parser:"| @@"`
	Lo    lexer.Token `parser:"| (?! \"in\") @(Number | Word)"`
	Hi    lexer.Token `parser:"  ( \"-\" @(Number | Word) )? )"`
	Step  lexer.Token `parser:"( \"/\" @Number )?"`
	Comma bool        `parser:"@\",\"?"`
}

// hash: "H" ("(" Number "-" Number ")")?, Jenkins' hashed value
type gHash struct {
	Pos lexer.Position
	H   string      `parser:"@\"H\""`
	Lo  lexer.Token `parser:"( \"(\" @Number"`
	Hi  lexer.Token `parser:"  \"-\" @Number \")\" )?"`
}

// The parsers are built on first use rather than at package init: a
// program that links lang but parses nothing (kopf status, the daemon
// before its config is read) does not pay for building the grammar.
var (
	parserOptions = []participle.Option{
		participle.Lexer(scanner), // drops spaces and comments itself
	}
	parser = sync.OnceValue(func() *participle.Parser[gSchedule] {
		return participle.MustBuild[gSchedule](parserOptions...)
	})
	// everyParser is the every-language part of the same grammar. When the
	// whole grammar fails on a line that starts like an every-expression,
	// participle reports the failure of the crontab alternative at the first
	// token; this parser finds the error the user actually made. Only a
	// failed parse builds it.
	everyParser = sync.OnceValue(func() *participle.Parser[gEvery] {
		return participle.MustBuild[gEvery](parserOptions...)
	})
)

// Grammar returns participle's EBNF rendering of the grammar, for the docs.
func Grammar() string { return parser().String() }
