package api

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchyard/switchyard/internal/awserr"
)

// Input shapes declare the constraints of the EventBridge API model in a
// struct tag, `v:"..."`, with comma-separated terms:
//
//	req          the member must be present (not null)
//	len=MIN:MAX  string length (UTF-16 code units, as AWS counts) or list length; either side may be empty
//	range=MIN:MAX integer value
//	re=NAME      the string must wholly match the named pattern in patterns
//	enum=A|B     the string must be one of the values
//	sensitive    the value is a secret: violations name the member, never the value
//
// A len, re or enum term prefixed with "key.", "val." or "elem." applies to
// each key or value of a map member, or to each element of a list of
// strings, as the model's key, value and member shapes constrain them.
//
// validate reports every violation at once in AWS's (Coral's) wording,
// "N validation error(s) detected: Value '...' at 'member' failed to satisfy
// constraint: ...", with members named in lowerCamelCase and list elements as
// "targets.1.member.id", because SDK users compare these messages.

// resourceName is the model's pattern of the names of connections, API
// destinations, archives and replays (and of rules and target ids).
const resourceName = `[\.\-_A-Za-z0-9]+`

// patterns are the model's regular expressions, by name, anchored the way
// Java's String.matches anchors them.
var patterns = map[string]string{
	"ruleName":               resourceName,
	"eventBusName":           `[/\.\-_A-Za-z0-9]+`,
	"eventBusNameOrArn":      `(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+`,
	"nonPartnerBusNameOrArn": `(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+`,
	"eventSourceName":        `aws\.partner(/[\.\-_A-Za-z0-9]+){2,}`,
	"kmsKey":                 `^[a-zA-Z0-9_\-/:]*$`,
	"targetId":               resourceName,
	"endpointId":             `^[A-Za-z0-9\-]+[\.][A-Za-z0-9\-]+$`,
	"pathParameter":          `^(?!\s*$).+`,
	"nonPartnerBusName":      `[\.\-_A-Za-z0-9]+`,
	"permissionAction":       `events:[a-zA-Z]+`,
	"principal":              `(\d{12}|\*)`,
	"statementId":            `[a-zA-Z0-9-_]+`,
	// The target kinds' parameter shapes (control.EcsParameters, ...).
	"runCommandTargetKey":            `^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`,
	"redshiftSecretManagerArn":       `(^arn:aws([a-z]|\-)*:secretsmanager:[a-z0-9-.]+:.*)|(\$(\.[\w_-]+(\[(\d+|\*)\])*)*)`,
	"sageMakerPipelineParameterName": `^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`,
}

// lookahead holds the patterns Go's regexp (RE2) cannot express, as
// functions with the same meaning under Java's String.matches.
var lookahead = map[string]func(string) bool{
	// ^(?!\s*$).+ : not all whitespace (Java's \s: space, \t, \n, \x0B,
	// \f, \r), and "." matches no line terminator.
	"pathParameter": func(s string) bool {
		blank := true
		for _, r := range s {
			switch r {
			case '\n', '\r', '\u0085', '\u2028', '\u2029':
				return false
			case ' ', '\t', '\x0B', '\f':
			default:
				blank = false
			}
		}
		return !blank
	},
}

// compiled holds the Go forms of patterns.
var (
	compileOnce sync.Once
	compiled    map[string]*regexp.Regexp
)

func matchPattern(name, s string) bool {
	compileOnce.Do(func() {
		compiled = make(map[string]*regexp.Regexp, len(patterns))
		for n, p := range patterns {
			if lookahead[n] != nil {
				continue
			}
			compiled[n] = regexp.MustCompile(`^(?s:` + strings.TrimSuffix(strings.TrimPrefix(p, "^"), "$") + `)$`)
		}
	})
	if f := lookahead[name]; f != nil {
		return f(s)
	}
	re, ok := compiled[name]
	if !ok {
		panic("api: no pattern named " + name)
	}
	return re.MatchString(s)
}

type violation struct{ value, at, constraint string }

// validate checks v (a pointer to an input shape) against its tags and
// returns a ValidationException listing every violation, or nil.
func validate(v any) error {
	w := walker{path: make([]byte, 0, 64)}
	w.walk(reflect.ValueOf(v))
	vs := w.vs
	if len(vs) == 0 {
		return nil
	}
	var b strings.Builder
	if len(vs) == 1 {
		b.WriteString("1 validation error detected: ")
	} else {
		fmt.Fprintf(&b, "%d validation errors detected: ", len(vs))
	}
	for i, x := range vs {
		if i == maxListed {
			b.WriteString("; ...")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if x.value == "" { // a sensitive member, whose value Coral does not echo
			fmt.Fprintf(&b, "Value at '%s' failed to satisfy constraint: %s", x.at, x.constraint)
			continue
		}
		fmt.Fprintf(&b, "Value %s at '%s' failed to satisfy constraint: %s", x.value, x.at, x.constraint)
	}
	return awserr.Validation("%s", b.String())
}

// A shape's tags are parsed once per type: PutEvents validates every
// entry of every request, and re-reading the tags each time cost more than
// the checks themselves.
type fieldPlan struct {
	index     int
	name      string // member name, lowerCamelCase
	req       bool
	sensitive bool
	terms     []term
}

type term struct {
	scope    string // "", or "key", "val", "elem": see the package comment
	key, arg string
	lo, hi   int      // len and range
	enum     []string // enum
}

var plans sync.Map // reflect.Type -> []fieldPlan

func planOf(t reflect.Type) []fieldPlan {
	if p, ok := plans.Load(t); ok {
		return p.([]fieldPlan)
	}
	var out []fieldPlan
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fp := fieldPlan{index: i, name: memberName(f)}
		if tag := f.Tag.Get("v"); tag != "" {
			for _, s := range strings.Split(tag, ",") {
				if s == "req" {
					fp.req = true
				}
				if s == "sensitive" {
					fp.sensitive = true
				}
				key, arg, _ := strings.Cut(s, "=")
				tm := term{key: key, arg: arg}
				if scope, k, ok := strings.Cut(key, "."); ok {
					tm.scope, tm.key = scope, k
				}
				switch tm.key {
				case "len", "range":
					tm.lo, tm.hi = bounds(arg)
				case "enum":
					tm.enum = strings.Split(arg, "|")
				case "re":
				default:
					continue
				}
				fp.terms = append(fp.terms, tm)
			}
		}
		out = append(out, fp)
	}
	plans.Store(t, out)
	return out
}

// walker collects violations; path is the member path of the value being
// checked, built in place and only turned into a string for a violation.
type walker struct {
	path []byte
	vs   []violation
}

func (w *walker) add(v reflect.Value, constraint string) {
	w.vs = append(w.vs, violation{render(v), string(w.path), constraint})
}

func (w *walker) walk(v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		n := len(w.path)
		for _, fp := range planOf(v.Type()) {
			if n > 0 {
				w.path = append(w.path, '.')
			}
			w.path = append(w.path, fp.name...)
			w.checkField(v.Field(fp.index), &fp)
			w.path = w.path[:n]
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			n := w.member(i)
			w.walk(v.Index(i))
			w.path = w.path[:n]
		}
	case reflect.Map:
		// Maps (header and query parameters) are checked with their own rules.
	}
}

// member appends list element i to the path, as Coral names it
// ("targets.2.member"), and returns the path's length before, to cut back
// to.
func (w *walker) member(i int) int {
	n := len(w.path)
	w.path = append(w.path, '.')
	w.path = strconv.AppendInt(w.path, int64(i+1), 10)
	w.path = append(w.path, ".member"...)
	return n
}

// memberName is the model's member name in lowerCamelCase, as Coral
// reports it.
func memberName(f reflect.StructField) string {
	n := strings.Split(f.Tag.Get("json"), ",")[0]
	if n == "" {
		n = f.Name
	}
	return strings.ToLower(n[:1]) + n[1:]
}

func (w *walker) checkField(fv reflect.Value, fp *fieldPlan) {
	present := !(fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) || !fv.IsNil()
	if fp.req && !present {
		w.vs = append(w.vs, violation{"null", string(w.path), "Member must not be null"})
		return
	}
	if !present {
		return
	}
	v := fv
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if fp.sensitive {
		n := len(w.vs)
		defer func() {
			for i := n; i < len(w.vs); i++ {
				w.vs[i].value = ""
			}
		}()
	}
	for i := range fp.terms {
		tm := &fp.terms[i]
		if tm.scope != "" {
			continue
		}
		var broken string
		switch {
		case v.Kind() == reflect.String:
			broken = tm.check(v.String())
		case tm.key == "len": // a list or map
			broken = bound(v.Len(), tm.lo, tm.hi, "length")
		case tm.key == "range":
			broken = bound(int(v.Int()), tm.lo, tm.hi, "value")
		}
		if broken != "" {
			w.add(v, broken)
			if v.Kind() == reflect.Slice && tm.key == "len" && v.Len() > tm.hi && tm.hi >= 0 {
				// A list over its bound is reported once; its members are
				// not looked at, so that a request of 70,000 entries costs
				// no more to refuse than one of 11.
				return
			}
		}
	}
	w.checkScoped(v, fp)
	if v.Kind() == reflect.Struct || v.Kind() == reflect.Slice {
		w.walk(v)
	}
}

// checkScoped applies the key., val. and elem. terms of fp to the keys and
// values of a map, or the elements of a list of strings. Coral reports a
// map once, with the constraints its keys (or values) broke, as "Map keys
// must satisfy constraint: [...]"; a list element as a member of its own.
func (w *walker) checkScoped(v reflect.Value, fp *fieldPlan) {
	switch v.Kind() {
	case reflect.Map:
		keys := v.MapKeys()
		for _, scope := range [...]string{"key", "val"} {
			var broken []string
			for i := range fp.terms {
				tm := &fp.terms[i]
				if tm.scope != scope {
					continue
				}
				for _, k := range keys {
					s := k.String()
					if scope == "val" {
						s = v.MapIndex(k).String()
					}
					if c := tm.check(s); c != "" {
						broken = append(broken, c)
						break
					}
				}
			}
			if len(broken) == 0 {
				continue
			}
			what := "Map keys"
			if scope == "val" {
				what = "Map value"
			}
			// (checkField blanks the value of a sensitive member.)
			w.vs = append(w.vs, violation{renderMap(v), string(w.path), what + " must satisfy constraint: [" + strings.Join(broken, ", ") + "]"})
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return
		}
		for i := 0; i < v.Len(); i++ {
			for j := range fp.terms {
				tm := &fp.terms[j]
				if tm.scope != "elem" {
					continue
				}
				if c := tm.check(v.Index(i).String()); c != "" {
					n := w.member(i)
					w.add(v.Index(i), c)
					w.path = w.path[:n]
				}
			}
		}
	}
}

// check returns the constraint a string breaks under a len, re or enum
// term, or "".
func (tm *term) check(s string) string {
	switch tm.key {
	case "len":
		return bound(utf16Len(s), tm.lo, tm.hi, "length")
	case "re":
		if !matchPattern(tm.arg, s) {
			return "Member must satisfy regular expression pattern: " + patterns[tm.arg]
		}
	case "enum":
		if !slices.Contains(tm.enum, s) {
			return "Member must satisfy enum value set: [" + strings.ReplaceAll(tm.arg, "|", ", ") + "]"
		}
	}
	return ""
}

// bound returns the constraint n breaks within [lo, hi] (-1: no bound), as
// a length or a value, or "".
func bound(n, lo, hi int, what string) string {
	if hi >= 0 && n > hi {
		return "Member must have " + what + " less than or equal to " + strconv.Itoa(hi)
	}
	if lo >= 0 && n < lo {
		return "Member must have " + what + " greater than or equal to " + strconv.Itoa(lo)
	}
	return ""
}

// renderMap shows a map as Java's AbstractMap.toString does, {k=v, k2=v2},
// in key order (Java's would be the HashMap's).
func renderMap(v reflect.Value) string {
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String() + "=" + plain(v.MapIndex(k))
	}
	return "'{" + strings.Join(parts, ", ") + "}'"
}

// utf16Len is the length of s in UTF-16 code units, as AWS counts string
// lengths: one per rune, two for runes outside the Basic Multilingual
// Plane (an invalid byte decodes to U+FFFD, one unit).
func utf16Len(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			n = 0
			for _, r := range s {
				n += utf16.RuneLen(r)
			}
			return n
		}
	}
	return n
}

func bounds(arg string) (lo, hi int) {
	l, h, _ := strings.Cut(arg, ":")
	lo, hi = -1, -1
	if l != "" {
		lo, _ = strconv.Atoi(l)
	}
	if h != "" {
		hi, _ = strconv.Atoi(h)
	}
	return lo, hi
}

// render shows a value the way Java's toString shows it inside Coral's
// message: strings and lists quoted, lists as [a, b]. What a message echoes
// is bounded (maxRendered bytes, maxRenderedMembers members of a list), so
// that a hostile request cannot make its own answer large.
func render(v reflect.Value) string {
	s := plain(v)
	if len(s) > maxRendered {
		cut := maxRendered
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return "'" + s + "'"
}

const (
	maxRendered        = 16 << 10 // above every string bound of the model (8,192 characters)
	maxRenderedMembers = 10       // the most entries PutEvents takes
	maxListed          = 100      // violations spelled out in one message
)

func plain(v reflect.Value) string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "null"
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Slice:
		parts := make([]string, 0, min(v.Len(), maxRenderedMembers+1))
		for i := 0; i < v.Len() && i < maxRenderedMembers; i++ {
			parts = append(parts, plain(v.Index(i)))
		}
		if v.Len() > maxRenderedMembers {
			parts = append(parts, "...")
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Struct:
		return v.Type().Name()
	default:
		return fmt.Sprint(v.Interface())
	}
}
