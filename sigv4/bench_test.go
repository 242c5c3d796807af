package sigv4

import (
	"strings"
	"testing"
)

// BenchmarkVerify verifies a signed PutEvents request of 10 entries of
// 256-byte Detail (about the load generator's request), header form.
func BenchmarkVerify(b *testing.B) {
	payload := `{"Entries":[` + strings.Repeat(`{"Source":"bench.switchyard","DetailType":"Bench Event","Detail":"{\"pad\":\"`+strings.Repeat("x", 240)+`\"}"},`, 9) +
		`{"Source":"bench.switchyard","DetailType":"Bench Event","Detail":"{}"}]}`
	r := signHeader(b, signing{payload: payload})
	v := newVerifier()
	data := []byte(payload)
	if _, err := v.Verify(r, data); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPresigned is the query form of the same request.
func BenchmarkVerifyPresigned(b *testing.B) {
	r := presign(b, signing{})
	v := newVerifier()
	data := []byte(body)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, data); err != nil {
			b.Fatal(err)
		}
	}
}
