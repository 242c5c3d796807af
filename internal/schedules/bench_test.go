package schedules

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

// BenchmarkSchedules measures the engine with many schedules in one
// process on the embedded JetStream: the memory its index of the
// schedules takes, how long it takes to load them, and how late it fires
// their occurrences. Every schedule is a one-time at() schedule; their
// times are spread evenly over one minute starting a minute after the
// benchmark begins (so that writing and loading are done by then), and the
// lateness of an occurrence is the time from its due time to its task
// being stored on the delivery stream and its fire record written (the
// deliverer's call of the target comes after, as for any event). Run with
// -benchtime=1x:
//
//	go test -run XXX -bench BenchmarkSchedules -benchtime=1x ./internal/schedules/
func BenchmarkSchedules(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				benchSchedules(b, n)
			}
		})
	}
}

func benchSchedules(b *testing.B, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Config{DataDir: b.TempDir(), Sync: time.Second, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc, err := New(ctx, st, 1, quiet)
	if err != nil {
		b.Fatal(err)
	}
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	start := time.Now().Add(time.Minute).Truncate(time.Second)
	spread := time.Minute
	created := Time{time.Now().UTC()}
	write := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const writers = 32
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				at := start.Add(time.Duration(i) * spread / time.Duration(n)).UTC()
				s := Schedule{Name: fmt.Sprintf("s%06d", i), GroupName: DefaultGroup, State: "ENABLED",
					ScheduleExpression: "at(" + at.Format("2006-01-02T15:04:05") + ")",
					FlexibleTimeWindow: FlexibleTimeWindow{Mode: "OFF"},
					Target: Target{Arn: "arn:aws:sqs:us-east-1:123456789012:q", RoleArn: "arn:aws:iam::123456789012:role/r",
						Input: ptr(`{"at":"<aws.scheduler.scheduled-time>"}`)},
					CreationDate: created, LastModificationDate: created}
				v, _ := json.Marshal(&s)
				if _, err := svc.repo.kv.Put(ctx, scheduleKey(sc, DefaultGroup, s.Name), v); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	wrote := time.Since(write)

	var mu sync.Mutex
	late := make([]time.Duration, 0, n)
	svc.Engine.Observe = func(d time.Duration) {
		mu.Lock()
		late = append(late, d)
		mu.Unlock()
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	load := time.Now()
	done := make(chan error, 1)
	go func() { done <- svc.Engine.Run(ctx) }()
	<-svc.Engine.Ready()
	loaded := time.Since(load)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if got := svc.Engine.Len(); got != n {
		b.Fatalf("engine holds %d schedules, want %d", got, n)
	}
	// What ListSchedules costs a page beyond its reads: the sorted keys
	// of the scope from the engine's index.
	t0 := time.Now()
	if keys, ok := svc.Engine.Keys(scopeKey("s", sc) + "."); !ok || len(keys) != n {
		b.Fatalf("index: %d keys, %v", len(keys), ok)
	}
	listKeys := time.Since(t0)
	if time.Now().After(start) {
		b.Logf("loading ended %v after the first occurrence: lateness includes it", time.Since(start))
	}
	deadline := start.Add(spread + 5*time.Minute)
	for svc.Engine.Claimed.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(late) != n {
		b.Fatalf("fired %d of %d occurrences", len(late), n)
	}
	slices.Sort(late)
	q := func(p float64) time.Duration { return late[min(len(late)-1, int(p*float64(len(late))))] }
	perSchedule := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	b.ReportMetric(perSchedule, "heap-B/schedule")
	b.ReportMetric(q(0.5).Seconds()*1000, "p50-late-ms")
	b.ReportMetric(q(0.99).Seconds()*1000, "p99-late-ms")
	b.ReportMetric(late[len(late)-1].Seconds()*1000, "max-late-ms")
	b.ReportMetric(loaded.Seconds(), "load-s")
	b.ReportMetric(listKeys.Seconds()*1000, "list-keys-ms")
	b.ReportMetric(wrote.Seconds(), "write-s")
}
