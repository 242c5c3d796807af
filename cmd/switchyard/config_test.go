package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestConfigFlags(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       map[string]string
		err        string
	}{
		{name: "scalars", file: "listen: 0.0.0.0:4010\nreplicas: 3\nstore-first: true\n",
			want: map[string]string{"listen": "0.0.0.0:4010", "replicas": "3", "store-first": "true"}},
		{name: "list joined with commas", file: "deny: [10.0.0.0/8, \"fd00::/8\"]\n", want: map[string]string{"deny": "10.0.0.0/8,fd00::/8"}},
		{name: "mapping as key=value", file: "aws-endpoint:\n  sqs: http://a\n  sns: http://b\n", want: map[string]string{"aws-endpoint": "sqs=http://a,sns=http://b"}},
		{name: "command line wins", file: "listen: 0.0.0.0:1\n", args: []string{"--listen", "127.0.0.1:2"}, want: map[string]string{"listen": "127.0.0.1:2"}},
		{name: "empty file", file: "", want: map[string]string{"listen": "127.0.0.1:4010"}},
		{name: "unknown key", file: "lisen: x\n", err: `"lisen" is not a serve flag`},
		{name: "config itself", file: "config: other.yaml\n", err: `"config" is not a serve flag`},
		{name: "bad value", file: "replicas: many\n", err: "replicas"},
		{name: "nested list", file: "deny: [[a]]\n", err: "a list of plain values"},
		{name: "not YAML", file: "listen: [\n", err: "--config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			fs.String("listen", "127.0.0.1:4010", "")
			fs.Int("replicas", 1, "")
			fs.Bool("store-first", false, "")
			fs.String("deny", "", "")
			fs.String("aws-endpoint", "", "")
			fs.String("config", "", "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "switchyard.yaml")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			err := configFlags(fs, path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got := fs.Lookup(k).Value.String(); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
