package console

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got, as indented JSON, with testdata/name (rewritten
// under -update).
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(b) != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, b, want)
	}
}

// TestParseMetrics reads a /metrics exposition (counters of several
// scopes, escaped label values, other metric types, malformed lines) with
// the console's parser and sums a rule's and a target's counters.
func TestParseMetrics(t *testing.T) {
	text, err := os.ReadFile("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Series []map[string]any   `json:"series"`
		Sums   map[string]float64 `json:"sums"`
	}
	runNode(t, `import { parseMetrics, sumFor } from "./parse.js";
import { readFileSync } from "node:fs";
const text = JSON.parse(readFileSync(0, "utf8"));
const series = parseMetrics(text);
const s = { account: "123456789012", region: "us-east-1" };
const sums = {
  "MatchedEvents orders/created": sumFor(series, "MatchedEvents", s, "orders", "created"),
  "Invocations orders/created": sumFor(series, "Invocations", s, "orders", "created"),
  "Invocations orders/created hook": sumFor(series, "Invocations", s, "orders", "created", "hook"),
  "FailedInvocations orders/created hook": sumFor(series, "FailedInvocations", s, "orders", "created", "hook"),
  "InvocationsSentToDlq orders/created queue": sumFor(series, "InvocationsSentToDlq", s, "orders", "created", "queue"),
  "MatchedEvents default/odd": sumFor(series, "MatchedEvents", s, "default", 'odd "quoted" \\ name\nline'),
};
process.stdout.write(JSON.stringify({ series, sums }));
`, string(text), &got)
	golden(t, "metrics.golden.json", got)
	for k, want := range map[string]float64{
		"MatchedEvents orders/created": 42, "Invocations orders/created": 42, "Invocations orders/created hook": 40,
		"FailedInvocations orders/created hook": 15, "InvocationsSentToDlq orders/created queue": 0, "MatchedEvents default/odd": 3,
	} {
		if got.Sums[k] != want {
			t.Errorf("%s = %v, want %v", k, got.Sums[k], want)
		}
	}
}

// TestParseSSE feeds a tail's stream (LF, CRLF and CR line ends,
// comments, multi-line data, an event left unterminated) to the
// console's parser whole, cut at every position, and byte by byte: every
// way gives the same events.
func TestParseSSE(t *testing.T) {
	stream, err := os.ReadFile("testdata/tail.sse")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Whole [][2]string `json:"whole"`
		Cuts  []string    `json:"cuts"` // the cuts that differed
		Bytes bool        `json:"bytes_same"`
	}
	runNode(t, `import { sseParser } from "./parse.js";
import { readFileSync } from "node:fs";
const text = JSON.parse(readFileSync(0, "utf8"));
const run = (pieces) => { const out = []; const push = sseParser((t, d) => out.push([t, d])); for (const p of pieces) push(p); return out; };
const whole = run([text]);
const same = (a) => JSON.stringify(a) === JSON.stringify(whole);
const cuts = [];
for (let i = 1; i < text.length; i++) if (!same(run([text.slice(0, i), text.slice(i)]))) cuts.push(String(i));
process.stdout.write(JSON.stringify({ whole, cuts, bytes_same: same(run([...text])) }));
`, string(stream), &got)
	golden(t, "tail.golden.json", got.Whole)
	if len(got.Cuts) > 0 || !got.Bytes {
		t.Errorf("cut at %v (or byte by byte: same=%v), the stream parses differently", got.Cuts, got.Bytes)
	}
	if len(got.Whole) != 6 {
		t.Errorf("%d events, want 6 (ready, three events, a message, an error; the unterminated one not yet)", len(got.Whole))
	}
}
