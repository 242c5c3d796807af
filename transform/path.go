package transform

import (
	"strings"
)

// A path is the JSONPath subset EventBridge accepts in InputPath and in
// InputPathsMap values: "$" followed by dot-notation members
// ($.detail.instance-id), array indexes ($.resources[0]) and wildcards
// ($.detail.*, $.detail.items[*].id). The user guide lists exactly these:
// "dot notation, dashes, underscores, alphanumeric characters, array
// indices, wildcards (*), forward slashes", and the API reference says
// "You must use JSON dot notation, not bracket notation" — so
// $.detail['a'] is refused, as are deep scans (..), slices, unions,
// filters and negative indexes, which AWS does not list.
type path struct {
	steps []step
	// multi is set when a wildcard can match several values; the result is
	// then always an array of the matches, possibly empty, as a JSONPath
	// engine returns for an indefinite path.
	multi bool
}

type stepKind uint8

const (
	stepMember stepKind = iota
	stepIndex
	stepAnyMember
	stepAnyIndex
)

type step struct {
	kind  stepKind
	name  string
	index int
}

// parsePath parses s, reporting whether it is a path AWS accepts.
func parsePath(s string) (*path, bool) {
	if !strings.HasPrefix(s, "$") {
		return nil, false
	}
	p := &path{}
	for i := 1; i < len(s); {
		switch s[i] {
		case '.':
			i++
			j := i
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			switch {
			case j > i:
				p.steps = append(p.steps, step{kind: stepMember, name: s[i:j]})
			case j < len(s) && s[j] == '*':
				p.steps = append(p.steps, step{kind: stepAnyMember})
				p.multi = true
				j++
			default:
				return nil, false
			}
			i = j
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, false
			}
			in := s[i+1 : i+j]
			switch {
			case in == "*":
				p.steps = append(p.steps, step{kind: stepAnyIndex})
				p.multi = true
			case len(in) > 0 && len(in) <= 9 && allDigits(in):
				n := 0
				for k := 0; k < len(in); k++ {
					n = n*10 + int(in[k]-'0')
				}
				p.steps = append(p.steps, step{kind: stepIndex, index: n})
			default:
				return nil, false
			}
			i += j + 1
		default:
			return nil, false
		}
	}
	return p, true
}

// isNameByte reports whether c may appear in a dot-notation member name.
// AWS names alphanumerics, dashes, underscores and slashes; other printable
// characters (colons in "aws:SourceArn", non-ASCII letters) are allowed
// too because events carry such keys. Those that would make the path
// ambiguous — separators, brackets, quotes, the wildcard, spaces — are not.
func isNameByte(c byte) bool {
	switch c {
	case '.', '[', ']', '*', '\'', '"', '\\', ' ', '<', '>':
		return false
	}
	return c > ' ' && c != 0x7f
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// eval returns the raw JSON the path selects in root (one scanned JSON
// value), or nil when nothing is there.
func (p *path) eval(root []byte) ([]byte, error) {
	var err error
	if !p.multi {
		v := root
		for _, st := range p.steps {
			switch {
			case st.kind == stepMember && kindOf(v) == kindObject:
				v, err = member(v, st.name)
			case st.kind == stepIndex && kindOf(v) == kindArray:
				v, err = element(v, st.index)
			default:
				v = nil
			}
			if err != nil || v == nil {
				return nil, err
			}
		}
		return v, nil
	}
	out := []byte{'['}
	n := 0
	err = p.collect(root, p.steps, func(v []byte) {
		if n > 0 {
			out = append(out, ',')
		}
		out = appendCompact(out, v)
		n++
	})
	if err != nil {
		return nil, err
	}
	return append(out, ']'), nil
}

// collect calls emit with every value steps select under v, in document
// order.
func (p *path) collect(v []byte, steps []step, emit func([]byte)) error {
	if len(steps) == 0 {
		emit(v)
		return nil
	}
	st, rest := steps[0], steps[1:]
	var err error
	switch {
	case st.kind == stepMember && kindOf(v) == kindObject:
		if v, err = member(v, st.name); err == nil && v != nil {
			err = p.collect(v, rest, emit)
		}
	case st.kind == stepIndex && kindOf(v) == kindArray:
		if v, err = element(v, st.index); err == nil && v != nil {
			err = p.collect(v, rest, emit)
		}
	case (st.kind == stepAnyMember || st.kind == stepAnyIndex) && kindOf(v) == kindObject:
		_, err = scanObject(v, 0, func(_, val []byte) error { return p.collect(val, rest, emit) })
	case (st.kind == stepAnyMember || st.kind == stepAnyIndex) && kindOf(v) == kindArray:
		_, err = scanArray(v, 0, func(_ int, val []byte) error { return p.collect(val, rest, emit) })
	}
	return err
}
