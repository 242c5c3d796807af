package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
)

func str(s string) *string { return &s }

func TestEntrySize(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		e    Entry
		want int
	}{
		{"strings", Entry{Source: str("abc"), DetailType: str("de"), Detail: str(`{}`)}, 7},
		{"time adds 14", Entry{Time: &now, Source: str("a"), DetailType: str("b"), Detail: str(`{}`)}, 18},
		{"resources", Entry{Source: str("a"), DetailType: str("b"), Resources: []string{"xy", "z"}}, 5},
		{"utf-8 bytes", Entry{Source: str("é"), DetailType: str("😀")}, 6},
	}
	for _, tt := range tests {
		if got := EntrySize(&tt.e); got != tt.want {
			t.Errorf("%s: EntrySize = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCheckDetail(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDetailDepth) + "1" + strings.Repeat("}", MaxDetailDepth)
	tooDeep := strings.Repeat(`{"a":`, MaxDetailDepth+1) + "1" + strings.Repeat("}", MaxDetailDepth+1)
	tests := []struct {
		detail string
		ok     bool
	}{
		{`{}`, true},
		{` {"a":[1,2,{"b":null}]} `, true},
		{`{"n":9223372036854775807,"m":-9223372036854775808}`, true},
		{`{"n":9223372036854775808}`, false},
		{`{"n":1.5e300,"s":"99999999999999999999"}`, true},
		{`{"s":"\"}{"}`, true},
		{deep, true},
		{tooDeep, false},
		{`[]`, false},
		{`"x"`, false},
		{`{"a":}`, false},
		{`{"a":1}x`, false},
		{``, false},
		// Repeated keys (decoded: "\u0061" is "a"), in any object; the same
		// key in different objects is fine.
		{`{"a":1,"a":2}`, false},
		{`{"a":1,"b":{"c":1,"c":[]}}`, false},
		{`{"a":1,"\u0061":2}`, false},
		{`{"x":[{"a":1},{"a":1}],"a":{"a":{"a":1}}}`, true},
		{`{"é":1,"\u00e9":2}`, false},
		{`{"a":1,"A":2,"a ":3}`, true},
		{wide(30, false), true},
		{wide(30, true), false},
		{wide(200, true), false},
		{deepWide(40, 10), true},
	}
	for _, tt := range tests {
		err := CheckDetail([]byte(tt.detail))
		if (err == nil) != tt.ok {
			d := tt.detail
			if len(d) > 60 {
				d = d[:60] + "..."
			}
			t.Errorf("CheckDetail(%s) = %v, want ok=%v", d, err, tt.ok)
		}
	}
}

// wide is an object of n keys, the last repeating the first if dup.
func wide(n int, dup bool) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		k := i
		if dup && i == n-1 {
			k = 0
		}
		fmt.Fprintf(&b, `"k%d":%d`, k, i)
	}
	b.WriteString("}")
	return b.String()
}

// deepWide nests depth objects of n keys each (more keys in all than the
// scanner keeps on its stack), all distinct within their own object.
func deepWide(depth, n int) string {
	var b strings.Builder
	for d := 0; d < depth; d++ {
		b.WriteString("{")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `"k%d":1,`, i)
		}
		b.WriteString(`"next":`)
	}
	b.WriteString("1")
	b.WriteString(strings.Repeat("}", depth))
	return b.String()
}

func TestEnvelope(t *testing.T) {
	sc := control.Scope{Account: "123456789012", Region: "eu-west-1"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 999_000_000, time.FixedZone("x", 3600))
	got := Envelope("id-1", "Order \"Created\" <b>", "app.orders", sc, at, []string{"r1", "ü"}, []byte(`{"a":1}`))
	want := `{"version":"0","id":"id-1","detail-type":"Order \"Created\" <b>","source":"app.orders","account":"123456789012",` +
		`"time":"2026-01-02T02:04:05Z","region":"eu-west-1","resources":["r1","ü"],"detail":{"a":1}}`
	if string(got) != want {
		t.Errorf("Envelope =\n%s\nwant\n%s", got, want)
	}
	if !json.Valid(Envelope("i", "a\x01\n\t\\", "s\xff", sc, at, nil, []byte(`{}`))) {
		t.Error("envelope with control characters and invalid UTF-8 is not valid JSON")
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "\x00\x1f\x7f", "é😀", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, b, err)
		}
		if string([]rune(s)) != back { // each invalid byte becomes U+FFFD
			t.Fatalf("AppendString(%q) round-trips to %q", s, back)
		}
	})
}

func FuzzCheckDetail(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"c"}]}`, `{"n":-0.5e-3}`, `[`, `{"a":"\u00e9"}`,
		`{"a":{"b":1},"a.b":2}`, `{"x":[{"a.":1,"a":2}]}`, `{"a\u002eb":1,"a":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		respelled, err := CheckDetailPaths(b)
		// As documented: what json.Valid accepts after bytes.TrimSpace
		// (which trims more than JSON's blanks, "\v" for one).
		if err == nil && !json.Valid(bytes.TrimSpace(b)) {
			t.Fatalf("CheckDetail accepted invalid JSON %q", b)
		}
		if err == nil && respelled != respelledRef(b) {
			t.Fatalf("CheckDetailPaths(%q) = %v", b, respelled)
		}
	})
}

// BenchmarkCheckDetail checks a detail of the shape events usually have: a
// few dozen keys over three levels, strings and numbers.
func BenchmarkCheckDetail(b *testing.B) {
	d := []byte(`{"orderId":"o-12345","customer":{"id":"c-9","name":"Ada Lovelace","email":"ada@example.com","tier":"gold","address":{"street":"1 Main St","city":"London","zip":"N1 9GU","country":"GB"}},"items":[{"sku":"a-1","qty":2,"price":9.99},{"sku":"b-2","qty":1,"price":120.5},{"sku":"c-3","qty":5,"price":0.99}],"total":145.43,"currency":"GBP","status":"CREATED","channel":"web","tags":["new","promo"],"createdAt":"2026-12-06T10:00:00Z","version":3}`)
	b.SetBytes(int64(len(d)))
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckDetail(d); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckDetailPaths: an object with a key k and a key beginning with k
// and a dot reaches one path two ways (EventBridge reads dotted keys as
// paths); CheckDetailPaths says so, for the matcher to read such events
// whole.
func TestCheckDetailPaths(t *testing.T) {
	for d, want := range map[string]bool{
		`{}`:                                   false,
		`{"a":1,"b.c":2}`:                      false,
		`{"a.b":1,"a.c":2}`:                    false,
		`{"a":{"b":1},"a.b":2}`:                true,
		`{"a.b":2,"a":{"b":1}}`:                true,
		`{"x":[{"state":"x","state.code":1}]}`: true,
		`{"a":{"a.b":1}}`:                      false,
		`{"ab":1,"a.b":2}`:                     false,
		`{"a":1,"\u0061.b":2}`:                 true,
		`{"a\u002eb":1,"a":2}`:                 true,
		`{".":1,"":2}`:                         true,
		wide(30, false) + ``:                   false,
	} {
		got, err := CheckDetailPaths([]byte(d))
		if err != nil || got != want {
			t.Errorf("CheckDetailPaths(%.60s) = %v, %v; want %v", d, got, err, want)
		}
	}
	// Wide objects (keys in a set) too, in both orders.
	keys := []string{}
	for i := range 40 {
		keys = append(keys, fmt.Sprintf(`"k%d":%d`, i, i))
	}
	for _, extra := range []string{`"k7.x":1`, `"k39.":1`} {
		for _, d := range []string{"{" + strings.Join(append(slices.Clone(keys), extra), ",") + "}", "{" + strings.Join(append([]string{extra}, keys...), ",") + "}"} {
			if got, err := CheckDetailPaths([]byte(d)); err != nil || !got {
				t.Errorf("CheckDetailPaths(wide with %s) = %v, %v", extra, got, err)
			}
		}
	}
	if got, _ := CheckDetailPaths([]byte(`{"a":1,"a":2,"a.b":3}`)); got {
		t.Error("a refused detail reported as respelled")
	}
}

func TestMatchAll(t *testing.T) {
	for _, c := range []struct {
		h    string
		k    int
		want bool
	}{
		{"", 0, false}, {"0", 0, true}, {"0", 1, false}, {"1,3", 3, true}, {"1,3", 2, false}, {"x", 5, true},
	} {
		if got := MatchAll(c.h, c.k); got != c.want {
			t.Errorf("MatchAll(%q, %d) = %v", c.h, c.k, got)
		}
	}
}

// respelledRef is CheckDetailPaths's second answer computed plainly, for a
// detail CheckDetail accepts: decode every object and compare its keys in
// pairs.
func respelledRef(b []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return false
		}
		found := false
		if d == '[' {
			for dec.More() {
				found = walk() || found
			}
			dec.Token()
			return found
		}
		var keys []string
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			found = walk() || found
		}
		dec.Token()
		for _, k := range keys {
			for _, o := range keys {
				if !strings.Contains(k, ".") && strings.HasPrefix(o, k+".") {
					return true
				}
			}
		}
		return found
	}
	return walk()
}
