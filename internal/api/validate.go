package api

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

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
//
// validate reports every violation at once in AWS's (Coral's) wording,
// "N validation error(s) detected: Value '...' at 'member' failed to satisfy
// constraint: ...", with members named in lowerCamelCase and list elements as
// "targets.1.member.id", because SDK users compare these messages.

// patterns are the model's regular expressions, by name, anchored the way
// Java's String.matches anchors them.
var patterns = map[string]string{
	"ruleName":               `[\.\-_A-Za-z0-9]+`,
	"eventBusName":           `[/\.\-_A-Za-z0-9]+`,
	"eventBusNameOrArn":      `(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+`,
	"nonPartnerBusNameOrArn": `(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[\.\-_A-Za-z0-9]+`,
	"eventSourceName":        `aws\.partner(/[\.\-_A-Za-z0-9]+){2,}`,
	"kmsKey":                 `^[a-zA-Z0-9_\-/:]*$`,
	"targetId":               `[\.\-_A-Za-z0-9]+`,
	"endpointId":             `^[A-Za-z0-9\-]+[\.][A-Za-z0-9\-]+$`,
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
			compiled[n] = regexp.MustCompile(`^(?s:` + strings.TrimSuffix(strings.TrimPrefix(p, "^"), "$") + `)$`)
		}
	})
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
	var vs []violation
	walk(reflect.ValueOf(v), "", &vs)
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
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "Value %s at '%s' failed to satisfy constraint: %s", x.value, x.at, x.constraint)
	}
	return awserr.Validation("%s", b.String())
}

func walk(v reflect.Value, prefix string, vs *[]violation) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := memberName(f)
			at := name
			if prefix != "" {
				at = prefix + "." + name
			}
			checkField(v.Field(i), f.Tag.Get("v"), at, vs)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), fmt.Sprintf("%s.%d.member", prefix, i+1), vs)
		}
	case reflect.Map:
		// Maps (header and query parameters) are checked with their own rules.
	}
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

func checkField(fv reflect.Value, tag, at string, vs *[]violation) {
	present := !(fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) || !fv.IsNil()
	if tag != "" {
		for _, term := range strings.Split(tag, ",") {
			if term == "req" && !present {
				*vs = append(*vs, violation{"null", at, "Member must not be null"})
				return
			}
		}
	}
	if !present {
		return
	}
	v := fv
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	for _, term := range strings.Split(tag, ",") {
		key, arg, _ := strings.Cut(term, "=")
		switch key {
		case "len":
			lo, hi := bounds(arg)
			var n int
			switch v.Kind() {
			case reflect.String:
				n = len(utf16.Encode([]rune(v.String())))
			default:
				n = v.Len()
			}
			if hi >= 0 && n > hi {
				*vs = append(*vs, violation{render(v), at, fmt.Sprintf("Member must have length less than or equal to %d", hi)})
			} else if lo >= 0 && n < lo {
				*vs = append(*vs, violation{render(v), at, fmt.Sprintf("Member must have length greater than or equal to %d", lo)})
			}
		case "range":
			lo, hi := bounds(arg)
			n := int(v.Int())
			if hi >= 0 && n > hi {
				*vs = append(*vs, violation{render(v), at, fmt.Sprintf("Member must have value less than or equal to %d", hi)})
			} else if lo >= 0 && n < lo {
				*vs = append(*vs, violation{render(v), at, fmt.Sprintf("Member must have value greater than or equal to %d", lo)})
			}
		case "re":
			if !matchPattern(arg, v.String()) {
				*vs = append(*vs, violation{render(v), at, "Member must satisfy regular expression pattern: " + patterns[arg]})
			}
		case "enum":
			ok := false
			for _, e := range strings.Split(arg, "|") {
				ok = ok || v.String() == e
			}
			if !ok {
				*vs = append(*vs, violation{render(v), at, "Member must satisfy enum value set: [" + strings.ReplaceAll(arg, "|", ", ") + "]"})
			}
		}
	}
	if v.Kind() == reflect.Struct || v.Kind() == reflect.Slice {
		walk(v, at, vs)
	}
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
// message: strings and lists quoted, lists as [a, b].
func render(v reflect.Value) string {
	return "'" + plain(v) + "'"
}

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
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = plain(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Struct:
		return v.Type().Name()
	default:
		return fmt.Sprint(v.Interface())
	}
}
