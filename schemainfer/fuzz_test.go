package schemainfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFromEvent: any input is an error or a schema whose document is valid
// JSON, survives FromOpenAPI unchanged, exports to draft 4, and absorbs its
// own event without change.
func FuzzFromEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/events/*.json")
	aws, _ := filepath.Glob("testdata/aws/*.event.json")
	for _, p := range append(files, aws...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(event(`{"a":[[],[{}],[{"b":null}]],"c":1e400,"d":-0,"e":"\u00e9\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := FromEvent(data)
		if errors.Is(err, ErrNotEvent) {
			// Not an envelope: GetDiscoveredSchema's generic inference.
			s, err = FromJSON(data)
		}
		if err != nil {
			return
		}
		doc := s.OpenAPI()
		if !json.Valid(doc) {
			t.Fatalf("invalid document %s", doc)
		}
		back, err := FromOpenAPI(doc)
		if err != nil {
			t.Fatalf("FromOpenAPI(own document): %v\n%s", err, doc)
		}
		if got := back.OpenAPI(); !bytes.Equal(got, doc) {
			t.Fatalf("round trip differs:\n got %s\nwant %s", got, doc)
		}
		if back.Merge(s) {
			t.Fatalf("merging its own event changed %s", doc)
		}
		if _, err := ToJSONSchemaDraft4(doc); err != nil {
			t.Fatalf("ToJSONSchemaDraft4: %v", err)
		}
	})
}
