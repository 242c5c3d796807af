package peer

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

func TestParsePeer(t *testing.T) {
	for _, c := range []struct {
		in, region, url, err string
	}{
		{"us-west-2=http://10.0.0.2:4010", "us-west-2", "http://10.0.0.2:4010", ""},
		{"eu-central-1=https://switchyard.eu.example/", "eu-central-1", "https://switchyard.eu.example", ""},
		{"us-west-2", "", "", "want REGION=URL"},
		{"=http://h:1", "", "", "want REGION=URL"},
		{"US_WEST=http://h:1", "", "", "is not a region name"},
		{"us-west-2=h:1", "", "", "is not the http(s)://host:port URL"},
		{"us-west-2=ftp://h:1", "", "", "is not the http(s)://host:port URL"},
		{"us-west-2=http://h:1/api", "", "", "is not the http(s)://host:port URL"},
		{"us-west-2=http://h:1?x=1", "", "", "is not the http(s)://host:port URL"},
		{"us-west-2=http://", "", "", "is not the http(s)://host:port URL"},
	} {
		r, u, err := ParsePeer(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || r != c.region || u != c.url {
			t.Errorf("%q: %q %q %v", c.in, r, u, err)
		}
	}
}

// FuzzParsePeer: no value panics the parser, and one it accepts names a
// valid region and an http(s) URL.
func FuzzParsePeer(f *testing.F) {
	for _, s := range []string{"us-west-2=http://10.0.0.2:4010", "a=b", "us-west-2=https://[::1]:4010/", "=", "x=http://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, u, err := ParsePeer(s)
		if err != nil {
			return
		}
		if !control.ValidRegion(r) || !(strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) {
			t.Fatalf("%q accepted as %q %q", s, r, u)
		}
	})
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, content string
		mode          os.FileMode
		err           string
	}{
		{"ok", "access_key_id: AKID\nsecret_access_key: s\n", 0o600, ""},
		{"readable", "access_key_id: AKID\nsecret_access_key: s\n", 0o644, "lets others read the key"},
		{"no secret", "access_key_id: AKID\n", 0o600, "access_key_id and secret_access_key are required"},
		{"typo", "access_key_id: AKID\nsecret_acess_key: s\n", 0o600, "not found"},
		{"not yaml", "[", 0o600, "yaml"},
	} {
		k, err := LoadKey(write(c.name, c.content, c.mode))
		if c.err == "" {
			if err != nil || k.AccessKeyID != "AKID" || k.SecretAccessKey != "s" {
				t.Errorf("%s: %+v %v", c.name, k, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing key file loaded")
	}
}

func TestPeersServes(t *testing.T) {
	key := Key{AccessKeyID: "a", SecretAccessKey: "b"}
	p, err := New(Config{Peers: map[string]string{"us-west-2": "http://w:1"}, Regions: []string{"us-east-1"}, Key: key}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	for r, want := range map[string][2]bool{"us-east-1": {true, false}, "us-west-2": {false, true}, "eu-west-1": {false, false}} {
		if p.Serves(r) != want[0] || p.Remote(r) != want[1] {
			t.Errorf("%s: serves %v remote %v", r, p.Serves(r), p.Remote(r))
		}
	}
	all, err := New(Config{Peers: map[string]string{"us-west-2": "http://w:1"}, Key: key}, slog.Default())
	if err != nil || !all.Serves("eu-west-1") || all.Serves("us-west-2") {
		t.Errorf("without --regions: %v", err)
	}
	for _, c := range []struct {
		cfg Config
		err string
	}{
		{Config{Peers: map[string]string{"us-west-2": "http://w:1"}}, "needs --region-peer-key-file"},
		{Config{Peers: map[string]string{"us-west-2": "http://w:1"}, Regions: []string{"us-west-2"}, Key: key}, "is in --regions and also --region-peer's"},
		{Config{Regions: []string{"nowhere!"}}, "is not a region name"},
	} {
		if _, err := New(c.cfg, slog.Default()); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.err)
		}
	}
}

func TestBatches(t *testing.T) {
	ev := func(sizes ...int) []ingest.PeerEvent {
		out := make([]ingest.PeerEvent, len(sizes))
		for i, n := range sizes {
			out[i].Envelope = make([]byte, n)
		}
		return out
	}
	for _, c := range []struct {
		sizes []int
		want  [][2]int
	}{
		{nil, nil},
		{[]int{1}, [][2]int{{0, 1}}},
		{[]int{4, 4, 2}, [][2]int{{0, 3}}}, // exactly max
		{[]int{4, 4, 3}, [][2]int{{0, 2}, {2, 3}}},
		{[]int{11, 1}, [][2]int{{0, 1}, {1, 2}}}, // larger than max: alone
		{[]int{5, 5, 5, 5}, [][2]int{{0, 2}, {2, 4}}},
	} {
		if got := batches(ev(c.sizes...), 10); !slices.Equal(got, c.want) {
			t.Errorf("%v: %v, want %v", c.sizes, got, c.want)
		}
	}
}
