package schemacheck

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/schemainfer"
)

const openapiDoc = `{"openapi":"3.0.0","info":{"version":"1.0.0","title":"Order"},"paths":{},
"components":{"schemas":{
 "AWSEvent":{"type":"object","required":["detail","source","detail-type","time"],
  "properties":{"detail":{"$ref":"#/components/schemas/Order"},"source":{"type":"string","enum":["shop"]},"detail-type":{"type":"string"},"time":{"type":"string","format":"date-time"}}},
 "Order":{"type":"object","required":["id","lines"],"properties":{
  "id":{"type":"string","pattern":"^o-[0-9]+$"},
  "note":{"type":"string","nullable":true},
  "total":{"type":"number","minimum":0},
  "lines":{"type":"array","minItems":1,"items":{"$ref":"#/components/schemas/Line"}}}},
 "Line":{"type":"object","required":["qty"],"properties":{"qty":{"type":"integer"}}}}}}`

const draft4Doc = `{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","required":["detail"],
"definitions":{"D":{"type":"object","properties":{"n":{"type":"integer","maximum":10}},"required":["n"]}},
"properties":{"detail":{"$ref":"#/definitions/D"}}}`

func TestCheckContent(t *testing.T) {
	for _, tc := range []struct {
		name, content, typ string
		want               string // substring of the message; "" accepts
	}{
		{"openapi ok", openapiDoc, OpenAPI3, ""},
		{"draft4 ok", draft4Doc, JSONSchemaDraft4, ""},
		{"draft4 without $schema", `{"type":"object"}`, JSONSchemaDraft4, ""},
		{"bad type", `{}`, "Avro", "Value 'Avro' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [OpenApi3, JSONSchemaDraft4]"},
		{"empty", ``, OpenAPI3, "Member must have length between 1 and 100000"},
		{"too long", `{"type":"object","description":"` + strings.Repeat("x", MaxContentLength) + `"}`, JSONSchemaDraft4, "Member must have length between 1 and 100000"},
		{"not json", `{"openapi":`, OpenAPI3, "Invalid OpenApi3 content: not valid JSON"},
		{"array", `[]`, JSONSchemaDraft4, "the document must be a JSON object"},
		{"no openapi", `{"info":{"title":"a","version":"1"}}`, OpenAPI3, "attribute openapi is missing"},
		{"openapi 2", `{"openapi":"2.0","info":{"title":"a","version":"1"}}`, OpenAPI3, `openapi must be a 3.x.x version string, not "2.0"`},
		{"swagger number", `{"openapi":3,"info":{"title":"a","version":"1"}}`, OpenAPI3, "not 3"},
		{"no info", `{"openapi":"3.0.0"}`, OpenAPI3, "attribute info is missing"},
		{"info title", `{"openapi":"3.0.0","info":{"version":"1"}}`, OpenAPI3, "info.title is missing"},
		{"paths array", `{"openapi":"3.0.0","info":{"title":"a","version":"1"},"paths":[]}`, OpenAPI3, "attribute paths is not of type object"},
		{"component not object", `{"openapi":"3.0.0","info":{"title":"a","version":"1"},"components":{"schemas":{"A":1}}}`, OpenAPI3, "components.schemas.A is not a schema object"},
		{"bad keyword", `{"openapi":"3.0.0","info":{"title":"a","version":"1"},"components":{"schemas":{"AWSEvent":{"type":"object"},"B":{"type":"strin"}}}}`, OpenAPI3, "at /components/schemas/B/type"},
		{"dangling ref", `{"openapi":"3.0.0","info":{"title":"a","version":"1"},"components":{"schemas":{"AWSEvent":{"$ref":"#/components/schemas/Nope"}}}}`, OpenAPI3, "Invalid OpenApi3 content"},
		{"draft4 bad required", `{"type":"object","required":"x"}`, JSONSchemaDraft4, "at /required"},
		{"draft7 compiled as draft 4", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","required":["a"]}`, JSONSchemaDraft4, ""},
		{"$schema not a string", `{"$schema":4}`, JSONSchemaDraft4, "$schema must be a string, not 4"},
		// The content of the AWS CLI's create-schema example for
		// JSONSchemaDraft4, which AWS accepted (its output is the new
		// schema): an event, whose keys draft 4 mostly ignores.
		{"AWS CLI example", string(mustRead("testdata/cli-create-schema-draft4.json")), JSONSchemaDraft4, ""},
		{"AWS CLI tutorial content", `{"type":"object","properties":{"id":{"type":"integer"}}}`, JSONSchemaDraft4, ""},
		{"AWS CLI OpenApi3 Event", `{"openapi":"3.0.0","info":{"version":"1.0.0","title":"Event"},"paths":{},"components":{"schemas":{"Event":{"type":"object","required":["something"],"properties":{"something":{"type":"string"}}}}}}`, OpenAPI3, ""},
		{"file ref", `{"$ref":"file:///etc/passwd"}`, JSONSchemaDraft4, "references outside the document are not supported"},
		{"http ref", `{"properties":{"a":{"$ref":"http://127.0.0.1:1/x.json"}}}`, JSONSchemaDraft4, "references outside the document are not supported"},
		{"bad pattern", `{"type":"string","pattern":"(?<=a)b"}`, JSONSchemaDraft4, "Invalid JSONSchemaDraft4 content"},
		{"deep", strings.Repeat(`{"items":`, 9000) + "{}" + strings.Repeat("}", 9000), JSONSchemaDraft4, "nested deeper than 64 levels"},
		{"deep but allowed", strings.Repeat(`{"items":`, 63) + "{}" + strings.Repeat("}", 63), JSONSchemaDraft4, ""},
		{"brackets in strings", `{"description":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"{{{{"}`, JSONSchemaDraft4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckContent([]byte(tc.content), tc.typ)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *ContentError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want a *ContentError", err, err)
			}
			if !strings.Contains(ce.Message, tc.want) {
				t.Errorf("message %q lacks %q", ce.Message, tc.want)
			}
			if strings.Contains(ce.Message, docURL) {
				t.Errorf("message %q names the internal URL", ce.Message)
			}
		})
	}
}

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

func TestValidate(t *testing.T) {
	oa, err := Compile([]byte(openapiDoc), OpenAPI3)
	if err != nil {
		t.Fatal(err)
	}
	d4, err := Compile([]byte(draft4Doc), JSONSchemaDraft4)
	if err != nil {
		t.Fatal(err)
	}
	env := func(detail string) string {
		return `{"source":"shop","detail-type":"Order","time":"2026-12-07T01:00:00Z","detail":` + detail + `}`
	}
	for _, tc := range []struct {
		name  string
		v     *Validator
		event string
		want  []Problem // nil: valid
	}{
		{"valid", oa, env(`{"id":"o-1","lines":[{"qty":1}],"note":null,"total":3.5}`), nil},
		{"missing field", oa, env(`{"lines":[{"qty":1}]}`), []Problem{{"/detail", "missing property 'id'"}}},
		{"wrong type deep", oa, env(`{"id":"o-1","lines":[{"qty":1},{"qty":"2"}]}`), []Problem{{"/detail/lines/1/qty", "got string, want integer"}}},
		{"pattern", oa, env(`{"id":"x","lines":[{"qty":1}]}`), []Problem{{"/detail/id", "'x' does not match pattern '^o-[0-9]+$'"}}},
		{"nullable refused where not", oa, env(`{"id":"o-1","lines":[{"qty":1}],"total":null}`), []Problem{{"/detail/total", "got null, want number"}}},
		{"minItems and enum", oa, `{"source":"other","detail-type":"Order","time":"2026-12-07T01:00:00Z","detail":{"id":"o-1","lines":[]}}`,
			[]Problem{{"/detail/lines", "minItems: got 0, want 1"}, {"/source", "value must be 'shop'"}}},
		{"date-time", oa, `{"source":"shop","detail-type":"Order","time":"yesterday","detail":{"id":"o-1","lines":[{"qty":1}]}}`, []Problem{{"/time", "'yesterday' is not valid date-time: less than 20 characters long"}}},
		{"draft4 valid", d4, `{"detail":{"n":3}}`, nil},
		{"draft4 maximum", d4, `{"detail":{"n":11}}`, []Problem{{"/detail/n", "maximum: got 11, want 10"}}},
		{"root type", d4, `[]`, []Problem{{"", "got array, want object"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate([]byte(tc.event))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if len(ve.Problems) != len(tc.want) {
				t.Fatalf("problems = %#v, want %#v", ve.Problems, tc.want)
			}
			for i, p := range tc.want {
				if ve.Problems[i] != p {
					t.Errorf("problem %d = %#v, want %#v", i, ve.Problems[i], p)
				}
			}
		})
	}
	if err := oa.Validate([]byte(`{"a":`)); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("not JSON: %v", err)
	}
}

// TestDiscoveredSchemasValidateTheirEvents: the document discovery stores
// is accepted by CreateSchema and validates the events it came from, and
// its draft 4 export does too.
func TestDiscoveredSchemasValidateTheirEvents(t *testing.T) {
	for _, f := range []string{"../schemainfer/testdata/events/alltypes.json", "../schemainfer/testdata/events/stepfunctions.json", "../schemainfer/testdata/bench/order-2k.json"} {
		ev, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := schemainfer.FromEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		doc := s.OpenAPI()
		v, err := Compile(doc, OpenAPI3)
		if err != nil {
			t.Fatalf("%s: discovered document refused: %v", f, err)
		}
		if err := v.Validate(ev); err != nil {
			t.Errorf("%s: own event: %v", f, err)
		}
		d4, _ := schemainfer.ToJSONSchemaDraft4(doc)
		v4, err := Compile(d4, JSONSchemaDraft4)
		if err != nil {
			t.Fatalf("%s: export refused: %v", f, err)
		}
		if err := v4.Validate(ev); err != nil {
			t.Errorf("%s: own event against export: %v", f, err)
		}
		// A missing required envelope field is caught.
		if err := v.Validate([]byte(strings.Replace(string(ev), `"source"`, `"sourcex"`, 1))); err == nil {
			t.Errorf("%s: event without source validated", f)
		}
	}
}

func FuzzCheckContent(f *testing.F) {
	f.Add([]byte(openapiDoc), true)
	f.Add([]byte(draft4Doc), false)
	f.Add([]byte(`{"$ref":"#"}`), false)
	f.Fuzz(func(t *testing.T, content []byte, openapi bool) {
		typ := JSONSchemaDraft4
		if openapi {
			typ = OpenAPI3
		}
		v, err := Compile(content, typ)
		if err != nil {
			var ce *ContentError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ContentError", err)
			}
			return
		}
		_ = v.Validate([]byte(`{"detail":{},"source":"s"}`))
	})
}

// TestValidateConcurrently: one Validator serves many goroutines (run
// with -race).
func TestValidateConcurrently(t *testing.T) {
	v, err := Compile([]byte(openapiDoc), OpenAPI3)
	if err != nil {
		t.Fatal(err)
	}
	good := []byte(`{"source":"shop","detail-type":"Order","time":"2026-12-07T01:00:00Z","detail":{"id":"o-1","lines":[{"qty":1}]}}`)
	bad := []byte(`{"source":"shop","detail-type":"Order","time":"2026-12-07T01:00:00Z","detail":{"id":"o-1","lines":[{"qty":"x"}]}}`)
	done := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				if err := v.Validate(good); err != nil {
					done <- err
					return
				}
				if err := v.Validate(bad); err == nil {
					done <- errors.New("bad event validated")
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
