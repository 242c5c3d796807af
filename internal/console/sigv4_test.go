package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/sigv4"
)

type keys map[string]sigv4.Key

func (k keys) Lookup(id string) (sigv4.Key, bool) { v, ok := k[id]; return v, ok }

// signCase is one request for assets/sigv4.js to sign.
type signCase struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Params  [][2]string       `json:"params"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Region  string            `json:"region"`
	Service string            `json:"service"`
	Creds   map[string]string `json:"creds"`
	Now     string            `json:"now"`
}

// runNode runs script (an ES module) in Node.js beside a copy of the
// console's assets, the very files the browser loads (Node's Web Crypto is
// the browser's API), with in as JSON on its stdin, and decodes what it
// prints into out.
func runNode(t *testing.T, script string, in, out any) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the console's scripts are tested in Chromium by test/e2e TestConsole* only")
	}
	dir := t.TempDir()
	files := map[string][]byte{"package.json": []byte(`{"type":"module"}`), "run.js": []byte(script)}
	for name, b := range New(Options{Auth: "none"}).files {
		if strings.HasSuffix(name, ".js") {
			files[name] = b
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "run.js"))
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "crypto is not defined") {
			t.Skipf("this node has no global Web Crypto: %s", stderr.String())
		}
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node printed %s: %v", b, err)
	}
}

// nodeSign signs each case with assets/sigv4.js and returns the headers it
// set.
func nodeSign(t *testing.T, cases []signCase) []map[string]string {
	t.Helper()
	var out []map[string]string
	runNode(t, `import { sign } from "./sigv4.js";
import { readFileSync } from "node:fs";
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = [];
for (const c of cases) {
  const headers = { ...c.headers };
  await sign({ method: c.method, host: "127.0.0.1:4010", path: c.path, params: c.params || [], headers, body: c.body,
    region: c.region, service: c.service || "events", creds: c.creds, now: new Date(c.now) });
  out.push(headers);
}
process.stdout.write(JSON.stringify(out));
`, cases, &out)
	return out
}

// TestSignerAgainstVerifier signs requests with the browser's signer and
// verifies them with the server's: keys with "/" and "+", session
// tokens, and tail queries whose patterns need every kind of escaping.
func TestSignerAgainstVerifier(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 30, 0, 0, time.UTC)
	ks := keys{
		"AKIAALICEEXAMPLE":   {AccessKeyID: "AKIAALICEEXAMPLE", SecretAccessKey: "alice/secret+KEY"},
		"ASIASESSIONEXAMPLE": {AccessKeyID: "ASIASESSIONEXAMPLE", SecretAccessKey: "s", SessionToken: "FwoGZXIvYXdzEXAMPLE//token+="},
	}
	alice := map[string]string{"accessKeyId": "AKIAALICEEXAMPLE", "secretAccessKey": "alice/secret+KEY"}
	api := func(name, body string) signCase {
		return signCase{Name: name, Method: "POST", Path: "/", Body: body, Region: "eu-west-1", Creds: alice,
			Headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.ListEventBuses"}}
	}
	tail := func(name string, params ...[2]string) signCase {
		return signCase{Name: name, Method: "GET", Path: "/_switchyard/tail", Params: params, Region: "us-east-1", Creds: alice,
			Headers: map[string]string{}}
	}
	cases := []signCase{
		api("empty object", "{}"),
		api("unicode body", `{"NamePrefix":"ünï €"}`),
		api("empty body", ""),
		tail("no query"),
		tail("bus", [2]string{"EventBusName", "orders"}),
		tail("pattern with every escape", [2]string{"EventPattern", `{"source": ["a b+c/d*e!f'g(h)i~j%k&l=m?n#o"], "é": ["€"]}`},
			[2]string{"EventBusName", "orders"}, [2]string{"Limit", "10"}),
		tail("repeated and empty", [2]string{"b", "2"}, [2]string{"a", ""}, [2]string{"b", "1"}),
		{Name: "session token", Method: "POST", Path: "/", Body: "{}", Region: "us-east-1",
			Creds:   map[string]string{"accessKeyId": "ASIASESSIONEXAMPLE", "secretAccessKey": "s", "sessionToken": "FwoGZXIvYXdzEXAMPLE//token+="},
			Headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.ListRules"}},
		{Name: "header value spaces", Method: "POST", Path: "/", Body: "{}", Region: "us-east-1", Creds: alice,
			Headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "  AWSEvents.ListRules  ", "X-Custom": "a   b"}},
	}
	for i := range cases {
		cases[i].Now = now.Format(time.RFC3339)
	}
	signed := nodeSign(t, cases)
	v := sigv4.Verifier{Credentials: ks, Service: "events", Now: func() time.Time { return now }}
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			q := url.Values{}
			var raw []string
			for _, p := range c.Params {
				q.Add(p[0], p[1])
				raw = append(raw, url.QueryEscape(p[0])+"="+url.QueryEscape(p[1]))
			}
			// The browser's URL encodes the query its own way
			// (encodeURIComponent); the server canonicalizes what it
			// receives, so any correct encoding must verify.
			u := "http://127.0.0.1:4010" + c.Path
			if len(raw) > 0 {
				u += "?" + strings.Join(raw, "&")
			}
			r, err := http.NewRequest(c.Method, u, strings.NewReader(c.Body))
			if err != nil {
				t.Fatal(err)
			}
			for k, val := range signed[i] {
				r.Header.Set(k, val)
			}
			id, err := v.Verify(r, []byte(c.Body))
			if err != nil {
				var e *sigv4.Error
				if ok := asSigErr(err, &e); ok {
					canonical, toSign := e.Details()
					t.Fatalf("%v\nserver's canonical request:\n%s\nstring to sign:\n%s", err, canonical, toSign)
				}
				t.Fatal(err)
			}
			if id.Region != c.Region || id.Key.AccessKeyID != c.Creds["accessKeyId"] {
				t.Errorf("verified as %+v", id)
			}

			// A change the signature covers is refused.
			r2, _ := http.NewRequest(c.Method, u, strings.NewReader(c.Body+" "))
			for k, val := range signed[i] {
				r2.Header.Set(k, val)
			}
			if _, err := v.Verify(r2, []byte(c.Body+" ")); err == nil {
				t.Error("a changed body verified")
			}
		})
	}
}

func asSigErr(err error, e **sigv4.Error) bool {
	se, ok := err.(*sigv4.Error)
	if ok {
		*e = se
	}
	return ok
}
