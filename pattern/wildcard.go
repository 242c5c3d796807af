package pattern

import (
	"slices"
	"strconv"
	"strings"
)

// A wildcard operand is a string in which '*' stands for any run of
// characters (including none), "\*" for a literal star and "\\" for a
// literal backslash. Any other backslash is refused, as are two stars in a
// row. Positions in AWS's reasons count UTF-8 bytes of the operand as it
// appears between its quotes, plus one for the opening quote.

// wcStar marks a '*' in a tokenized wildcard; other tokens are bytes.
const wcStar = 256

// validateWildcard checks a wildcard operand and returns it as tokens.
func validateWildcard(s string) ([]int, *Error) {
	toks := make([]int, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return nil, errorf("Consecutive wildcard characters at pos %d", i+1)
			}
			toks = append(toks, wcStar)
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '\\') {
				toks = append(toks, int(s[i+1]))
				i++
				continue
			}
			return nil, errorf("Invalid escape character at pos %d", i+1)
		default:
			toks = append(toks, int(c))
		}
	}
	return toks, nil
}

// wildcardTokens tokenizes an operand that validateWildcard accepted.
func wildcardTokens(s string) []int {
	toks, err := validateWildcard(s)
	if err != nil {
		panic("pattern: wildcardTokens on invalid operand " + strconv.Quote(s))
	}
	return toks
}

// matchWildcard reports whether s matches the wildcard operand pat, which
// must be valid. It works on bytes: a star can swallow any byte sequence
// and literals are compared byte for byte, so for valid UTF-8 this is the
// same as working on characters.
func matchWildcard(pat, s string) bool {
	return matchWildcardTokens(wildcardTokens(pat), s)
}

// matchWildcardTokens is the classic greedy matcher: on a mismatch it
// returns to the most recent star and lets it swallow one more byte. That
// is enough because a later star can absorb anything an earlier one could,
// so only the latest star ever needs to be retried; the cost is
// O(len(toks)·len(s)) at worst.
func matchWildcardTokens(toks []int, s string) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for si < len(s) {
		switch {
		case ti < len(toks) && toks[ti] == wcStar:
			starTi, starSi = ti, si
			ti++
		case ti < len(toks) && toks[ti] == int(s[si]):
			ti++
			si++
		case starTi >= 0:
			starSi++
			ti, si = starTi+1, starSi
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti] == wcStar {
		ti++
	}
	return ti == len(toks)
}

// AWS refuses wildcard conditions that would make its byte automaton track
// too many partial matches at once, with this reason. The facts relied on:
//
//   - EventBridge User Guide, "Comparison operators", "Wildcards and event
//     pattern complexity" (eb-create-pattern-operators.html): "If a rule is
//     too complex, EventBridge returns an InvalidEventPatternException when
//     attempting to create the rule" — an invalid pattern, not a
//     ValidationException, so the reason goes through Error like any other
//     (users report the text as "Event pattern is not valid. Reason: Rule
//     is too complex - ...").
//   - aws/event-ruler README, "Wildcard matching": consecutive wildcard
//     characters are not allowed (validateWildcard); "Matching with a
//     Machine": complexity is "how many wildcard rule prefixes match a
//     theoretical worst-case event" (MachineComplexityEvaluator), and
//     throughput falls with it (140,000 events/s at 1, 2,500 at 50).
//
// Bounding the live partial matches also keeps matching linear: the greedy
// matcher below re-reads a byte of the value once per partial match alive
// there at most (BenchmarkWildcardHostile, FuzzWildcard). The measure used here
// follows the idea of AWS's evaluator: run the wildcard operands of one
// field of one rule together as NFAs over the quoted value, and count, for
// the worst possible input, how many states are live at the same time. The
// exact figure AWS computes is not published; this measure reproduces the
// observed cases (see the conformance file wildcard.json) with the limit
// below.
const (
	wildcardComplexityLimit = 10
	wildcardTooComplex      = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"
	// Exploring the joint state space stops here; a field that needs more
	// is far beyond anything the limit admits.
	wildcardExploreLimit = 20000
)

// wcNFA is one operand as an NFA over the bytes of `"operand"`. State i
// means "i literal bytes consumed"; a star between literals makes the
// state before the next literal loop on every byte.
type wcNFA struct {
	lits []byte
	loop []bool // loop[i]: state i loops on any byte
}

func newWcNFA(toks []int) wcNFA {
	n := wcNFA{lits: []byte{'"'}, loop: []bool{false, false}}
	for _, t := range toks {
		if t == wcStar {
			n.loop[len(n.lits)] = true
			continue
		}
		n.lits = append(n.lits, byte(t))
		n.loop = append(n.loop, false)
	}
	n.lits = append(n.lits, '"')
	n.loop = append(n.loop, false)
	return n
}

// wcLive is one live state: operand number and state number.
type wcLive struct{ nfa, state int }

// wildcardComplexity returns the largest number of simultaneously live NFA
// states, over all inputs, or a number above the limit as soon as it is
// known to exceed it. Because exploration stops there, no explored set holds
// more than the limit, which keeps every step cheap.
func wildcardComplexity(operands [][]int) int {
	if len(operands) == 0 {
		return 0
	}
	nfas := make([]wcNFA, len(operands))
	var alphabet [256]bool
	for i, toks := range operands {
		nfas[i] = newWcNFA(toks)
		for _, c := range nfas[i].lits {
			alphabet[c] = true
		}
	}
	// One byte that no operand mentions stands for all such bytes.
	var letters []byte
	other := -1
	for c := 0; c < 256; c++ {
		if alphabet[c] {
			letters = append(letters, byte(c))
		} else if other < 0 {
			other = c
			letters = append(letters, byte(c))
		}
	}

	key := func(s []wcLive) string {
		var b strings.Builder
		for _, l := range s {
			b.WriteString(strconv.Itoa(l.nfa))
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(l.state))
			b.WriteByte(' ')
		}
		return b.String()
	}
	start := make([]wcLive, len(nfas))
	for i := range nfas {
		start[i] = wcLive{nfa: i}
	}
	seen := map[string]bool{}
	queue := [][]wcLive{start}
	worst := 0
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range letters {
			var next []wcLive
			for _, l := range cur {
				n := nfas[l.nfa]
				if n.loop[l.state] {
					next = append(next, l)
				}
				if l.state < len(n.lits) && n.lits[l.state] == c {
					next = append(next, wcLive{l.nfa, l.state + 1})
				}
			}
			if len(next) == 0 {
				continue
			}
			slices.SortFunc(next, func(a, b wcLive) int {
				if a.nfa != b.nfa {
					return a.nfa - b.nfa
				}
				return a.state - b.state
			})
			next = slices.Compact(next)
			if len(next) > worst {
				worst = len(next)
				if worst > wildcardComplexityLimit {
					return worst
				}
			}
			k := key(next)
			if !seen[k] {
				if len(seen) >= wildcardExploreLimit {
					return wildcardComplexityLimit + 1
				}
				seen[k] = true
				queue = append(queue, next)
			}
		}
	}
	return worst
}
