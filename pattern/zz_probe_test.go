package pattern

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestZZProbe(t *testing.T) {
	try := func(name, src string) {
		t0 := time.Now()
		_, err := Parse([]byte(src))
		t.Logf("%s: %v len=%d err=%v", name, time.Since(t0), len(src), err)
	}
	var ops []string
	for c := 'a'; c <= 'z'; c++ {
		ops = append(ops, fmt.Sprintf(`{"wildcard":"*%c*"}`, c))
	}
	try("26 *x*", `{"a":[`+strings.Join(ops, ",")+`]}`)
	ops = ops[:0]
	for c := 'a'; c <= 'j'; c++ {
		ops = append(ops, fmt.Sprintf(`{"wildcard":"%c*"}`, c))
	}
	try("10 x*", `{"a":[`+strings.Join(ops, ",")+`]}`)
	try("hostile", `{"a":[{"wildcard":"*a*a*a*a*a*a*b"}]}`)
	try("long", `{"a":[{"wildcard":"*`+strings.Repeat("ab", 900)+`*"}]}`)
	var b strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "%c*", 'a'+i%26)
	}
	try("60 stars distinct", `{"a":[{"wildcard":"`+b.String()+`"}]}`)
	ops = ops[:0]
	for i := 0; i < 60; i++ {
		ops = append(ops, fmt.Sprintf(`{"wildcard":"%c%c*"}`, 'a'+i%26, 'a'+i/26))
	}
	try("60 prefixes", `{"a":[`+strings.Join(ops, ",")+`]}`)
	ops = ops[:0]
	for i := 0; i < 100; i++ {
		ops = append(ops, fmt.Sprintf(`{"wildcard":"*%c%c"}`, 'a'+i%26, 'a'+i/26))
	}
	try("100 suffixes", `{"a":[`+strings.Join(ops, ",")+`]}`)
	ops = ops[:0]
	for i := 0; i < 40; i++ {
		ops = append(ops, fmt.Sprintf(`{"wildcard":"%c*%c"}`, 'a'+i%26, 'a'+i/26))
	}
	try("40 x*y", `{"a":[`+strings.Join(ops, ",")+`]}`)
}
