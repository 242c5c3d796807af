package webhooks

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Each bad file is refused with an error naming the webhook and the fault;
// the messages are in testdata/file_errors.golden.
func TestParseFileErrors(t *testing.T) {
	cases := []struct{ name, yaml string }{
		{"unknown field", `webhooks: [{name: a, provider: github, account: "111122223333", region: us-east-1, secret: s, secrte: x}]`},
		{"no name", `webhooks: [{provider: github, account: "111122223333", region: us-east-1, secret: s}]`},
		{"bad name", `webhooks: [{name: "a/b", provider: github, account: "111122223333", region: us-east-1, secret: s}]`},
		{"unknown provider", `webhooks: [{name: a, provider: bitbucket, account: "111122223333", region: us-east-1, secret: s}]`},
		{"no secret", `webhooks: [{name: a, provider: github, account: "111122223333", region: us-east-1}]`},
		{"both secrets", `webhooks: [{name: a, provider: github, account: "111122223333", region: us-east-1, secret: s, secret_file: /x}]`},
		{"missing secret file", `webhooks: [{name: a, provider: github, account: "111122223333", region: us-east-1, secret_file: /no/such/file}]`},
		{"account", `webhooks: [{name: a, provider: github, account: 1234, region: us-east-1, secret: s}]`},
		{"region", `webhooks: [{name: a, provider: github, account: "111122223333", region: mars-1, secret: s}]`},
		{"aws source", `webhooks: [{name: a, provider: github, account: "111122223333", region: us-east-1, secret: s, source: aws.s3}]`},
		{"twilio without url", `webhooks: [{name: a, provider: twilio, account: "111122223333", region: us-east-1, secret: s}]`},
		{"hmac without header", `webhooks: [{name: a, provider: hmac, account: "111122223333", region: us-east-1, secret: s}]`},
		{"hmac md5", `webhooks: [{name: a, provider: hmac, account: "111122223333", region: us-east-1, secret: s, header: X-S, algorithm: md5}]`},
		{"bad header", `webhooks: [{name: a, provider: hmac, account: "111122223333", region: us-east-1, secret: s, header: "X S"}]`},
		{"tolerance", `webhooks: [{name: a, provider: stripe, account: "111122223333", region: us-east-1, secret: s, tolerance: 1.5s}]`},
		{"duplicate", "webhooks:\n  - {name: a, provider: gitlab, account: \"111122223333\", region: us-east-1, secret: s}\n  - {name: a, provider: gitlab, account: \"111122223333\", region: us-east-1, secret: s}"},
		{"not yaml", `webhooks: [`},
	}
	var got strings.Builder
	for _, c := range cases {
		_, err := ParseFile([]byte(c.yaml))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		got.WriteString(c.name + ": " + err.Error() + "\n")
	}
	golden := filepath.Join("testdata", "file_errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("errors differ from %s (go test -update to accept):\n%s", golden, got.String())
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defs, err := ParseFile([]byte(`webhooks:
  - {name: gh, provider: github, account: "011122223333", region: eu-west-1, secret_file: ` + secret + `}
  - {name: st, provider: stripe, account: "111122223333", region: us-east-1, secret: whsec, tolerance: 10m, event_bus_name: billing, source: com.example}
`))
	if err != nil {
		t.Fatal(err)
	}
	gh, st := defs["gh"], defs["st"]
	if gh == nil || string(gh.Secret) != "from-file" || gh.Account != "011122223333" || gh.EventBusName != "default" || gh.EventSource() != "webhook.github" || gh.Origin != OriginFile {
		t.Errorf("gh: %+v", gh)
	}
	if st == nil || st.ToleranceSeconds != 600 || st.EventBusName != "billing" || st.EventSource() != "com.example" {
		t.Errorf("st: %+v", st)
	}
	if defs, err := ParseFile(nil); err != nil || len(defs) != 0 {
		t.Errorf("empty file: %v %v", defs, err)
	}
}

// FuzzParseFile: no file makes ParseFile panic, and what it accepts checks.
func FuzzParseFile(f *testing.F) {
	f.Add("webhooks: [{name: a, provider: github, account: \"111122223333\", region: us-east-1, secret: s}]")
	f.Add("webhooks:\n  - name: a\n    provider: hmac\n    header: X\n")
	f.Add("webhooks: {a: 1}")
	f.Fuzz(func(t *testing.T, s string) {
		defs, err := ParseFile([]byte(s))
		if err != nil {
			return
		}
		for _, d := range defs {
			if err := d.Check(); err != nil {
				t.Fatalf("accepted %+v: %v", d, err)
			}
		}
	})
}
