package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// The webhooks file (YAML) defines webhooks beside the API's:
//
//	webhooks:
//	  - name: github-orders              # POST /webhooks/github-orders
//	    provider: github                 # github, stripe, slack, shopify, twilio, gitlab, hmac
//	    account: "111122223333"
//	    region: us-east-1
//	    event_bus_name: default
//	    secret: "..."                    # or secret_file: /run/secrets/github (its content, trimmed)
//	    source: com.example.github       # optional; default webhook.<provider>
//	    detail_type: ""                  # optional; default the provider's event type
//	    tolerance: 5m                    # optional (stripe, slack)
//	    url: https://hooks.example.com/webhooks/twilio   # twilio: the URL Twilio calls
//	    header: X-Signature              # hmac: the header, algorithm, encoding, prefix,
//	    algorithm: sha256                #   and where the event type and delivery id are
//	    encoding: hex
//	    prefix: "sha256="
//	    event_type_header: X-Event
//	    delivery_id_header: X-Delivery
//
// Every fault is an error naming the webhook it is in; so is an unknown
// field. The file holds secrets: it should be readable by its owner only.
type fileFormat struct {
	Webhooks []fileWebhook `yaml:"webhooks"`
}

type fileWebhook struct {
	Name             string `yaml:"name"`
	Provider         string `yaml:"provider"`
	Account          string `yaml:"account"`
	Region           string `yaml:"region"`
	EventBusName     string `yaml:"event_bus_name"`
	Secret           string `yaml:"secret"`
	SecretFile       string `yaml:"secret_file"`
	Source           string `yaml:"source"`
	DetailType       string `yaml:"detail_type"`
	Tolerance        string `yaml:"tolerance"`
	URL              string `yaml:"url"`
	Header           string `yaml:"header"`
	Algorithm        string `yaml:"algorithm"`
	Encoding         string `yaml:"encoding"`
	Prefix           string `yaml:"prefix"`
	EventTypeHeader  string `yaml:"event_type_header"`
	DeliveryIDHeader string `yaml:"delivery_id_header"`
}

// ParseFile reads a webhooks file's content.
func ParseFile(data []byte) (map[string]*Definition, error) {
	var f fileFormat
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	out := make(map[string]*Definition, len(f.Webhooks))
	for i, w := range f.Webhooks {
		what := fmt.Sprintf("webhooks[%d]", i)
		if w.Name != "" {
			what += " (" + w.Name + ")"
		}
		d := &Definition{Name: w.Name, Provider: w.Provider, Account: w.Account, Region: w.Region, EventBusName: w.EventBusName,
			Source: w.Source, DetailType: w.DetailType, URL: w.URL, Header: w.Header, Algorithm: w.Algorithm, Encoding: w.Encoding,
			Prefix: w.Prefix, EventTypeHeader: w.EventTypeHeader, DeliveryIDHeader: w.DeliveryIDHeader, Origin: OriginFile}
		if d.EventBusName == "" {
			d.EventBusName = "default"
		}
		switch {
		case w.Secret != "" && w.SecretFile != "":
			return nil, fmt.Errorf("%s: give secret or secret_file, not both", what)
		case w.SecretFile != "":
			b, err := os.ReadFile(w.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("%s: secret_file: %w", what, err)
			}
			d.Secret = bytes.TrimSpace(b)
		default:
			d.Secret = []byte(w.Secret)
		}
		if w.Tolerance != "" {
			t, err := time.ParseDuration(w.Tolerance)
			if err != nil || t%time.Second != 0 {
				return nil, fmt.Errorf("%s: tolerance %q: a whole number of seconds, such as 300s or 5m", what, w.Tolerance)
			}
			d.ToleranceSeconds = int(t / time.Second)
		}
		if err := d.Check(); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if _, dup := out[d.Name]; dup {
			return nil, fmt.Errorf("%s: the name is also an earlier webhook's", what)
		}
		out[d.Name] = d
	}
	return out, nil
}

// File is a webhooks file, loaded into a registry, and reloaded on SIGHUP
// and when it changes. A file that does not load keeps the definitions
// already loaded.
type File struct {
	path string
	reg  *Registry
	log  *slog.Logger
	seen stamp
}

// OpenFile loads the webhooks file at path into reg. An error here is the
// file's fault and should stop the server from starting.
func OpenFile(path string, reg *Registry, log *slog.Logger) (*File, error) {
	f := &File{path: path, reg: reg, log: log}
	n, err := f.load()
	if err != nil {
		return nil, err
	}
	log.Info("webhooks: file loaded", "file", path, "webhooks", n)
	return f, nil
}

func (f *File) load() (int, error) {
	st, err := stampOf(f.path)
	if err != nil {
		return 0, fmt.Errorf("webhooks file: %w", err)
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return 0, fmt.Errorf("webhooks file: %w", err)
	}
	defs, err := ParseFile(data)
	if err != nil {
		return 0, fmt.Errorf("webhooks file %s: %w", f.path, err)
	}
	if st.mode&0o077 != 0 {
		f.log.Warn("webhooks: the webhooks file holds secrets but others may read it; chmod 600 it", "file", f.path, "mode", st.mode.String())
	}
	f.reg.SetFile(defs)
	f.seen = st
	return len(defs), nil
}

// Reload loads the file again now. On error the definitions in force stay.
func (f *File) Reload() error {
	n, err := f.load()
	if err != nil {
		f.log.Error("webhooks: file not reloaded; the webhooks loaded before stay in force", "file", f.path, "err", err)
		return err
	}
	f.log.Info("webhooks: file reloaded", "file", f.path, "webhooks", n)
	return nil
}

// Watch reloads the file on SIGHUP and whenever its modification time,
// size or inode changes (checked every poll), until ctx ends.
func (f *File) Watch(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var failed stamp
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			f.log.Info("webhooks: SIGHUP, reloading the webhooks file", "file", f.path)
			_ = f.Reload()
		case <-tick.C:
			st, err := stampOf(f.path)
			if err != nil || st == f.seen || st == failed {
				continue
			}
			if f.Reload() != nil {
				failed = st
			}
		}
	}
}

// stamp tells one version of a file from another.
type stamp struct {
	mtime int64
	size  int64
	ino   uint64
	mode  os.FileMode
}

func stampOf(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	st := stamp{mtime: fi.ModTime().UnixNano(), size: fi.Size(), mode: fi.Mode().Perm()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st, nil
}
