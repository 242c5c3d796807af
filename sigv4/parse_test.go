package sigv4

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Authorization
		err  string
	}{
		{in: "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
			want: Authorization{Algorithm: Algorithm, Credential: "AKID/20261206/us-east-1/events/aws4_request", SignedHeaders: "host;x-amz-date", Signature: "abc"}},
		// Commas alone, blanks alone, any order, unknown parameters.
		{in: "AWS4-HMAC-SHA256 Signature=abc,Credential=c,Foo=bar,SignedHeaders=host",
			want: Authorization{Algorithm: Algorithm, Credential: "c", SignedHeaders: "host", Signature: "abc"}},
		{in: "AWS4-HMAC-SHA256 Credential=c SignedHeaders=host Signature=abc",
			want: Authorization{Algorithm: Algorithm, Credential: "c", SignedHeaders: "host", Signature: "abc"}},
		// The first of a repeated parameter counts.
		{in: "AWS4-HMAC-SHA256 Credential=a, Credential=b", want: Authorization{Algorithm: Algorithm, Credential: "a"}},
		// A value may hold "=" (base64 never does here, but nothing forbids it).
		{in: "AWS4-HMAC-SHA256 Signature=a=b", want: Authorization{Algorithm: Algorithm, Signature: "a=b"}},
		{in: "AWS4-HMAC-SHA256", want: Authorization{Algorithm: Algorithm}},
		{in: "Bearer abc", want: Authorization{Algorithm: "Bearer"}},
		{in: "", want: Authorization{}},
		{in: "AWS4-HMAC-SHA256 Credential", err: "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential'."},
		{in: "AWS4-X", err: "Unsupported AWS 'algorithm': 'AWS4-X'."},
	} {
		got, err := ParseAuthorization(tt.in)
		if tt.err != "" {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeIncompleteSignature || e.Message != tt.err {
				t.Errorf("ParseAuthorization(%q) = %+v, %v; want %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || *got != tt.want {
			t.Errorf("ParseAuthorization(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseQuery(t *testing.T) {
	a, err := ParseQuery("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261206%2Fus-east-1%2Fevents%2Faws4_request" +
		"&X-Amz-Date=20261206T001500Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Security-Token=a%2Bb%3D&X-Amz-Signature=abc&other=1")
	want := Authorization{Algorithm: Algorithm, Credential: "AKID/20261206/us-east-1/events/aws4_request", SignedHeaders: "host",
		Signature: "abc", Presigned: true, Date: "20261206T001500Z", Expires: "300", SecurityToken: "a+b="}
	if err != nil || *a != want {
		t.Errorf("ParseQuery = %+v, %v; want %+v", a, err, want)
	}
	if a, err := ParseQuery("a=1&b=2"); a != nil || err != nil {
		t.Errorf("ParseQuery of an unsigned query = %+v, %v", a, err)
	}
	if _, err := ParseQuery("X-Amz-Algorithm=%zz"); err == nil {
		t.Error("ParseQuery took a bad escape")
	}
}

// FuzzParseAuthorization: the parser never panics, and what it reads is
// what a header written from it reads back as.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/events/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		"AWS4-HMAC-SHA256 Credential= AKID/20261206/us-east-1/events/aws4_request, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=a,Credential=b,,, Signature==",
		"AWS AKIDEXAMPLE:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=",
		"AWS4-HMAC-SHA512 Credential=x",
		" AWS4-HMAC-SHA256\tCredential=x",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeIncompleteSignature || e.Message == "" {
				t.Fatalf("error %v is not an IncompleteSignatureException", err)
			}
			return
		}
		if a.Algorithm != Algorithm {
			if a.Credential != "" || a.SignedHeaders != "" || a.Signature != "" {
				t.Fatalf("parameters read from a %q header: %+v", a.Algorithm, a)
			}
			return
		}
		for _, v := range []string{a.Credential, a.SignedHeaders, a.Signature} {
			if strings.ContainsAny(v, ", \t") {
				t.Fatalf("a value holds a separator: %+v", a)
			}
		}
		again := Algorithm + " Credential=" + a.Credential + ", SignedHeaders=" + a.SignedHeaders + ", Signature=" + a.Signature
		b, err := ParseAuthorization(again)
		if err != nil || *b != *a {
			t.Fatalf("%q reads as %+v, written back as %q it reads as %+v, %v", h, a, again, b, err)
		}
	})
}

// FuzzParseQuery: the query parser never panics; the canonical query it
// builds is stable (it reads back as itself) and keeps every parameter but
// a presigned URL's signature.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261206%2Fus-east-1%2Fevents%2Faws4_request&X-Amz-Date=20261206T001500Z&X-Amz-Expires=300&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature=00",
		"b=2&a=1&a=0&c=x%2Fy&d=e+f&e=%E2%82%AC&f",
		"a=%yy",
		"&&=&==",
		"%E2%82",
		"X-Amz-Algorithm",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := parseQuery(raw)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeMalformedQueryString {
				t.Fatalf("error %v is not a MalformedQueryString", err)
			}
			return
		}
		a := presignedFrom(params)
		c := canonicalQuery(params, a != nil)
		again, err := parseQuery(c)
		if err != nil {
			t.Fatalf("canonical query %q of %q does not parse: %v", c, raw, err)
		}
		if c2 := canonicalQuery(again, false); c2 != c {
			t.Fatalf("canonical query %q of %q reads back as %q", c, raw, c2)
		}
		kept := 0
		for _, p := range params {
			if a == nil || p.key != "X-Amz-Signature" {
				kept++
			}
		}
		if len(again) != kept {
			t.Fatalf("%q: %d parameters kept of %d", raw, len(again), kept)
		}
	})
}
