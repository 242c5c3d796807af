package jsontext

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanString(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string // from an opening quote
		end  int
		esc  bool
		err  error // when set, end is the offset of the fault
	}{
		{"empty", `""`, 2, false, nil},
		{"plain", `"abc"`, 5, false, nil},
		{"stops at its quote", `"a":"b"`, 3, false, nil},
		{"utf-8", `"café ☕ 😀"`, len(`"café ☕ 😀"`), false, nil},
		{"invalid utf-8 passes", "\"\xff\xc3(\xed\xa0\x80\"", 8, false, nil},
		{"DEL passes", "\"\x7f\"", 3, false, nil},
		{"quote escape", `"a\"b"`, 6, true, nil},
		{"every short escape", `"\"\\\/\b\f\n\r\t"`, 18, true, nil},
		{"escape last", `"ab\\"`, 6, true, nil},
		{"unicode escape", `"\u00e9"`, 8, true, nil},
		{"unicode escape upper case", `"\u00E9\uABCD"`, 14, true, nil},
		{"surrogate pair", `"\ud83d\ude00"`, 14, true, nil},
		{"lone high surrogate", `"\ud800"`, 8, true, nil},
		{"lone low surrogate", `"\udc00x"`, 9, true, nil},
		{"reversed pair", `"\ude00\ud83d"`, 14, true, nil},
		{"escaped NUL", `"\u0000"`, 8, true, nil},

		{"unterminated empty", `"`, 1, false, ErrUnterminated},
		{"unterminated", `"abc`, 4, false, ErrUnterminated},
		{"escaped closing quote", `"abc\"`, 6, false, ErrUnterminated},
		{"cut after backslash", `"abc\`, 4, false, ErrUnterminated},
		{"bad escape", `"a\x"`, 2, false, ErrBadEscape},
		{"upper case short escape", `"\N"`, 1, false, ErrBadEscape},
		{"escaped apostrophe", `"\'"`, 1, false, ErrBadEscape},
		{"short unicode escape", `"\u12"`, 1, false, ErrBadUnicodeEscape},
		{"cut unicode escape", `"ab\u12`, 3, false, ErrBadUnicodeEscape},
		{"bad hex digit", `"\u12g4"`, 1, false, ErrBadUnicodeEscape},
		{"upper case U", `"\U0041"`, 1, false, ErrBadEscape},
		{"bad second of pair", `"\ud83d\uzzzz"`, 7, false, ErrBadUnicodeEscape},
		{"NUL", "\"a\x00\"", 2, false, ErrControlChar},
		{"newline", "\"a\nb\"", 2, false, ErrControlChar},
		{"tab", "\"\t\"", 1, false, ErrControlChar},
		{"unit separator", "\"\x1f\"", 1, false, ErrControlChar},
		{"control after escape", "\"\\n\x01\"", 3, false, ErrControlChar},
	} {
		t.Run(c.name, func(t *testing.T) {
			end, esc, err := ScanString([]byte(c.in), 0)
			if end != c.end || esc != c.esc || err != c.err {
				t.Errorf("ScanString(%q) = %d, %v, %v; want %d, %v, %v", c.in, end, esc, err, c.end, c.esc, c.err)
			}
			// The same string further into a buffer.
			pre := `{"k":`
			end, esc, err = ScanString([]byte(pre+c.in), len(pre))
			if end != c.end+len(pre) || esc != c.esc || err != c.err {
				t.Errorf("ScanString(%q, %d) = %d, %v, %v; want %d, %v, %v", pre+c.in, len(pre), end, esc, err, c.end+len(pre), c.esc, c.err)
			}
		})
	}
}

func TestAppendUnescaped(t *testing.T) {
	for _, c := range []struct {
		name string
		raw  string // a string body, as between the quotes
		want string
	}{
		{"empty", ``, ""},
		{"plain", `abc`, "abc"},
		{"utf-8", `café ☕ 😀`, "café ☕ 😀"},
		{"invalid utf-8 copied", "a\xff\xed\xa0\x80b", "a\xff\xed\xa0\x80b"},
		{"short escapes", `\"\\\/\b\f\n\r\t`, "\"\\/\b\f\n\r\t"},
		{"escapes among text", `say \"hi\"\nbye`, "say \"hi\"\nbye"},
		{"backslash before u", `\\u0041`, `\u0041`},
		{"unicode escape", `caf\u00e9`, "café"},
		{"upper case hex", `\u00E9\u00c9`, "éÉ"},
		{"ascii by escape", `\u0041\u007a`, "Az"},
		{"escaped NUL", `\u0000`, "\x00"},
		{"escaped controls", `\u0001\u001f`, "\x01\x1f"},
		{"three-byte", `\u2603`, "☃"},
		{"BMP top", `\uffff`, "\uffff"},
		{"escaped replacement char", `\ufffd`, "\ufffd"},
		{"surrogate pair", `\ud83d\ude00`, "😀"},
		{"surrogate pair upper case", `\uD83D\uDE00`, "😀"},
		{"highest pair", `\udbff\udfff`, "\U0010ffff"},
		{"lowest pair", `\ud800\udc00`, "\U00010000"},
		{"pair among text", `a\ud83d\ude00b`, "a😀b"},
		{"two pairs", `\ud83d\ude00\ud83d\ude01`, "😀😁"},
		{"lone high surrogate", `\ud800`, "\ufffd"},
		{"lone high surrogate then text", `\ud800abc`, "\ufffdabc"},
		{"lone low surrogate", `\udc00`, "\ufffd"},
		{"reversed pair", `\ude00\ud83d`, "\ufffd\ufffd"},
		{"two high surrogates", `\ud83d\ud83d\ude00`, "\ufffd😀"},
		{"high surrogate then BMP escape", `\ud83d\u0041`, "\ufffdA"},
		{"high surrogate then short escape", `\ud83d\n`, "\ufffd\n"},
		{"high surrogate then escaped backslash", `\ud83d\\ude00`, "\ufffd\\ude00"},
		{"high surrogate then literal low", "\\ud83d\xed\xb8\x80", "\ufffd\xed\xb8\x80"},
		{"high surrogate at the end, cut pair", `\ud83d\u`, "\ufffd\\u"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := AppendUnescaped(nil, []byte(c.raw)); string(got) != c.want {
				t.Errorf("AppendUnescaped(%q) = %q; want %q", c.raw, got, c.want)
			}
			// It appends to what dst holds.
			if got := AppendUnescaped([]byte("x:"), []byte(c.raw)); string(got) != "x:"+c.want {
				t.Errorf("AppendUnescaped(x:, %q) = %q; want %q", c.raw, got, "x:"+c.want)
			}
			// Bodies that scan decode as encoding/json decodes them.
			q := []byte(`"` + c.raw + `"`)
			if end, _, err := ScanString(q, 0); err == nil && end == len(q) && utf8.ValidString(c.raw) {
				var s string
				if err := json.Unmarshal(q, &s); err != nil || s != c.want {
					t.Errorf("encoding/json decodes %s to %q, %v; the table says %q", q, s, err, c.want)
				}
			}
		})
	}
}

// TestAppendUnescapedMalformed: bodies that ScanString rejects give some
// result but no panic.
func TestAppendUnescapedMalformed(t *testing.T) {
	for _, raw := range []string{`\`, `a\`, `\u`, `\u1`, `\u12`, `\u123`, `\x`, `\uzzzz`, `\ud83d\uzz`, `\ud83d\`, `\ud83d\u12`, `\U0041`, "\\ud83d\\uD8\x00\x00"} {
		AppendUnescaped(nil, []byte(raw))
	}
}

func TestHex(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
		v  rune
	}{
		{"0000", true, 0},
		{"0041", true, 'A'},
		{"abcd", true, 0xabcd},
		{"ABCD", true, 0xabcd},
		{"fFfF", true, 0xffff},
		{"09af", true, 0x09af},
		{"000g", false, 0},
		{"G000", false, 0},
		{"00 1", false, 0},
		{"-001", false, 0},
		{"0x01", false, 0},
		{"00/0", false, 0}, // '/' is just below '0'
		{"00:0", false, 0}, // ':' just above '9'
		{"00@0", false, 0}, // '@' just below 'A'
		{"00`0", false, 0}, // '`' just below 'a'
	} {
		if ok := isHex4([]byte(c.in)); ok != c.ok {
			t.Errorf("isHex4(%q) = %v; want %v", c.in, ok, c.ok)
		}
		if c.ok {
			if v := hex4([]byte(c.in)); v != c.v {
				t.Errorf("hex4(%q) = %#x; want %#x", c.in, v, c.v)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	valid := []byte(`"caf\u00e9 \"quoted\" \ud83d\ude00 \ud800 tab\tend"`)
	bad := []byte(`"caf\u00e9 \q"`)
	dst := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() {
		end, esc, err := ScanString(valid, 0)
		if err != nil || !esc || end != len(valid) {
			t.Fatal(end, esc, err)
		}
		dst = AppendUnescaped(dst[:0], valid[1:end-1])
		if _, _, err := ScanString(bad, 0); err != ErrBadEscape {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
	if string(dst) != "café \"quoted\" 😀 \ufffd tab\tend" {
		t.Errorf("decoded %q", dst)
	}
}

// FuzzString holds ScanString and AppendUnescaped to encoding/json: a
// quoted body scans to its end exactly when encoding/json finds it valid,
// and then decodes to what encoding/json decodes (invalid UTF-8 replaced,
// as encoding/json replaces it, before comparing); the faults reported
// stand where they say. AppendUnescaped is also run, for panics, on bodies
// that do not scan.
func FuzzString(f *testing.F) {
	for _, s := range []string{
		``, `abc`, `café`, `\"\\\/\b\f\n\r\t`, `\u00e9`, `\ud83d\ude00`, `\ud800`, `\udc00`,
		`\ude00\ud83d`, `\ud83d\ud83d\ude00`, `\ud83d\u0041`, `\ud83d\n`, "\xff\xed\xa0\x80",
		"\\u00e9\xa9", "\xc3\\u00a9", `\u0000`, "\x00", "\x1f", "\x7f", `\x`, `\u12`, `\`, `"`, `a"b`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		AppendUnescaped(nil, body)
		q := make([]byte, 0, len(body)+2)
		q = append(append(append(q, '"'), body...), '"')
		end, esc, err := ScanString(q, 0)
		// ScanKey agrees, and notes the raw dots up to the end.
		kend, kesc, kdot, kerr := ScanKey(q, 0)
		if kend != end || kesc != esc || kerr != err || kdot != (err == nil && bytes.IndexByte(q[:end], '.') >= 0) {
			t.Fatalf("%q: ScanKey %d %v %v %v, ScanString %d %v %v", q, kend, kesc, kdot, kerr, end, esc, err)
		}
		whole := err == nil && end == len(q)
		if valid := json.Valid(q); valid != whole {
			t.Fatalf("%q: encoding/json says valid %v; ScanString gives %d, %v (of %d bytes)", q, valid, end, err, len(q))
		}
		if err != nil {
			if end < 1 || end > len(q) {
				t.Fatalf("%q: fault %v at %d, out of range", q, err, end)
			}
			var ok bool
			switch err {
			case ErrUnterminated:
				ok = end == len(q) || end == len(q)-1 && q[end] == '\\'
			case ErrBadEscape:
				ok = q[end] == '\\' && !strings.ContainsRune(`"\/bfnrtu`, rune(q[end+1]))
			case ErrBadUnicodeEscape:
				ok = q[end] == '\\' && q[end+1] == 'u'
			case ErrControlChar:
				ok = q[end] < 0x20
			}
			if !ok {
				t.Fatalf("%q: fault %v does not stand at %d", q, err, end)
			}
			return
		}
		// Scanned up to a quote inside body, or to the end.
		str := q[1 : end-1]
		if esc != (bytes.IndexByte(str, '\\') >= 0) {
			t.Fatalf("%q: esc = %v", q, esc)
		}
		var want string
		if err := json.Unmarshal(q[:end], &want); err != nil {
			t.Fatalf("%q: ScanString accepts %q, encoding/json does not: %v", q, q[:end], err)
		}
		got := AppendUnescaped(nil, str)
		if !esc && !bytes.Equal(got, str) {
			t.Fatalf("%q: no escapes, but decoded to %q", q, got)
		}
		if fixed := string([]rune(string(got))); fixed != want {
			t.Fatalf("%q: decoded %q (%q once repaired); encoding/json %q", q, got, fixed, want)
		}
	})
}

func TestCompacted(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{`{"a":1,"b":[true,null,"x y"]}`, true},
		{`{"detail-type":"Scheduled Event","detail":{}}`, true},
		{`{"a": 1}`, false},
		{"{\"a\":1\n}", false},
		{"[1,\t2]", false},
		{"\r\n{}", false},
		{`{"a":"\"","b": 2}`, false},
		{`{"a":"\\","b": 2}`, false},
		{`{"a":"\\\" ","b":2}`, true},
		{`{"a":"\\\\"," b":2}`, true},
		{`"x"`, true},
		{`" "`, true},
		{` 1`, false},
	} {
		if got := Compacted([]byte(c.in)); got != c.want {
			t.Errorf("Compacted(%s) = %v, want %v", c.in, got, c.want)
		}
	}
}

// FuzzCompacted holds Compacted to encoding/json: for valid JSON it says
// true exactly when json.Compact leaves the text as it is.
func FuzzCompacted(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": "b c"}`, `["\\\"", 1]`, `{"a":"\\"}`, "[\n]", `"\u0020"`, ` {}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			Compacted(b) // must not panic
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		if want := bytes.Equal(c.Bytes(), b); Compacted(b) != want {
			t.Fatalf("Compacted(%q) = %v, json.Compact gives %q", b, !want, c.Bytes())
		}
	})
}

func BenchmarkCompacted(b *testing.B) {
	env := []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Order Placed","source":"com.example.orders","account":"123456789012","time":"2026-12-07T09:00:00Z","region":"us-east-1","resources":["arn:aws:orders:us-east-1:123456789012:order/1"],"detail":{"orderId":"o-1","customer":{"id":"c-9","tier":"gold"},"items":[{"sku":"A-1","qty":2,"price":9.99},{"sku":"B-7","qty":1,"price":24.5}],"note":"leave at the door \"please\""}}`)
	b.Run("Compacted", func(b *testing.B) {
		b.SetBytes(int64(len(env)))
		for b.Loop() {
			if !Compacted(env) {
				b.Fatal("not compact")
			}
		}
	})
	b.Run("json.Compact", func(b *testing.B) {
		b.SetBytes(int64(len(env)))
		var c bytes.Buffer
		for b.Loop() {
			c.Reset()
			if err := json.Compact(&c, env); err != nil {
				b.Fatal(err)
			}
		}
	})
}
