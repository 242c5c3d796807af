package codebind

import (
	"archive/zip"
	"bytes"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// FuzzGenerate: any content is an error or a zip, and the Go in it parses.
func FuzzGenerate(f *testing.F) {
	for _, p := range []string{"testdata/draft4.json", "testdata/names.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false, uint8(3))
	}
	f.Add([]byte(`{"openapi":"3.0.0","components":{"schemas":{"AWSEvent":{"x-amazon-events-source":"s","type":"object","properties":{"detail":{"$ref":"#/components/schemas/D"}}},"D":{"type":"object","properties":{"a":{"type":"array","items":{"type":"array"}}}}}}}`), true, uint8(0))
	f.Fuzz(func(t *testing.T, content []byte, openapi bool, lang uint8) {
		typ := "JSONSchemaDraft4"
		if openapi {
			typ = "OpenApi3"
		}
		l := Languages[int(lang)%len(Languages)]
		z, err := Generate(l, "fuzz@Event", content, typ)
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error %v is not ErrSchema", err)
			}
			return
		}
		r, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
		if err != nil {
			t.Fatalf("not a zip: %v", err)
		}
		if l != "Go1" {
			return
		}
		for _, zf := range r.File {
			rc, _ := zf.Open()
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			rc.Close()
			if strings.HasSuffix(zf.Name, ".go") {
				if _, err := parser.ParseFile(token.NewFileSet(), zf.Name, b.Bytes(), 0); err != nil {
					t.Fatalf("%s does not parse: %v\n%s", zf.Name, err, b.String())
				}
			}
		}
	})
}

// TestBounded: a schema with more types than MaxTypes is refused, and a
// large one that fits is generated quickly enough to be unremarkable.
func TestBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	for i := range MaxTypes + 10 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"f` + strings.Repeat("x", i%5) + itoa(i) + `":{"type":"object","properties":{"a":{"type":"string"}}}`)
	}
	b.WriteString(`}}`)
	if _, err := Generate("Java8", "big", []byte(b.String()), "JSONSchemaDraft4"); !errors.Is(err, ErrSchema) {
		t.Errorf("more than MaxTypes types: %v", err)
	}
	deep := strings.Repeat(`{"type":"array","items":`, 600) + `{}` + strings.Repeat(`}`, 600)
	if _, err := Generate("Go1", "deep", []byte(`{"type":"object","properties":{"a":`+deep+`}}`), "JSONSchemaDraft4"); !errors.Is(err, ErrSchema) {
		t.Errorf("deep: %v", err)
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}
