package pattern

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Options tune Parse.
type Options struct {
	// MaxLength is the longest pattern accepted, in characters (UTF-16
	// code units, as AWS counts). 0 means DefaultMaxLength; values above
	// MaxMaxLength are lowered to it.
	MaxLength int
}

const (
	// DefaultMaxLength is EventBridge's default quota for the size of an
	// event pattern.
	DefaultMaxLength = 2048
	// MaxMaxLength is the largest size the quota can be raised to.
	MaxMaxLength = 4096
	// MaxRules bounds how many alternatives $or may expand a pattern into.
	// The expansion is multiplicative (nested or sibling $or multiply), so
	// without a bound a 4 KB pattern could expand into billions of rules.
	MaxRules = 1000
)

// Parse validates an event pattern with the default options and returns its
// parsed form. Errors are *Error (the pattern is invalid) or *LengthError.
func Parse(src []byte) (*Pattern, error) {
	return ParseWithOptions(src, Options{})
}

// ParseWithOptions is Parse with explicit options.
func ParseWithOptions(src []byte, opts Options) (*Pattern, error) {
	max := opts.MaxLength
	if max <= 0 {
		max = DefaultMaxLength
	}
	if max > MaxMaxLength {
		max = MaxMaxLength
	}
	if n := utf16Len(src); n > max {
		return nil, &LengthError{Length: n, Max: max}
	}
	root, err := parseJSONTree(src)
	if err != nil {
		return nil, err
	}
	c := &compiler{}
	if err := c.object(root, nil, false); err != nil {
		return nil, err
	}
	p := &Pattern{Source: string(src), Rules: make([]Rule, 0, len(c.rules))}
	for _, b := range c.rules {
		r := Rule{Fields: make([]Field, 0, len(b))}
		for _, f := range b {
			r.Fields = append(r.Fields, f)
		}
		slices.SortFunc(r.Fields, func(a, b Field) int { return slices.Compare(a.Path, b.Path) })
		if err := checkWildcardComplexity(r); err != nil {
			return nil, err
		}
		p.Rules = append(p.Rules, r)
	}
	return p, nil
}

// String returns the pattern's source text.
func (p *Pattern) String() string { return p.Source }

func utf16Len(b []byte) int {
	n := 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// branch is one alternative under construction: fields by path key.
type branch map[string]Field

// compiler expands $or the way AWS does, which is order-sensitive: a field
// set outside $or goes into every alternative that exists at that moment,
// and a later assignment to the same path replaces an earlier one (AWS
// documents that a repeated key's last occurrence wins). So
// {"a":["1"], "$or":[{"a":["2"]},{"b":["3"]}]} yields {a:2} and {a:1,b:3},
// while putting "a" after the $or would force a:1 into both.
type compiler struct {
	rules []branch
}

// branchKey joins path elements unambiguously (keys may contain any
// character, so a plain separator would not do).
func branchKey(path []string) string {
	var b strings.Builder
	for _, s := range path {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

// Field names that AWS reserves for operators and refuses as keys anywhere
// inside $or, where they would be ambiguous.
var reservedInOr = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true,
	"anything-but": true, "exists": true, "wildcard": true, "numeric": true,
	"cidr": true, "html": true, "=": true, "<": true, "<=": true, ">": true,
	">=": true, "regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true,
	"date-on-or-before": true, "in-date-range": true, "ip-address-in-range": true,
	"ip-address-not-in-range": true,
}

func (c *compiler) object(n *jsonNode, path []string, inOr bool) *Error {
	if len(n.members) == 0 {
		return errorf("Empty objects are not allowed")
	}
	for _, m := range n.members {
		if m.key == "$or" {
			if err := c.or(m.val, path); err != nil {
				return err
			}
			continue
		}
		if inOr && reservedInOr[m.key] {
			return errorf("%s is Ruler reserved fieldName which cannot be used inside $or.", m.key)
		}
		// A key holding dots is a path (see dotted.go); the checks above
		// and the reasons below name the key as written.
		sub := appendSplit(slices.Clip(path), m.key)
		switch m.val.kind {
		case jsonObject:
			if err := c.object(m.val, sub, inOr); err != nil {
				return err
			}
		case jsonArray:
			conds, err := matchList(m.val)
			if err != nil {
				return err
			}
			if len(c.rules) == 0 {
				c.rules = []branch{{}}
			}
			f := Field{Path: sub, Conds: conds}
			k := branchKey(sub)
			for _, b := range c.rules {
				b[k] = f
			}
		default:
			return errorf("\"%s\" must be an object or an array", m.key)
		}
	}
	return nil
}

func (c *compiler) or(n *jsonNode, path []string) *Error {
	if n.kind != jsonArray {
		return errorf("It must be an Array followed with $or.")
	}
	current := c.rules
	c.rules = nil
	for _, item := range n.items {
		if item.kind != jsonObject {
			return errorf("Only JSON object is allowed in array of $or relationship.")
		}
		sub := &compiler{rules: copyBranches(current)}
		if len(sub.rules) == 0 {
			sub.rules = []branch{{}}
		}
		if err := sub.object(item, path, true); err != nil {
			return err
		}
		c.rules = append(c.rules, sub.rules...)
		if len(c.rules) > MaxRules {
			return errorf("Too many $or combinations: the pattern expands into more than %d alternatives", MaxRules)
		}
	}
	if len(n.items) < 2 {
		return errorf("There must have at least 2 Objects in $or relationship.")
	}
	return nil
}

func copyBranches(bs []branch) []branch {
	out := make([]branch, len(bs))
	for i, b := range bs {
		nb := make(branch, len(b))
		for k, v := range b {
			nb[k] = v
		}
		out[i] = nb
	}
	return out
}

// matchList parses the array at a leaf: its elements are alternatives.
func matchList(n *jsonNode) ([]Cond, *Error) {
	conds := make([]Cond, 0, len(n.items))
	for _, item := range n.items {
		switch item.kind {
		case jsonObject:
			c, err := matchExpression(item)
			if err != nil {
				return nil, err
			}
			conds = append(conds, c)
		case jsonString:
			// AWS compares a value that is an IP address as an address,
			// so "::1" in a pattern also matches "0:0:0:0:0:0:0:1".
			if a, ok := parseIP(item.text); ok {
				conds = append(conds, Cond{Op: OpCIDR, Prefix: netip.PrefixFrom(a, a.BitLen())})
				continue
			}
			conds = append(conds, Cond{Op: OpExact, Value: Value{Kind: KindString, Str: item.text}})
		case jsonNumber:
			conds = append(conds, Cond{Op: OpExact, Value: numberValue(item.text)})
		case jsonTrue:
			conds = append(conds, Cond{Op: OpExact, Value: Value{Kind: KindTrue, Str: "true"}})
		case jsonFalse:
			conds = append(conds, Cond{Op: OpExact, Value: Value{Kind: KindFalse, Str: "false"}})
		case jsonNull:
			conds = append(conds, Cond{Op: OpExact, Value: Value{Kind: KindNull, Str: "null"}})
		default:
			return nil, errorf("Match value must be String, number, true, false, or null")
		}
	}
	if len(conds) == 0 {
		return nil, errorf("Empty arrays are not allowed")
	}
	return conds, nil
}

const (
	reasonOneKey      = "Only one key allowed in match expression"
	reasonTooManyElem = "Too many elements in numeric expression"
)

// matchExpression parses one {"operator": operand} object. AWS checks the
// operand before noticing extra keys, so a bad operand is reported even
// when the object has other problems too.
func matchExpression(n *jsonNode) (Cond, *Error) {
	if len(n.members) == 0 {
		return Cond{}, errorf("Match expression name not found")
	}
	op, val := n.members[0].key, n.members[0].val
	extra := len(n.members) > 1
	oneKey := func(c Cond) (Cond, *Error) {
		if extra {
			return Cond{}, errorf(reasonOneKey)
		}
		return c, nil
	}
	switch op {
	case "prefix", "suffix":
		if val.kind == jsonObject {
			c, err := ignoreCaseAffix(op, val)
			if err != nil {
				return Cond{}, err
			}
			return oneKey(c)
		}
		if val.kind != jsonString {
			return Cond{}, errorf("%s match pattern must be a string", op)
		}
		if op == "prefix" {
			return oneKey(Cond{Op: OpPrefix, Str: val.text})
		}
		return oneKey(Cond{Op: OpSuffix, Str: val.text})
	case "equals-ignore-case":
		if val.kind != jsonString {
			return Cond{}, errorf("equals-ignore-case match pattern must be a string")
		}
		return oneKey(Cond{Op: OpEqualsIgnoreCase, Str: val.text})
	case "wildcard":
		if val.kind != jsonString {
			return Cond{}, errorf("wildcard match pattern must be a string")
		}
		if _, err := validateWildcard(val.text); err != nil {
			return Cond{}, err
		}
		return oneKey(Cond{Op: OpWildcard, Str: val.text})
	case "numeric":
		if val.kind != jsonArray {
			return Cond{}, errorf("Value of numeric must be an array.")
		}
		r, err := numericRange(val.items)
		if err != nil {
			return Cond{}, err
		}
		if extra {
			return Cond{}, errorf(reasonTooManyElem)
		}
		return Cond{Op: OpNumeric, Range: r}, nil
	case "anything-but":
		c, err := anythingBut(val)
		if err != nil {
			return Cond{}, err
		}
		if extra {
			return Cond{}, errorf(reasonTooManyElem)
		}
		return c, nil
	case "exists":
		if val.kind != jsonTrue && val.kind != jsonFalse {
			return Cond{}, errorf("exists match pattern must be either true or false.")
		}
		return oneKey(Cond{Op: OpExists, Exists: val.kind == jsonTrue})
	case "cidr":
		if val.kind != jsonString {
			// sic: AWS reuses the prefix reason here.
			return Cond{}, errorf("prefix match pattern must be a string")
		}
		p, err := parseCIDR(val.text)
		if err != nil {
			return Cond{}, err
		}
		return oneKey(Cond{Op: OpCIDR, Prefix: p})
	}
	return Cond{}, errorf("Unrecognized match type %s", op)
}

// ignoreCaseAffix parses {"prefix": {"equals-ignore-case": "..."}} and its
// suffix twin.
func ignoreCaseAffix(op string, n *jsonNode) (Cond, *Error) {
	title := "Prefix"
	cond := Cond{Op: OpPrefixIgnoreCase}
	if op == "suffix" {
		title = "Suffix"
		cond.Op = OpSuffixIgnoreCase
	}
	if len(n.members) == 0 {
		return Cond{}, errorf("%s expression name not found", title)
	}
	inner, val := n.members[0].key, n.members[0].val
	if inner != "equals-ignore-case" {
		return Cond{}, errorf("Unsupported %s pattern: %s", op, inner)
	}
	if val.kind != jsonString {
		return Cond{}, errorf("equals-ignore-case match pattern must be a string")
	}
	if len(n.members) > 1 {
		return Cond{}, errorf(reasonOneKey)
	}
	cond.Str = val.text
	return cond, nil
}

// numericRange parses the operand list of "numeric": one comparison, or a
// lower bound ('>' or '>=') followed by an upper bound ('<' or '<=').
func numericRange(items []*jsonNode) (Range, *Error) {
	at := func(i int) *jsonNode {
		if i < len(items) {
			return items[i]
		}
		return nil
	}
	text := func(n *jsonNode) string {
		if n == nil {
			return "]"
		}
		return n.tokenText()
	}
	bound := func(n *jsonNode, op string) (float64, *Error) {
		name := op
		if op == "=" {
			name = "equals"
		}
		if n == nil || n.kind != jsonNumber {
			return 0, errorf("Value of %s must be numeric", name)
		}
		units, fault := numberUnits([]byte(n.text))
		if fault != numberOK {
			return 0, errorf("%s", numberReason(fault))
		}
		return float64(units) / numberScale, nil
	}
	first := at(0)
	if first == nil || first.kind != jsonString {
		return Range{}, errorf("Invalid member in numeric match: %s", text(first))
	}
	var r Range
	switch op := first.text; op {
	case "=", "<", "<=":
		v, err := bound(at(1), op)
		if err != nil {
			return Range{}, err
		}
		if len(items) > 2 {
			return Range{}, errorf(reasonTooManyElem)
		}
		switch op {
		case "=":
			r = Range{HasLow: true, Low: v, HasHigh: true, High: v}
		case "<":
			r = Range{HasHigh: true, High: v, HighOpen: true}
		default:
			r = Range{HasHigh: true, High: v}
		}
		return r, nil
	case ">", ">=":
		v, err := bound(at(1), op)
		if err != nil {
			return Range{}, err
		}
		r = Range{HasLow: true, Low: v, LowOpen: op == ">"}
	default:
		return Range{}, errorf("Unrecognized numeric range operator: %s", op)
	}
	second := at(2)
	if second == nil {
		return r, nil
	}
	if second.kind != jsonString {
		return Range{}, errorf("Bad value in numeric range: %s", second.tokenText())
	}
	op2 := second.text
	if op2 != "<" && op2 != "<=" {
		return Range{}, errorf("Bad numeric range operator: %s", op2)
	}
	v, err := bound(at(3), op2)
	if err != nil {
		return Range{}, err
	}
	if len(items) > 4 {
		return Range{}, errorf("Too many terms in numeric range expression")
	}
	if r.Low >= v {
		return Range{}, errorf("Bottom must be less than top")
	}
	r.HasHigh, r.High, r.HighOpen = true, v, op2 == "<"
	return r, nil
}

// anythingBut parses the operand of "anything-but": a string or number, a
// list of only strings or only numbers, or an object naming one of
// prefix, suffix, equals-ignore-case or wildcard with a string or a list
// of strings.
func anythingBut(n *jsonNode) (Cond, *Error) {
	op := OpAnythingBut
	sub := ""
	if n.kind == jsonObject {
		if len(n.members) == 0 {
			return Cond{}, errorf("Anything-But expression name not found")
		}
		sub = n.members[0].key
		switch sub {
		case "equals-ignore-case":
			op = OpAnythingButIgnoreCase
		case "prefix":
			op = OpAnythingButPrefix
		case "suffix":
			op = OpAnythingButSuffix
		case "wildcard":
			op = OpAnythingButWildcard
		default:
			return Cond{}, errorf("Unsupported anything-but pattern: %s", sub)
		}
		inner := n.members[0].val
		c, err := anythingButSet(op, inner)
		if err != nil {
			return Cond{}, err
		}
		if len(n.members) > 1 {
			return Cond{}, errorf(reasonTooManyElem)
		}
		return c, nil
	}
	switch n.kind {
	case jsonString:
		return Cond{Op: op, Values: []Value{{Kind: KindString, Str: n.text}}}, nil
	case jsonNumber:
		v, err := anythingButNumber(n.text)
		if err != nil {
			return Cond{}, err
		}
		return Cond{Op: op, Values: []Value{v}}, nil
	case jsonArray:
	default:
		return Cond{}, errorf("Value of anything-but must be an array or single string/number value.")
	}
	var vals []Value
	strs, nums := false, false
	for _, item := range n.items {
		switch item.kind {
		case jsonString:
			strs = true
			vals = append(vals, Value{Kind: KindString, Str: item.text})
		case jsonNumber:
			nums = true
			v, err := anythingButNumber(item.text)
			if err != nil {
				return Cond{}, err
			}
			vals = append(vals, v)
		default:
			return Cond{}, errorf("Inside anything but list, start|null|boolean is not supported.")
		}
	}
	if strs == nums {
		return Cond{}, errorf("Inside anything but list, either all values are number or string, mixed type is not supported")
	}
	return Cond{Op: op, Values: vals}, nil
}

// anythingButNumber: numbers excluded by anything-but must be comparable,
// since AWS excludes them by numeric value.
func anythingButNumber(lit string) (Value, *Error) {
	if _, fault := numberUnits([]byte(lit)); fault != numberOK {
		return Value{}, errorf("%s", numberReason(fault))
	}
	return numberValue(lit), nil
}

func anythingButSet(op Op, n *jsonNode) (Cond, *Error) {
	var items []*jsonNode
	switch n.kind {
	case jsonString, jsonNumber:
		items = []*jsonNode{n}
	case jsonArray:
		items = n.items
	default:
		return Cond{}, errorf("Value of anything-but must be an array or single string/number value.")
	}
	c := Cond{Op: op, Strs: make([]string, 0, len(items))}
	for _, item := range items {
		if item.kind != jsonString {
			switch op {
			case OpAnythingButIgnoreCase:
				return Cond{}, errorf("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
			case OpAnythingButWildcard:
				return Cond{}, errorf("wildcard match pattern must be a string")
			}
			return Cond{}, errorf("prefix/suffix match pattern must be a string")
		}
		if item.text == "" && (op == OpAnythingButPrefix || op == OpAnythingButSuffix) {
			return Cond{}, errorf("Null prefix/suffix not allowed")
		}
		c.Strs = append(c.Strs, item.text)
	}
	if op == OpAnythingButWildcard {
		for _, s := range c.Strs {
			if _, err := validateWildcard(s); err != nil {
				return Cond{}, err
			}
		}
	}
	return c, nil
}

// checkWildcardComplexity applies AWS's complexity limit to each field of a
// rule, counting every wildcard operand of the field, negated or not.
func checkWildcardComplexity(r Rule) *Error {
	for _, f := range r.Fields {
		var ops [][]int
		for _, c := range f.Conds {
			switch c.Op {
			case OpWildcard:
				ops = append(ops, wildcardTokens(c.Str))
			case OpAnythingButWildcard:
				for _, s := range c.Strs {
					ops = append(ops, wildcardTokens(s))
				}
			}
		}
		if wildcardComplexity(ops) > wildcardComplexityLimit {
			return errorf("%s", wildcardTooComplex)
		}
	}
	return nil
}
