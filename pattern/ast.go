package pattern

import "net/netip"

// The types in this file are the parsed form of an event pattern. Parse
// produces them; the reference evaluator and the compiled Matcher both
// consume them, so they are the contract between the two.
//
// A pattern is a disjunction of Rules (one per combination of $or
// branches). A Rule is a conjunction of Fields. A Field is a path into the
// event plus a list of Conditions, any one of which must match (an array of
// values in a pattern means "any of").

// Pattern is a parsed, validated event pattern.
type Pattern struct {
	// Source is the pattern text as given.
	Source string
	// Rules are the alternatives produced by expanding $or: the pattern
	// matches an event when at least one Rule matches. A pattern without
	// $or has exactly one Rule.
	Rules []Rule
}

// Rule is a conjunction: it matches when every Field matches.
type Rule struct {
	// Fields are sorted by Path (compared element by element) and hold
	// each path at most once.
	Fields []Field
}

// Field constrains the values found at one path of the event.
type Field struct {
	// Path is the sequence of object keys from the event's root, e.g.
	// ["detail", "state"], each key split at its dots: EventBridge joins
	// keys with dots, so {"detail.state":[...]} and
	// {"detail":{"state":[...]}} have the same path, and an event's
	// "detail.state" key leads there too (see dotted.go). Arrays in the
	// event are transparent: a path reaches into every element of every
	// array it passes through.
	Path []string
	// Conds are alternatives: the field matches if any condition matches
	// any value found at Path (with the exceptions AWS makes for
	// anything-but and exists, which are defined on the whole field).
	Conds []Cond
}

// Op is the operator of a condition.
type Op uint8

// The operators of the event-pattern language.
const (
	OpExact                 Op = iota // Value equals (numbers compare numerically)
	OpPrefix                          // Str is a prefix of a string value
	OpSuffix                          // Str is a suffix of a string value
	OpEqualsIgnoreCase                // string value equals Str, Unicode case-folded
	OpPrefixIgnoreCase                // {"prefix":{"equals-ignore-case":Str}}
	OpSuffixIgnoreCase                // {"suffix":{"equals-ignore-case":Str}}
	OpWildcard                        // Str is a wildcard pattern ('*', '\*', '\\')
	OpAnythingBut                     // Values: matches values not equal to any of them
	OpAnythingButPrefix               // Strs: string values with none of these prefixes
	OpAnythingButSuffix               // Strs: string values with none of these suffixes
	OpAnythingButIgnoreCase           // Strs: string values equal (case-folded) to none
	OpAnythingButWildcard             // Strs: string values matching none of these wildcards
	OpNumeric                         // Ranges: numeric value inside Range
	OpExists                          // Exists: field present (true) or absent (false)
	OpCIDR                            // Prefix: IP address string inside the CIDR block
)

// Cond is one condition on a field.
type Cond struct {
	Op Op
	// Value is the literal for OpExact.
	Value Value
	// Str is the operand of the single-string operators.
	Str string
	// Strs are the operands of the anything-but string forms.
	Strs []string
	// Values are the operands of OpAnythingBut (strings or numbers).
	Values []Value
	// Range is the operand of OpNumeric.
	Range Range
	// Exists is the operand of OpExists.
	Exists bool
	// Prefix is the operand of OpCIDR.
	Prefix netip.Prefix
}

// Kind is the JSON type of a scalar value.
type Kind uint8

// The JSON scalar kinds.
const (
	KindString Kind = iota
	KindNumber
	KindTrue
	KindFalse
	KindNull
)

// Value is a JSON scalar from a pattern or an event.
type Value struct {
	Kind Kind
	// Str is the unescaped text of a string, or the literal text of a
	// number as written.
	Str string
	// Num is the numeric value of a number (valid when Kind is KindNumber).
	Num float64
}

// Range is a numeric interval; an unset bound is open (infinite).
type Range struct {
	HasLow, HasHigh   bool
	Low, High         float64
	LowOpen, HighOpen bool // true for '>' / '<' (exclusive); false for '>=' / '<=' / '='
}
