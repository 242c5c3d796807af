package codebind

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/schemainfer"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixture is a schema to generate bindings for and an event of it.
type fixture struct {
	name       string // schema name in the registry
	typ        string
	content    []byte
	event      []byte
	pkg        string            // package path, slash-separated
	detailType string            // the detail's class
	root       string            // the root class when not AWSEvent
	access     map[string]string // per language: an expression printing a typed value
	want       string            // what it prints
}

func fixtures(t testing.TB) []fixture {
	ev, err := os.ReadFile("../schemainfer/testdata/events/alltypes.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := schemainfer.FromEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	draft4, err := os.ReadFile("testdata/draft4.json")
	if err != nil {
		t.Fatal(err)
	}
	draft4Event, err := os.ReadFile("testdata/draft4-event.json")
	if err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadFile("testdata/names.json")
	if err != nil {
		t.Fatal(err)
	}
	namesEvent, err := os.ReadFile("testdata/names-event.json")
	if err != nil {
		t.Fatal(err)
	}
	return []fixture{
		{
			name: s.Name(), typ: "OpenApi3", content: s.OpenAPI(), event: ev,
			pkg: "schema/com/example/shop/ordershippedv2", detailType: "OrderShippedV2",
			access: map[string]string{
				"Go1":         `fmt.Println(ev.Detail.Address.Geo.Lat, ev.Detail.Lines[1].Sku, ev.Detail.Lines[1].Discount == 0.5, ev.DetailType, ev.Detail.ShippedAt.UTC().Format(time.RFC3339Nano), ev.Detail.Big+1)`,
				"Python36":    `print(ev.detail.address.geo.lat, ev.detail.lines[1].sku, ev.detail.lines[1].discount == 0.5, ev.detail_type, ev.detail.shipped_at.astimezone(datetime.timezone.utc).isoformat().replace('+00:00', 'Z').replace('.123000', '.123'), ev.detail.big + 1)`,
				"Java8":       `System.out.println(ev.getDetail().getAddress().getGeo().getLat() + " " + ev.getDetail().getLines().get(1).getSku() + " " + (ev.getDetail().getLines().get(1).getDiscount() == 0.5) + " " + ev.getDetailType() + " " + ev.getDetail().getShippedAt().toInstant() + " " + (ev.getDetail().getBig() + 1));`,
				"TypeScript3": `console.log(ev.detail.address!.geo!.lat, ev.detail.lines[1].sku, ev.detail.lines[1].discount === 0.5, ev.detailType, ev.detail.shippedAt.toISOString().replace('.123Z', '.123Z'), ev.detail.big + 1);`,
			},
			want: "1.5 y {true|True} Order Shipped v2 2026-12-06T22:59:59.123Z 5000000001",
		},
		{
			name: "Inventory", typ: "JSONSchemaDraft4", content: draft4, event: draft4Event,
			pkg: "schema/inventory", root: "Inventory",
			access: map[string]string{
				"Go1":         `fmt.Println(ev.Items[0].Sku, len(ev.Items), ev.Warehouse.Code)`,
				"Python36":    `print(ev.items[0].sku, len(ev.items), ev.warehouse.code)`,
				"Java8":       `System.out.println(ev.getItems().get(0).getSku() + " " + ev.getItems().size() + " " + ev.getWarehouse().getCode());`,
				"TypeScript3": `console.log(ev.items[0].sku, ev.items.length, ev.warehouse!.code);`,
			},
			want: "a-1 2 FRA",
		},
		{
			// Keys that are keywords, collide once named, or are not
			// identifiers in any language.
			name: "names@class", typ: "JSONSchemaDraft4", content: names, event: namesEvent,
			pkg: "schema/names/_class", root: "Class1",
			access: map[string]string{
				"Go1":         `fmt.Println(ev.Class1, ev.Class, ev.Self.Self.Self)`,
				"Python36":    `print(ev.class_1, ev.class_, ev.self_.self_.self_)`,
				"Java8":       `System.out.println(ev.getClass_1() + " " + ev.getClass_() + " " + ev.getSelf().getSelf().getSelf());`,
				"TypeScript3": `console.log(ev.class1, ev.class, ev.self!.self!.self);`,
			},
			want: "c C s",
		},
	}
}

func unzip(t *testing.T, data []byte, dir string) map[string]string {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(rc)
		rc.Close()
		files[f.Name] = b.String()
		if dir != "" {
			p := filepath.Join(dir, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return files
}

// TestGolden compares each language's files with testdata/golden, and
// checks that generation is deterministic.
func TestGolden(t *testing.T) {
	f := fixtures(t)[0]
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			z, err := Generate(lang, f.name, f.content, f.typ)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Generate(lang, f.name, f.content, f.typ)
			if !bytes.Equal(z, again) {
				t.Error("two generations differ")
			}
			files := unzip(t, z, "")
			var names []string
			for n := range files {
				names = append(names, n)
			}
			slicesSort(names)
			var dump strings.Builder
			for _, n := range names {
				dump.WriteString("=== " + n + "\n" + files[n] + "\n")
			}
			path := "testdata/golden/" + lang + ".txt"
			if *update {
				if err := os.WriteFile(path, []byte(dump.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if dump.String() != string(want) {
				t.Errorf("%s differs from the generated files (run with -update to see)", path)
			}
		})
	}
}

func slicesSort(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestErrors(t *testing.T) {
	f := fixtures(t)[0]
	if _, err := Generate("Rust1", f.name, f.content, f.typ); !errors.Is(err, ErrLanguage) {
		t.Errorf("Rust1: %v", err)
	}
	for _, tc := range []struct{ content, typ string }{
		{`{`, "OpenApi3"},
		{`{`, "JSONSchemaDraft4"},
		{`{"properties":{"a":{"$ref":"#/definitions/Nope"}}}`, "JSONSchemaDraft4"},
		{`{}`, "Avro"},
		{`{"openapi":"3.0.0","components":{"schemas":{"AWSEvent":{"properties":{"a":{"$ref":"#/components/schemas/AWSEvent"}}}}}}`, "OpenApi3"},
	} {
		if _, err := Generate("Go1", "x", []byte(tc.content), tc.typ); !errors.Is(err, ErrSchema) {
			t.Errorf("Generate(%s, %s): %v, want ErrSchema", tc.content, tc.typ, err)
		}
	}
	// A self-referencing definition is a type that refers to itself.
	if _, err := Generate("Go1", "x", []byte(`{"definitions":{"N":{"type":"object","properties":{"next":{"$ref":"#/definitions/N"}}}},"type":"object","properties":{"head":{"$ref":"#/definitions/N"}}}`), "JSONSchemaDraft4"); err != nil {
		t.Errorf("recursive schema: %v", err)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"aws.ssm@ParameterStoreChange":           "schema/aws/ssm/parameterstorechange",
		"order@NewOrder":                         "schema/order/neworder",
		"2PSchema1":                              "schema/_2pschema1",
		"aws.partner/mongodb.com@Ticket.Created": "schema/aws/partner/mongodb/com/ticketcreated",
		"com.example.import@class":               "schema/com/example/_import/_class",
		"@":                                      "schema/event",
	} {
		if got := strings.Join(packagePath(in), "/"); got != want {
			t.Errorf("packagePath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"detail-type": "detail_type", "firstName": "first_name", "EC2InstanceId": "ec2_instance_id", "ARN": "arn", "a.b c": "a_b_c", "9lives": "_9lives"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"detail-type": "detailType", "AWSRegion": "awsRegion", "ID": "id", "x": "x"} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
}

// normalize makes two JSON documents comparable across languages: nulls
// dropped (the bindings leave unset fields out), date-times in UTC, numbers
// as float64.
func normalize(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				if e != nil {
					out[k] = walk(e)
				}
			}
			return out
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
			return x
		case json.Number:
			f, _ := strconv.ParseFloat(string(x), 64)
			if math.IsInf(f, 0) {
				return string(x)
			}
			return f
		case string:
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return tm.UTC().Format(time.RFC3339Nano)
			}
		}
		return v
	}
	return walk(v)
}

// run runs a command in dir and returns its output.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkOutput: the driver prints the typed value on its first line and the
// marshalled event on its second, which must be the event it read.
func checkOutput(t *testing.T, f fixture, out string) {
	t.Helper()
	lines := strings.SplitN(strings.TrimSpace(out), "\n", 2)
	if len(lines) != 2 {
		t.Fatalf("driver output %q", out)
	}
	want := f.want
	if strings.Contains(want, "{true|True}") {
		if strings.Contains(lines[0], "True") {
			want = strings.Replace(want, "{true|True}", "True", 1)
		} else {
			want = strings.Replace(want, "{true|True}", "true", 1)
		}
	}
	if lines[0] != want {
		t.Errorf("typed access printed %q, want %q", lines[0], want)
	}
	if got, orig := normalize(t, []byte(lines[1])), normalize(t, f.event); !reflect.DeepEqual(got, orig) {
		t.Errorf("round trip differs:\n got %s\nwant %s", lines[1], f.event)
	}
}

func generate(t *testing.T, lang string, f fixture, dir string) {
	t.Helper()
	z, err := Generate(lang, f.name, f.content, f.typ)
	if err != nil {
		t.Fatal(err)
	}
	unzip(t, z, dir)
	if err := os.WriteFile(filepath.Join(dir, "event.json"), f.event, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoBuilds builds the Go binding in a module of its own and round-trips
// the event through it.
func TestGoBuilds(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			generate(t, "Go1", f, dir)
			pkg := f.pkg[strings.LastIndex(f.pkg, "/")+1:]
			main := `package main

import (
	"fmt"
	"os"
	"time"

	` + pkg + ` "bindtest/` + f.pkg + `"
)

var _ = time.Now

func main() {
	data, err := os.ReadFile("event.json")
	if err != nil {
		panic(err)
	}
	ev, err := ` + pkg + `.UnmarshalEvent(data)
	if err != nil {
		panic(err)
	}
	` + f.access["Go1"] + `
	out, err := ` + pkg + `.Marshal(ev)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
}
`
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module bindtest\n\ngo 1.21\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644)
			run(t, dir, []string{"GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off", "GOTOOLCHAIN=local"}, gobin, "vet", "./...")
			checkOutput(t, f, run(t, dir, []string{"GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off", "GOTOOLCHAIN=local"}, gobin, "run", "."))
		})
	}
}

// TestPythonImports imports the Python binding and round-trips the event
// through Marshaller.unmarshall and Marshaller.marshall.
func TestPythonImports(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			generate(t, "Python36", f, dir)
			mod := strings.ReplaceAll(f.pkg, "/", ".")
			root := "AWSEvent"
			if f.root != "" {
				root = f.root
			}
			script := `import datetime, json, sys
sys.path.insert(0, '.')
from ` + mod + ` import Marshaller, ` + root + `
ev = Marshaller.unmarshall(json.load(open('event.json')), ` + root + `)
assert isinstance(ev, ` + root + `), type(ev)
` + f.access["Python36"] + `
print(json.dumps(Marshaller.marshall(ev)))
`
			checkOutput(t, f, run(t, dir, []string{"PYTHONDONTWRITEBYTECODE=1"}, py, "-c", script))
		})
	}
}

// TestJavaCompiles compiles the Java binding with javac and round-trips the
// event through Marshaller.
func TestJavaCompiles(t *testing.T) {
	javac, err := exec.LookPath("javac")
	if err != nil {
		t.Skip("no javac")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("no java")
	}
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			generate(t, "Java8", f, dir)
			pkg := strings.ReplaceAll(f.pkg, "/", ".")
			read := f.root + " ev = Marshaller.unmarshalEvent(in);"
			if f.detailType != "" {
				read = "AWSEvent<" + f.detailType + "> ev = Marshaller.unmarshalEvent(in, " + f.detailType + ".class);"
			}
			driver := `import ` + pkg + `.*;
import ` + pkg + `.marshaller.Marshaller;

public class RoundTrip {
    public static void main(String[] args) throws Exception {
        java.io.InputStream in = new java.io.FileInputStream("event.json");
        ` + read + `
        ` + f.access["Java8"] + `
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        Marshaller.marshal(out, ev);
        System.out.println(new String(out.toByteArray(), "UTF-8"));
    }
}
`
			os.WriteFile(filepath.Join(dir, "RoundTrip.java"), []byte(driver), 0o644)
			var srcs []string
			filepath.WalkDir(filepath.Join(dir, "src"), func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, ".java") {
					srcs = append(srcs, p)
				}
				return nil
			})
			args := append([]string{"-Xlint:all", "-Werror", "--release", "8", "-d", "out", "RoundTrip.java"}, srcs...)
			run(t, dir, nil, javac, args...)
			checkOutput(t, f, run(t, dir, nil, java, "-cp", "out", "RoundTrip"))
		})
	}
}

// tsc installs TypeScript (once, into a cache beside Go's) and returns the
// path of tsc; it skips the test when npm cannot reach its registry.
func tsc(t *testing.T) string {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("no npm: TypeScript binding not compiled")
	}
	cache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Skip("no GOCACHE")
	}
	dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(cache))), "switchyard-npm")
	bin := filepath.Join(dir, "node_modules", ".bin", "tsc")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	os.MkdirAll(dir, 0o755)
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "typescript@5")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm could not install typescript (registry unreachable?): %v\n%s", err, out)
	}
	return bin
}

// TestTypeScriptCompiles compiles the TypeScript binding with tsc --strict
// and round-trips the event through Marshaller under node.
func TestTypeScriptCompiles(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	compiler := tsc(t)
	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			generate(t, "TypeScript3", f, dir)
			root := "AWSEvent"
			if f.root != "" {
				root = f.root
			}
			driver := `import * as fs from 'fs';
import { Marshaller, ` + root + ` } from './` + f.pkg + `';

const ev: ` + root + ` = Marshaller.unmarshal(JSON.parse(fs.readFileSync('event.json', 'utf8')), '` + root + `');
if (!(ev instanceof ` + root + `)) { throw new Error('not an ` + root + `'); }
` + f.access["TypeScript3"] + `
console.log(JSON.stringify(Marshaller.marshal(ev)));
`
			os.WriteFile(filepath.Join(dir, "main.ts"), []byte(driver), 0o644)
			os.WriteFile(filepath.Join(dir, "fs.d.ts"), []byte("declare module 'fs' { export function readFileSync(path: string, enc: string): string; }\n"), 0o644)
			run(t, dir, nil, compiler, "--strict", "--noUnusedLocals", "--target", "es2017", "--module", "commonjs", "--outDir", "out", "main.ts", "fs.d.ts")
			checkOutput(t, f, run(t, dir, nil, node, "out/main.js"))
		})
	}
}
