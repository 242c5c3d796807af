package schemainfer

import (
	"encoding/json"
	"os"
	"testing"
)

// typicalEvent is a 2 KB event of the kind discovery sees most: an order
// with a customer, lines and a few scalars of every type.
func typicalEvent(b *testing.B) []byte {
	data, err := os.ReadFile("testdata/bench/order-2k.json")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkFromEventMerge is the discovery hot path: infer an event and
// merge it into the schema kept for its source and detail-type (unchanged,
// the common case once a schema is known).
func BenchmarkFromEventMerge(b *testing.B) {
	ev := typicalEvent(b)
	known, err := FromEvent(ev)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := FromEvent(ev)
		if err != nil {
			b.Fatal(err)
		}
		if known.Merge(s) {
			b.Fatal("changed")
		}
	}
}

func BenchmarkFromEvent(b *testing.B) {
	ev := typicalEvent(b)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromEvent(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenAPI(b *testing.B) {
	s, err := FromEvent(typicalEvent(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.OpenAPI()
	}
}

// BenchmarkDecodeAny is the yardstick: decoding the same event with
// encoding/json into interface values, which inference does not need to do.
func BenchmarkDecodeAny(b *testing.B) {
	ev := typicalEvent(b)
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := json.Unmarshal(ev, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeChanged is a merge that adds a field: the path of a new
// schema version.
func BenchmarkMergeChanged(b *testing.B) {
	ev := typicalEvent(b)
	known, _ := FromEvent(ev)
	extra, err := FromEvent([]byte(`{"source":"com.example.orders","detail-type":"Order Placed","detail":{"newField":1}}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := &Schema{}
		s.Merge(known)
		if !s.Merge(extra) {
			b.Fatal("not changed")
		}
	}
}

// BenchmarkMerge is Merge alone, of an event's schema that changes nothing.
func BenchmarkMerge(b *testing.B) {
	ev := typicalEvent(b)
	known, _ := FromEvent(ev)
	s, _ := FromEvent(ev)
	b.ReportAllocs()
	for b.Loop() {
		if known.Merge(s) {
			b.Fatal("changed")
		}
	}
}
