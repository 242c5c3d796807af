package schemainfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := read(t, path)
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got %s\nwant %s", path, got, want)
	}
}

// TestAWSDocuments infers the events behind discovered schemas AWS
// returned and expects AWS's documents byte for byte. The documents are
// DescribeSchema and ExportSchema output quoted in aws-sam-cli's tests
// (order@NewOrder) and in a project's recorded responses (users@UserCreated);
// the events are rebuilt from them.
func TestAWSDocuments(t *testing.T) {
	for _, name := range []string{"users@UserCreated", "order@NewOrder"} {
		t.Run(name, func(t *testing.T) {
			s, err := FromEvent(read(t, "testdata/aws/"+name+".event.json"))
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != name {
				t.Errorf("Name() = %q, want %q", s.Name(), name)
			}
			want := read(t, "testdata/aws/"+name+".openapi.json")
			if got := s.OpenAPI(); !bytes.Equal(got, want) {
				t.Errorf("OpenAPI():\n got %s\nwant %s", got, want)
			}
			path := "testdata/aws/" + name + ".draft4.json"
			if _, err := os.Stat(path); err == nil {
				got, err := ToJSONSchemaDraft4(want)
				if err != nil {
					t.Fatal(err)
				}
				if want := read(t, path); !bytes.Equal(got, want) {
					t.Errorf("ToJSONSchemaDraft4:\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}

// TestGolden infers every event under testdata/events and compares the
// document, its draft 4 export and the round trip through FromOpenAPI.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/events/*.json")
	if len(files) == 0 {
		t.Fatal("no events")
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(base, func(t *testing.T) {
			s, err := FromEvent(read(t, f))
			if err != nil {
				t.Fatal(err)
			}
			doc := s.OpenAPI()
			if !json.Valid(doc) {
				t.Fatalf("invalid JSON: %s", doc)
			}
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, doc, "", "  ")
			golden(t, "testdata/golden/"+base+".openapi.json", pretty.Bytes())
			d4, err := ToJSONSchemaDraft4(doc)
			if err != nil {
				t.Fatal(err)
			}
			pretty.Reset()
			_ = json.Indent(&pretty, d4, "", "  ")
			golden(t, "testdata/golden/"+base+".draft4.json", pretty.Bytes())

			back, err := FromOpenAPI(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := back.OpenAPI(); !bytes.Equal(got, doc) {
				t.Errorf("FromOpenAPI(doc).OpenAPI() differs:\n got %s\nwant %s", got, doc)
			}
			if back.Merge(s) {
				t.Error("merging an event into its own document changed it")
			}
		})
	}
}

func detailComponent(t *testing.T, doc []byte, name string) map[string]any {
	t.Helper()
	var d struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	c, ok := d.Components.Schemas[name]
	if !ok {
		t.Fatalf("no component %s in %s", name, doc)
	}
	return c
}

func event(detail string) []byte {
	return []byte(`{"version":"0","id":"1","detail-type":"T","source":"s","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":` + detail + `}`)
}

func mustEvent(t *testing.T, detail string) *Schema {
	t.Helper()
	s, err := FromEvent(event(detail))
	if err != nil {
		t.Fatalf("FromEvent(%s): %v", detail, err)
	}
	return s
}

// TestMerge merges pairs of details and checks the field that results and
// whether the document changed.
func TestMerge(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a, b     string
		field    string // property of the detail to look at
		want     string // its JSON in the merged document
		required bool
		changed  bool
	}{
		{"same", `{"x":1}`, `{"x":2}`, "x", `{"format":"int32","type":"integer"}`, true, false},
		{"int32 then int64", `{"x":1}`, `{"x":9007199254740993}`, "x", `{"format":"int64","type":"integer"}`, true, true},
		{"int then number", `{"x":1}`, `{"x":1.5}`, "x", `{"format":"double","type":"number"}`, true, true},
		{"number then int", `{"x":1.5}`, `{"x":1}`, "x", `{"format":"double","type":"number"}`, true, false},
		{"string conflict", `{"x":"a"}`, `{"x":1}`, "x", `{}`, true, true},
		{"object conflict", `{"x":{"y":1}}`, `{"x":"s"}`, "x", `{}`, true, true},
		{"null then string", `{"x":null}`, `{"x":"a"}`, "x", `{"nullable":true,"type":"string"}`, true, true},
		{"string then null", `{"x":"a"}`, `{"x":null}`, "x", `{"nullable":true,"type":"string"}`, true, true},
		{"null only", `{"x":null}`, `{"x":null}`, "x", `{"nullable":true}`, true, false},
		{"date-time then text", `{"x":"2026-01-01T00:00:00Z"}`, `{"x":"soon"}`, "x", `{"type":"string"}`, true, true},
		{"date-time kept", `{"x":"2026-01-01T00:00:00Z"}`, `{"x":"2026-02-01T10:00:00.5-05:00"}`, "x", `{"format":"date-time","type":"string"}`, true, false},
		{"new field", `{"x":1}`, `{"x":1,"y":true}`, "y", `{"type":"boolean"}`, false, true},
		{"field missing", `{"x":1,"y":true}`, `{"x":1}`, "y", `{"type":"boolean"}`, false, true},
		{"empty array then strings", `{"x":[]}`, `{"x":["a"]}`, "x", `{"items":{"type":"string"},"type":"array"}`, true, true},
		{"strings then empty array", `{"x":["a"]}`, `{"x":[]}`, "x", `{"items":{"type":"string"},"type":"array"}`, true, false},
		{"array items merged", `{"x":[1,"a"]}`, `{"x":[]}`, "x", `{"items":{},"type":"array"}`, true, false},
		{"empty object then fields", `{"x":{}}`, `{"x":{"y":1}}`, "x", `{"$ref":"#/components/schemas/X"}`, true, true},
		{"nested required flips", `{"x":{"y":1,"z":1}}`, `{"x":{"y":2}}`, "x", `{"$ref":"#/components/schemas/X"}`, true, true},
		{"hidden under conflict", `{"x":"a"}`, `{"x":{"y":1}}`, "x", `{}`, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustEvent(t, tc.a), mustEvent(t, tc.b)
			changed := a.Merge(b)
			if changed != tc.changed {
				t.Errorf("Merge changed = %v, want %v", changed, tc.changed)
			}
			doc := a.OpenAPI()
			det := detailComponent(t, doc, "T")
			props, _ := det["properties"].(map[string]any)
			got, _ := json.Marshal(props[tc.field])
			if string(got) != tc.want {
				t.Errorf("%s = %s, want %s (document %s)", tc.field, got, tc.want, doc)
			}
			req := false
			list, _ := det["required"].([]any)
			for _, r := range list {
				req = req || r == tc.field
			}
			if req != tc.required {
				t.Errorf("%s required = %v, want %v", tc.field, req, tc.required)
			}
			// A resumed schema merges the same way: the stored document is
			// all the state there is.
			resumed, err := FromOpenAPI(mustEvent(t, tc.a).OpenAPI())
			if err != nil {
				t.Fatal(err)
			}
			if c := resumed.Merge(b); c != tc.changed {
				t.Errorf("resumed Merge changed = %v, want %v", c, tc.changed)
			}
			if got := resumed.OpenAPI(); !bytes.Equal(got, doc) {
				t.Errorf("resumed merge differs:\n got %s\nwant %s", got, doc)
			}
			// And merging the result again changes nothing.
			if a.Merge(b) {
				t.Error("second Merge of the same event changed the document")
			}
		})
	}
}

func TestMergeIntoEmpty(t *testing.T) {
	var s Schema
	if s.OpenAPI() != nil {
		t.Error("empty Schema has a document")
	}
	o := mustEvent(t, `{"a":1}`)
	if !s.Merge(o) {
		t.Error("Merge into empty: not changed")
	}
	if !bytes.Equal(s.OpenAPI(), o.OpenAPI()) {
		t.Error("Merge into empty differs from the event's schema")
	}
	// s shares nothing with o.
	o.Merge(mustEvent(t, `{"b":1}`))
	if bytes.Contains(s.OpenAPI(), []byte(`"b"`)) {
		t.Error("s changed with o")
	}
	if s.Merge(nil) {
		t.Error("Merge(nil) changed")
	}
}

func TestComponentNames(t *testing.T) {
	for in, want := range map[string]string{
		"AWS API Call via CloudTrail":            "AWSAPICallViaCloudTrail",
		"EC2 Instance State-change Notification": "EC2InstanceStateChangeNotification",
		"Step Functions Execution Status Change": "StepFunctionsExecutionStatusChange",
		"userCreated":                            "UserCreated",
		"instance-id":                            "InstanceId",
		"---":                                    "Object",
		"ünïcode":                                "NCode",
		"Scheduled Event":                        "ScheduledEvent",
		"com.example.order_placed":               "ComExampleOrderPlaced",
	} {
		if got := componentName(in); got != want {
			t.Errorf("componentName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJavaHashOrder checks required lists against the ones AWS returned.
func TestJavaHashOrder(t *testing.T) {
	for _, want := range [][]string{
		{"detail-type", "resources", "detail", "id", "source", "time", "region", "version", "account"},
		{"productId", "orderId", "customer"},
		{"zip", "country", "firstName", "lastName", "city", "street"},
		{"EventBusName", "DetailType", "Resources", "Detail", "Source"},
		{"output", "input", "executionArn", "name", "stateMachineArn", "startDate", "stopDate", "status"},
	} {
		sorted := append([]string(nil), want...)
		for i := range sorted {
			for j := i + 1; j < len(sorted); j++ {
				if sorted[j] < sorted[i] {
					sorted[i], sorted[j] = sorted[j], sorted[i]
				}
			}
		}
		got := javaHashOrder(sorted)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("javaHashOrder = %v, want %v", got, want)
		}
	}
}

func TestComponentCollision(t *testing.T) {
	s := mustEvent(t, `{"a":{"data":{"x":1}},"b":{"data":{"y":"s"}},"t":{"z":1}}`)
	doc := s.OpenAPI()
	for _, name := range []string{"A", "B", "Data", "Data_1", "T_1"} {
		detailComponent(t, doc, name)
	}
}

// TestHostile: what an event may cost is bounded, and bad input is an
// error, never a panic.
func TestHostile(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300)
	var many strings.Builder
	many.WriteString("{")
	for i := range 10000 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`"k`)
		many.WriteString(strings.Repeat("x", i%7))
		many.WriteString(string(rune('a' + i%26)))
		many.WriteString(`":1`)
		many.WriteString(`,"n` + itoa(i) + `":1`)
	}
	many.WriteString("}")
	huge := "[" + strings.Repeat(`{"a":1,"b":"x"},`, 100000) + `{"a":2}]`

	for _, tc := range []struct {
		name  string
		event []byte
		err   error
	}{
		{"not JSON", []byte(`{"detail":`), ErrInvalidJSON},
		{"empty", nil, ErrInvalidJSON},
		{"array", []byte(`[1]`), ErrNotEvent},
		{"no detail", []byte(`{"source":"s","detail-type":"t"}`), ErrNotEvent},
		{"detail string", []byte(`{"source":"s","detail-type":"t","detail":"x"}`), ErrNotEvent},
		{"no source", []byte(`{"detail-type":"t","detail":{}}`), ErrNotEvent},
		{"source in another case", []byte(`{"Source":"s","detail-type":"t","detail":{}}`), ErrNotEvent},
		{"source number", []byte(`{"source":1,"detail-type":"t","detail":{}}`), ErrNotEvent},
		{"deep", event(deep), ErrTooDeep},
		{"many keys", event(many.String()), ErrTooLarge},
		{"too big", make([]byte, MaxEventSize+1), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromEvent(tc.event)
			if !errors.Is(err, tc.err) {
				t.Errorf("FromEvent: %v, want %v", err, tc.err)
			}
		})
	}
	// A huge array of objects folds into one item shape.
	s := mustEvent(t, `{"xs":`+huge+`}`)
	c := detailComponent(t, s.OpenAPI(), "Xs")
	if req, _ := c["required"].([]any); len(req) != 1 || req[0] != "a" {
		t.Errorf("items required = %v, want [a]", c["required"])
	}
	// Exactly 255 levels below the envelope is inferred.
	okDeep := strings.Repeat(`{"a":`, MaxDepth-1) + "1" + strings.Repeat("}", MaxDepth-1)
	if _, err := FromEvent(event(okDeep)); err != nil {
		t.Errorf("255 levels: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestMergeBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range MaxFields - 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"f` + itoa(i) + `":1`)
	}
	b.WriteString("}")
	s := mustEvent(t, b.String())
	more := mustEvent(t, `{"g1":1,"g2":2,"g3":{"a":1},"g4":[1],"g5":1,"g6":1,"g7":1,"g8":1,"g9":1,"g10":1,"g11":1,"g12":1,"g13":1,"g14":1,"g15":1,"g16":1,"g17":1,"g18":1,"g19":1,"g20":1,"g21":1,"g22":1,"g23":1,"g24":1}`)
	s.Merge(more)
	if n := s.root.count(); n > MaxFields {
		t.Errorf("merged schema has %d fields, more than %d", n, MaxFields)
	}
}

func TestFromOpenAPIErrors(t *testing.T) {
	for _, doc := range []string{
		``,
		`[]`,
		`{"components":{"schemas":{}}}`,
		`{"components":{"schemas":{"AWSEvent":{"type":"object"}}}}`,
		`{"components":{"schemas":{"AWSEvent":{"type":"object","x-amazon-events-source":"s","x-amazon-events-detail-type":"t"}}}}`,
		`{"components":{"schemas":{"AWSEvent":{"type":"object","x-amazon-events-source":"s","x-amazon-events-detail-type":"t","properties":{"detail":{"$ref":"#/components/schemas/Nope"}}}}}}`,
		`{"components":{"schemas":{"AWSEvent":{"type":"object","x-amazon-events-source":"s","x-amazon-events-detail-type":"t","properties":{"detail":{"$ref":"#/components/schemas/AWSEvent"}}}}}}`,
		`{"components":{"schemas":{"AWSEvent":{"type":"object","x-amazon-events-source":"s","x-amazon-events-detail-type":"t","properties":{"detail":{"type":"tuple"}}}}}}`,
	} {
		if _, err := FromOpenAPI([]byte(doc)); !errors.Is(err, ErrNotSchema) && !errors.Is(err, ErrTooDeep) {
			t.Errorf("FromOpenAPI(%s): %v, want ErrNotSchema", doc, err)
		}
	}
}

func TestDraft4(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"single component",
			`{"openapi":"3.0.0","info":{"title":"Other"},"components":{"schemas":{"Thing":{"type":"object","properties":{"a":{"type":"string","nullable":true,"example":"x"}}}}}}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","title":"Other","properties":{"a":{"type":["string","null"]}},"type":"object"}`},
		{"titled root and refs",
			`{"openapi":"3.0.0","info":{"title":"Root"},"components":{"schemas":{"Root":{"type":"object","properties":{"l":{"type":"array","items":{"$ref":"#/components/schemas/Leaf"}},"n":{"$ref":"#/components/schemas/Leaf","nullable":true}}},"Leaf":{"type":"object","readOnly":true,"allOf":[{"$ref":"#/components/schemas/Base"}]},"Base":{"enum":["a"],"type":"string","nullable":true}}}}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","title":"Root","definitions":{"Base":{"enum":["a",null],"type":["string","null"]},"Leaf":{"allOf":[{"$ref":"#/definitions/Base"}],"type":"object"}},"properties":{"l":{"items":{"$ref":"#/definitions/Leaf"},"type":"array"},"n":{"anyOf":[{"$ref":"#/definitions/Leaf"},{"type":"null"}]}},"type":"object"}`},
		{"no root",
			`{"openapi":"3.0.0","info":{"title":"X"},"components":{"schemas":{"A":{"type":"string"},"B":{"type":"integer"}}}}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","title":"X","definitions":{"A":{"type":"string"},"B":{"type":"integer"}}}`},
		{"html kept",
			`{"openapi":"3.0.0","info":{"title":"<T&>"},"components":{"schemas":{"<T&>":{"type":"string","pattern":"<a>"}}}}`,
			`{"$schema":"http://json-schema.org/draft-04/schema#","title":"<T&>","pattern":"<a>","type":"string"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToJSONSchemaDraft4([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	if _, err := ToJSONSchemaDraft4([]byte(`{"components":`)); !errors.Is(err, ErrNotSchema) {
		t.Errorf("bad JSON: %v", err)
	}
}

// TestDiscover: GetDiscoveredSchema's Content for the AWS CLI's example
// (aws schemas get-discovered-schema, events that are PutEvents entries),
// byte for byte, and for envelopes.
func TestDiscover(t *testing.T) {
	cli := []byte(`{"Source":"com.mycompany.myapp","Detail":"{ \"key1\": \"value1\", \"key2\": \"value2\" }","EventBusName":"default","Resources":["resource1","resource2"],"DetailType":"myDetailType"}`)
	want := `{"openapi":"3.0.0","info":{"version":"1.0.0","title":"Event"},"paths":{},"components":{"schemas":{"Event":{"type":"object","required":["EventBusName","DetailType","Resources","Detail","Source"],"properties":{"Detail":{"type":"string"},"DetailType":{"type":"string"},"EventBusName":{"type":"string"},"Resources":{"type":"array","items":{"type":"string"}},"Source":{"type":"string"}}}}}}`
	got, err := Discover([][]byte{cli})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	back, err := FromOpenAPI(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.OpenAPI(), got) {
		t.Error("generic document does not survive FromOpenAPI")
	}
	d4, err := ToJSONSchemaDraft4(got)
	if err != nil || !bytes.Contains(d4, []byte(`"title":"Event"`)) || !bytes.Contains(d4, []byte(`"required":["EventBusName"`)) {
		t.Errorf("draft 4 of a generic document: %s, %v", d4, err)
	}

	a, b := event(`{"x":1}`), event(`{"x":2,"y":"s"}`)
	got, err = Discover([][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := FromEvent(a)
	s1.Merge(mustEvent(t, `{"x":2,"y":"s"}`))
	if !bytes.Equal(got, s1.OpenAPI()) {
		t.Errorf("Discover of envelopes differs from FromEvent+Merge")
	}
	for _, bad := range [][][]byte{
		nil,
		{a, cli},
		{a, []byte(`{"source":"other","detail-type":"T","detail":{}}`)},
		{[]byte(`[1]`)},
		{[]byte(`{`)},
	} {
		if _, err := Discover(bad); err == nil {
			t.Errorf("Discover(%q) accepted", bad)
		}
	}
}
