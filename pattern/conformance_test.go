package pattern

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// conformanceCase is one expectation from testdata/conformance. The files
// are shared with the matcher's tests, which run the same cases against the
// compiled Matcher, so the shape of this type and loadConformance are
// stable.
type conformanceCase struct {
	File string // base name of the file the case comes from
	Name string // unique within the file
	// Pattern is the pattern text exactly as given to Parse.
	Pattern []byte
	// Error, when not empty, is the exact text Parse's error must have;
	// such cases have no event.
	Error string
	// Event is the event to match, nil when the case only checks Parse.
	Event []byte
	// Match is whether the pattern matches Event.
	Match bool
	// EventError is set when Event is not a valid event (not JSON, or not
	// an object): matching must return an error.
	EventError bool
}

// conformanceFile is the JSON form of one entry of a conformance file:
//
//	{"name": "...", "doc": "where the expectation comes from",
//	 "pattern": {...} | "patternText": "raw text, possibly invalid JSON",
//	 "error": "Event pattern is not valid. Reason: ..."
//	 | "matches": [event, ...], "nonMatches": [event, ...],
//	   "badEvents": ["raw text", ...]}
type conformanceFile struct {
	Name        string            `json:"name"`
	Doc         string            `json:"doc"`
	Pattern     json.RawMessage   `json:"pattern"`
	PatternText *string           `json:"patternText"`
	Error       string            `json:"error"`
	Matches     []json.RawMessage `json:"matches"`
	NonMatches  []json.RawMessage `json:"nonMatches"`
	BadEvents   []string          `json:"badEvents"`
}

// loadConformance reads every case under testdata/conformance, in a stable
// order. It fails the test on malformed files or duplicate names.
func loadConformance(t testing.TB) []conformanceCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "conformance", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []conformanceCase
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var entries []conformanceFile
		if err := json.Unmarshal(data, &entries); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		base := filepath.Base(file)
		seen := map[string]bool{}
		for i, e := range entries {
			if e.Name == "" || seen[e.Name] {
				t.Fatalf("%s: entry %d: missing or duplicate name %q", file, i, e.Name)
			}
			seen[e.Name] = true
			var src []byte
			switch {
			case e.PatternText != nil && e.Pattern == nil:
				src = []byte(*e.PatternText)
			case e.PatternText == nil && e.Pattern != nil:
				src = []byte(e.Pattern)
			default:
				t.Fatalf("%s: %s: exactly one of pattern and patternText is required", file, e.Name)
			}
			if e.Error != "" {
				if len(e.Matches)+len(e.NonMatches)+len(e.BadEvents) != 0 {
					t.Fatalf("%s: %s: an error case has no events", file, e.Name)
				}
				out = append(out, conformanceCase{File: base, Name: e.Name, Pattern: src, Error: e.Error})
				continue
			}
			if len(e.Matches)+len(e.NonMatches)+len(e.BadEvents) == 0 {
				out = append(out, conformanceCase{File: base, Name: e.Name, Pattern: src})
			}
			for j, ev := range e.Matches {
				out = append(out, conformanceCase{File: base, Name: e.Name + "/match" + strconv.Itoa(j),
					Pattern: src, Event: []byte(ev), Match: true})
			}
			for j, ev := range e.NonMatches {
				out = append(out, conformanceCase{File: base, Name: e.Name + "/nomatch" + strconv.Itoa(j),
					Pattern: src, Event: []byte(ev)})
			}
			for j, ev := range e.BadEvents {
				out = append(out, conformanceCase{File: base, Name: e.Name + "/badevent" + strconv.Itoa(j),
					Pattern: src, Event: []byte(ev), EventError: true})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no conformance cases found")
	}
	return out
}

func TestConformance(t *testing.T) {
	for _, c := range loadConformance(t) {
		t.Run(c.File+"/"+c.Name, func(t *testing.T) {
			p, err := Parse(c.Pattern)
			if c.Error != "" {
				if err == nil {
					t.Fatalf("Parse(%s) accepted; want error %q", c.Pattern, c.Error)
				}
				if err.Error() != c.Error {
					t.Fatalf("Parse(%s) error:\n got %q\nwant %q", c.Pattern, err.Error(), c.Error)
				}
				var pe *Error
				var le *LengthError
				if !errors.As(err, &pe) && !errors.As(err, &le) {
					t.Fatalf("error type %T", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%s): %v", c.Pattern, err)
			}
			if c.Event == nil {
				return
			}
			got, err := referenceMatch(p, c.Event)
			if c.EventError {
				if err == nil {
					t.Fatalf("referenceMatch accepted bad event %s", c.Event)
				}
				return
			}
			if err != nil {
				t.Fatalf("referenceMatch(%s): %v", c.Event, err)
			}
			if got != c.Match {
				t.Fatalf("pattern %s\nevent %s\nmatch = %v, want %v", c.Pattern, c.Event, got, c.Match)
			}
		})
	}
}
