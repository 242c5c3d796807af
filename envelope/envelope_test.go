package envelope

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counting wraps the local provider, counting its calls.
type counting struct {
	*Local
	gen, dec atomic.Int32
}

func (c *counting) GenerateDataKey(ctx context.Context, keyID string, ec Context) (DataKey, error) {
	c.gen.Add(1)
	return c.Local.GenerateDataKey(ctx, keyID, ec)
}

func (c *counting) Decrypt(ctx context.Context, keyID string, w []byte, ec Context) ([]byte, error) {
	c.dec.Add(1)
	return c.Local.Decrypt(ctx, keyID, w, ec)
}

func newLocal(t testing.TB, fill byte) *Local {
	t.Helper()
	l, err := NewLocal(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var busEC = Context{"aws:events:event-bus:arn": "arn:aws:events:us-east-1:123456789012:event-bus/orders"}

func TestSealOpen(t *testing.T) {
	p := &counting{Local: newLocal(t, 1)}
	s := New(p, Options{})
	ctx := context.Background()
	for _, plain := range [][]byte{[]byte(`{"a":1}`), {}, bytes.Repeat([]byte("x"), 1<<20)} {
		sealed, err := s.Seal(ctx, "key-1", busEC, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !IsSealed(sealed) || (len(plain) > 4 && bytes.Contains(sealed, plain)) {
			t.Fatalf("sealed value holds its plaintext")
		}
		got, ec, err := New(p, Options{}).Open(ctx, sealed) // another process: unwraps through the provider
		if err != nil || !bytes.Equal(got, plain) || ec["aws:events:event-bus:arn"] != busEC["aws:events:event-bus:arn"] {
			t.Fatalf("Open = %d bytes, %v, %v", len(got), ec, err)
		}
		id, _, err := Inspect(sealed)
		if err != nil || id != "key-1" {
			t.Fatalf("Inspect = %q, %v", id, err)
		}
	}
	// One data key sealed all three; the other sealers each unwrapped it.
	if p.gen.Load() != 1 || p.dec.Load() != 3 {
		t.Fatalf("provider calls: %d GenerateDataKey, %d Decrypt", p.gen.Load(), p.dec.Load())
	}
}

func TestCacheBounds(t *testing.T) {
	p := &counting{Local: newLocal(t, 1)}
	now := time.Unix(1e9, 0)
	s := New(p, Options{TTL: time.Minute, MaxUses: 10})
	s.now = func() time.Time { return now }
	ctx := context.Background()
	var last []byte
	for range 25 {
		var err error
		if last, err = s.Seal(ctx, "k", busEC, []byte("e")); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.gen.Load(); n != 3 {
		t.Fatalf("25 seals at 10 uses a key: %d data keys, want 3", n)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Seal(ctx, "k", busEC, []byte("e")); err != nil || p.gen.Load() != 4 {
		t.Fatalf("expired data key reused (%d keys, %v)", p.gen.Load(), err)
	}
	// The unwrapped key of last expired too: opening asks the provider.
	if _, _, err := s.Open(ctx, last); err != nil || p.dec.Load() != 1 {
		t.Fatalf("open after TTL: %d Decrypt calls, %v", p.dec.Load(), err)
	}
	// Another context is another data key.
	if _, err := s.Seal(ctx, "k", Context{"aws:events:event-bus:arn": "other"}, []byte("e")); err != nil || p.gen.Load() != 5 {
		t.Fatalf("context shares a data key (%d keys, %v)", p.gen.Load(), err)
	}
}

func TestMaxKeys(t *testing.T) {
	p := &counting{Local: newLocal(t, 1)}
	s := New(p, Options{MaxKeys: 4, MaxUses: 1})
	ctx := context.Background()
	for range 50 {
		if _, err := s.Seal(ctx, "k", busEC, []byte("e")); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.dec) > 4 {
		t.Fatalf("%d unwrapped keys kept, bound 4", len(s.dec))
	}
}

func TestTamper(t *testing.T) {
	s := New(newLocal(t, 1), Options{})
	ctx := context.Background()
	sealed, err := s.Seal(ctx, "k", busEC, []byte(`{"secret":"value"}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x41
		if got, _, err := New(newLocal(t, 1), Options{}).Open(ctx, bad); err == nil {
			t.Fatalf("byte %d flipped: opened to %q", i, got)
		} else if !IsPermanent(err) {
			t.Fatalf("byte %d flipped: %v is not permanent", i, err)
		}
	}
	for n := range len(sealed) {
		if _, _, err := s.Open(ctx, sealed[:n]); !IsPermanent(err) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	// Under another master key it does not open either.
	if _, _, err := New(newLocal(t, 2), Options{}).Open(ctx, sealed); !IsPermanent(err) {
		t.Fatalf("opened under another master key: %v", err)
	}
}

// hanging is a key service that never answers.
type hanging struct{ calls atomic.Int32 }

func (h *hanging) GenerateDataKey(ctx context.Context, _ string, _ Context) (DataKey, error) {
	h.calls.Add(1)
	<-ctx.Done()
	return DataKey{}, &Error{Op: "GenerateDataKey", Code: "Timeout", Err: ctx.Err()}
}

func (h *hanging) Decrypt(ctx context.Context, _ string, _ []byte, _ Context) ([]byte, error) {
	h.calls.Add(1)
	<-ctx.Done()
	return nil, &Error{Op: "Decrypt", Code: "Timeout", Err: ctx.Err()}
}

func TestHangingProviderIsBounded(t *testing.T) {
	h := &hanging{}
	s := New(h, Options{Timeout: 200 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := s.Seal(context.Background(), "k", busEC, []byte("e"))
			errs <- err
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Seal blocked past the provider timeout")
	}
	close(errs)
	for err := range errs {
		if err == nil || IsPermanent(err) {
			t.Fatalf("hanging provider: %v, want a retryable error", err)
		}
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("20 concurrent seals made %d provider calls, want 1", n)
	}
	// Within RetryDelay of the failure, callers fail at once, retryably,
	// without asking the key service.
	t0 := time.Now()
	if _, err := s.Seal(context.Background(), "k", busEC, []byte("e")); err == nil || IsPermanent(err) || time.Since(t0) > 100*time.Millisecond {
		t.Fatalf("within the retry delay: %v after %s", err, time.Since(t0))
	}
	if n := h.calls.Load(); n != 1 {
		t.Fatalf("within the retry delay the key service was asked again (%d calls)", n)
	}
	// After it, the service is asked again; a caller's own deadline ends
	// its wait sooner than the timeout.
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Seal(ctx, "k", busEC, []byte("e")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller deadline: %v", err)
	}
	if n := h.calls.Load(); n != 2 {
		t.Fatalf("after the retry delay: %d calls, want 2", n)
	}
}

// A key service that is down for one key does not hold up another's.
func TestOtherKeysUnaffected(t *testing.T) {
	p := &splitProvider{ok: newLocal(t, 1), bad: &hanging{}}
	s := New(p, Options{Timeout: 300 * time.Millisecond})
	if _, err := s.Seal(context.Background(), "bad", busEC, []byte("e")); err == nil {
		t.Fatal("hanging key sealed")
	}
	t0 := time.Now()
	if _, err := s.Seal(context.Background(), "good", busEC, []byte("e")); err != nil || time.Since(t0) > 200*time.Millisecond {
		t.Fatalf("other key: %v after %s", err, time.Since(t0))
	}
}

// splitProvider serves key "bad" from bad and every other from ok.
type splitProvider struct {
	ok  *Local
	bad Provider
}

func (p *splitProvider) GenerateDataKey(ctx context.Context, keyID string, ec Context) (DataKey, error) {
	if keyID == "bad" {
		return p.bad.GenerateDataKey(ctx, keyID, ec)
	}
	return p.ok.GenerateDataKey(ctx, keyID, ec)
}

func (p *splitProvider) Decrypt(ctx context.Context, keyID string, w []byte, ec Context) ([]byte, error) {
	if keyID == "bad" {
		return p.bad.Decrypt(ctx, keyID, w, ec)
	}
	return p.ok.Decrypt(ctx, keyID, w, ec)
}

func TestLoadLocal(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		text string
		ok   bool
	}{
		"base64": {"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", true},
		"hex":    {"0101010101010101010101010101010101010101010101010101010101010101", true},
		"short":  {"AQEB", false},
		"empty":  {"", false},
		"junk":   {"not a key at all, really not", false},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := LoadLocal(path)
		if (err == nil) != tc.ok {
			t.Fatalf("%s: %v", name, err)
		}
		if tc.ok {
			// Both spellings are the same key: what one sealed the other opens.
			sealed, err := New(newLocal(t, 1), Options{}).Seal(context.Background(), "k", busEC, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := New(l, Options{}).Open(context.Background(), sealed); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	if _, err := LoadLocal(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file loaded")
	}
}

func FuzzOpen(f *testing.F) {
	s := New(newLocal(f, 1), Options{})
	sealed, err := s.Seal(context.Background(), "arn:aws:kms:us-east-1:123456789012:key/k", busEC, []byte(`{"a":1}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte("SYE\x01"))
	f.Add([]byte(`{"version":"0"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, _, err := s.Open(context.Background(), b)
		if err == nil && !bytes.Equal(b, sealed) && !bytes.Equal(plain, []byte(`{"a":1}`)) {
			t.Fatalf("opened a value never sealed: %q", plain)
		}
		if err != nil && !IsPermanent(err) {
			t.Fatalf("malformed value: %v is not permanent", err)
		}
	})
}

// BenchmarkSeal and BenchmarkOpen measure one events-stream message of a
// PutEvents call (10 events of 256-byte Detail, about 4 KiB) sealed and
// opened with a cached data key: the per-message cost of encrypting a bus.
func BenchmarkSeal(b *testing.B) {
	s := New(newLocal(b, 1), Options{})
	msg := bytes.Repeat([]byte("x"), 4096)
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(ctx, "k", busEC, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := New(newLocal(b, 1), Options{})
	ctx := context.Background()
	sealed, err := s.Seal(ctx, "k", busEC, bytes.Repeat([]byte("x"), 4096))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Open(ctx, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden opens a value sealed by an earlier build (testdata), so that
// a change of the format that would strand stored events fails here.
func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "sealed-v1.bin")
	l := newLocal(t, 1)
	if *update {
		sealed, err := New(l, Options{}).Seal(context.Background(), "arn:aws:kms:us-east-1:123456789012:key/golden", busEC, []byte(`{"golden":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, sealed, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sealed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, ec, err := New(l, Options{}).Open(context.Background(), sealed)
	if err != nil || string(plain) != `{"golden":true}` || ec["aws:events:event-bus:arn"] != busEC["aws:events:event-bus:arn"] {
		t.Fatalf("golden value: %q %v %v", plain, ec, err)
	}
	if id, _, _ := Inspect(sealed); id != "arn:aws:kms:us-east-1:123456789012:key/golden" {
		t.Fatalf("golden key id %q", id)
	}
}
