package schemas

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

// BenchmarkPutEventsDiscovery measures what the Schema Registry's hooks
// cost PutEvents (10 entries of 256-byte detail a call, on an embedded
// store, calls from GOMAXPROCS×4 goroutines): without them, on a bus with
// no discoverer and no validation, on a bus whose discoverer is STARTED
// (every entry of one source and detail-type: sampled 5 a second), and on
// a bus validating against a registered schema. Recorded in
// docs/performance.md.
func BenchmarkPutEventsDiscovery(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, ctl := controltest.Open(b, store.Config{Sync: time.Second, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	var g errgroup.Group
	b.Cleanup(func() { cancel(); _ = g.Wait() })
	sc := control.Scope{Account: "111122223333", Region: "us-east-1"}
	for _, bus := range []string{"plain", "discovered", "validated"} {
		in := control.BusInput{Name: bus}
		if bus == "validated" {
			in.Tags = []control.Tag{{Key: ValidationTag, Value: "contracts"}}
		}
		if _, err := ctl.CreateEventBus(ctx, sc, in); err != nil {
			b.Fatal(err)
		}
	}
	svc, err := Open(ctx, Config{JS: st.JS, View: ctl.View(), Log: quiet, Group: &g, Ctx: ctx})
	if err != nil {
		b.Fatal(err)
	}
	d := Discoverer{ID: discovererID("discovered"), SourceArn: control.BusARN(sc, "discovered"), State: StateStarted, CrossAccount: true}
	if _, err := svc.db.swap(ctx, key(kindDiscoverer, sc, d.ID), &d, 0); err != nil {
		b.Fatal(err)
	}
	reg := Registry{Name: "contracts"}
	if _, err := svc.db.swap(ctx, key(kindRegistry, sc, "contracts"), &reg, 0); err != nil {
		b.Fatal(err)
	}
	schema := `{"openapi":"3.0.0","info":{"version":"1.0.0","title":"Bench"},"paths":{},"components":{"schemas":{"AWSEvent":{"type":"object","required":["detail"],"properties":{"detail":{"$ref":"#/components/schemas/Bench"}}},"Bench":{"type":"object","required":["pad"],"properties":{"pad":{"type":"string"},"n":{"type":"integer"}}}}}}`
	if _, _, err := svc.addVersion(ctx, sc, "contracts", DiscoveredName("bench.app", "Bench Event"), mustNotExist, "", func(*Schema) ([]byte, string, bool, error) {
		return []byte(schema), TypeOpenAPI3, true, nil
	}); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, ok := (*svc.disc.started.Load())[busRef{sc.Account, sc.Region, "discovered"}]
		if ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("discoverer not seen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	in := ingest.NewService(st.JS, ctl, quiet)
	detail := fmt.Sprintf(`{"n":1,"pad":%q}`, strings.Repeat("x", 256-16))
	entries := func(bus string) []ingest.Entry {
		es := make([]ingest.Entry, 10)
		src, dt := "bench.app", "Bench Event"
		for i := range es {
			es[i] = ingest.Entry{Source: &src, DetailType: &dt, Detail: &detail, EventBusName: &bus}
		}
		return es
	}
	for _, c := range []struct {
		name, bus string
		hook      bool
	}{
		{"hooks=off", "plain", false},
		{"hooks=on/bus=plain", "plain", true},
		{"hooks=on/bus=discovered", "discovered", true},
		{"hooks=on/bus=validated", "validated", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			in.Hook = nil
			if c.hook {
				in.Hook = svc
			}
			b.SetParallelism(4)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				es := entries(c.bus)
				for pb.Next() {
					res, err := in.PutEvents(ctx, sc, es)
					if err != nil {
						b.Error(err)
						return
					}
					for _, r := range res {
						if r.ErrorCode != "" {
							b.Errorf("%s: %s", r.ErrorCode, r.ErrorMessage)
							return
						}
					}
				}
			})
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkHookPerEntry measures the hooks' own cost for one entry, what
// they add to PutEvents beside storing it: Check and Stored for an entry
// of a bus with neither discovery nor validation, and of a bus with a
// started discoverer (its entries past the 5 a second that are sampled:
// what nearly every entry under load costs).
func BenchmarkHookPerEntry(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, ctl := controltest.Open(b, store.Config{Sync: time.Second, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	b.Cleanup(func() { cancel(); _ = g.Wait() })
	sc := control.Scope{Account: "111122223333", Region: "us-east-1"}
	for _, bus := range []string{"plain", "discovered"} {
		if _, err := ctl.CreateEventBus(ctx, sc, control.BusInput{Name: bus}); err != nil {
			b.Fatal(err)
		}
	}
	svc, err := Open(ctx, Config{JS: st.JS, View: ctl.View(), Log: quiet, Group: &g, Ctx: ctx})
	if err != nil {
		b.Fatal(err)
	}
	svc.disc.setStarted(busRef{sc.Account, sc.Region, "discovered"}, true, true)
	event := []byte(`{"version":"0","id":"1","detail-type":"Bench Event","source":"bench.app","account":"111122223333","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"n":1}}`)
	build := func() []byte { return event }
	for _, bus := range []string{"plain", "discovered"} {
		b.Run("bus="+bus, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// As ingest calls them.
					check, stored := svc.Watches(sc, sc, bus)
					if check {
						if code, _ := svc.Check(ctx, sc, bus, "bench.app", "Bench Event", build); code != "" {
							b.Error(code)
						}
					}
					if stored {
						svc.Stored(sc, sc, bus, "bench.app", "Bench Event", build)
					}
				}
			})
		})
	}
}
