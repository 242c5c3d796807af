// Package envelope encrypts data with envelope encryption, as AWS KMS
// clients do: each piece of data is sealed with AES-256-GCM under a data
// key, and the data key, wrapped by a master key that never leaves its
// Provider (AWS KMS, or a local key file), is stored beside the
// ciphertext together with the master key's id and the encryption
// context. A sealed value is therefore self-describing: it opens with no
// outside knowledge of which key or context sealed it, so changing the
// key that seals new data never strands data sealed before.
//
// A Sealer caches data keys so that sealing does not call the provider per
// value: a data key seals for at most Options.TTL and Options.MaxUses
// values, and unwrapped data keys are kept for at most Options.TTL, at most
// Options.MaxKeys of them. Every provider call is bounded by
// Options.Timeout, so a hanging key service delays a caller by at most
// that much.
//
// The package has no dependency on the rest of Switchyard.
package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// A sealed value is
//
//	magic "SYE\x01"
//	uint16 len, master key id
//	uint16 n, then n pairs of (uint16 len, key; uint16 len, value): the
//	  encryption context, keys sorted
//	uint16 len, wrapped data key
//	12-byte nonce
//	AES-256-GCM ciphertext and tag
//
// all lengths big-endian. Everything before the nonce is the GCM
// additional data: a value whose key id, context or wrapped key was
// altered does not open.
var magic = []byte("SYE\x01")

const nonceSize = 12

// IsSealed reports whether b starts as a sealed value does. Switchyard's
// plaintext forms (JSON, and its own binary forms) never start so.
func IsSealed(b []byte) bool { return bytes.HasPrefix(b, magic) }

// Context is an encryption context: non-secret key-value pairs bound to
// the data key (KMS refuses to unwrap it under another context) and to
// the ciphertext.
type Context map[string]string

// DataKey is a data key a Provider made: its plaintext, which seals data,
// and its wrapped form, which is stored.
type DataKey struct {
	// KeyID is the master key's id as the provider names it (for AWS
	// KMS, the key ARN), the id Decrypt is given.
	KeyID   string
	Plain   []byte
	Wrapped []byte
}

// Provider makes data keys under master keys and unwraps them.
type Provider interface {
	GenerateDataKey(ctx context.Context, keyID string, ec Context) (DataKey, error)
	Decrypt(ctx context.Context, keyID string, wrapped []byte, ec Context) ([]byte, error)
}

// Error is a provider's failure: Code is the key service's error code
// (for AWS KMS, its exception name, such as "DisabledException") and
// Permanent says whether trying again can succeed without someone acting
// on the key (enabling it, restoring its policy).
type Error struct {
	Op        string // "GenerateDataKey" or "Decrypt"
	KeyID     string
	Code      string
	Permanent bool
	Err       error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s with key %s: %s: %v", e.Op, e.KeyID, e.Code, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrCorrupt is returned for a value that is not a well-formed sealed
// value or whose ciphertext does not authenticate: it never will.
var ErrCorrupt = errors.New("envelope: sealed value is corrupt")

// IsPermanent reports whether err, from Seal or Open, cannot go away by
// trying again: a corrupt value, or a key the provider refuses to use.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrCorrupt) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// Options bound a Sealer's cache and its calls of the provider.
type Options struct {
	// TTL is how long a data key seals new values, and how long an
	// unwrapped data key is kept (default 5 minutes).
	TTL time.Duration
	// MaxUses is how many values one data key seals (default 100000).
	MaxUses int
	// MaxKeys is how many unwrapped data keys are kept (default 1000).
	MaxKeys int
	// Timeout bounds each provider call (default 5 seconds).
	Timeout time.Duration
	// RetryDelay is how long, after a provider call for a key failed for
	// a reason that may pass (unreachable, throttled, too slow), calls
	// for that key fail at once with that error rather than wait again
	// (default 1 second): a key service that is down costs each caller
	// nothing, and the callers of other keys are not queued behind it.
	RetryDelay time.Duration
}

// Sealer seals and opens values, caching data keys.
type Sealer struct {
	p    Provider
	opts Options
	now  func() time.Time

	mu  sync.Mutex
	enc map[string]*encKey  // by master key id and context
	dec map[string]*decKey  // by wrapped key
	gen map[string]*genCall // data keys being made, by the enc key
	// down holds the keys whose last provider call failed retryably, by
	// master key id, until RetryDelay has passed.
	down map[string]downKey
}

type downKey struct {
	until time.Time
	err   error
}

// isDown returns the recent retryable failure of keyID, if any; s.mu is
// held.
func (s *Sealer) isDown(keyID string) error {
	d, ok := s.down[keyID]
	if !ok {
		return nil
	}
	if !s.now().Before(d.until) {
		delete(s.down, keyID)
		return nil
	}
	return fmt.Errorf("envelope: key %s unavailable, not asked again until %s: %w", keyID, d.until.UTC().Format(time.RFC3339Nano), d.err)
}

// failed notes a provider failure for keyID; s.mu is held.
func (s *Sealer) failed(keyID string, err error) {
	if !IsPermanent(err) {
		s.down[keyID] = downKey{until: s.now().Add(s.opts.RetryDelay), err: err}
	}
}

type encKey struct {
	hdr  []byte // the sealed values' header: key id, context, wrapped key
	aead cipher.AEAD
	made time.Time
	uses int
}

type decKey struct {
	aead cipher.AEAD
	made time.Time
}

type genCall struct {
	done chan struct{}
	key  *encKey
	err  error
}

// New returns a sealer over p.
func New(p Provider, opts Options) *Sealer {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.MaxUses <= 0 {
		opts.MaxUses = 100000
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 1000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	return &Sealer{p: p, opts: opts, now: time.Now, enc: map[string]*encKey{}, dec: map[string]*decKey{}, gen: map[string]*genCall{},
		down: map[string]downKey{}}
}

// Seal seals plain under master key keyID with context ec.
func (s *Sealer) Seal(ctx context.Context, keyID string, ec Context, plain []byte) ([]byte, error) {
	k, err := s.encKey(ctx, keyID, ec)
	if err != nil {
		return nil, err
	}
	n := len(k.hdr)
	out := make([]byte, n+nonceSize, n+nonceSize+len(plain)+k.aead.Overhead())
	copy(out, k.hdr)
	if _, err := rand.Read(out[n:]); err != nil {
		return nil, fmt.Errorf("envelope: nonce: %w", err)
	}
	return k.aead.Seal(out, out[n:n+nonceSize], plain, out[:n]), nil
}

// cacheID names the data key of (keyID, ec) in the cache. The usual
// context, one pair, costs one allocation.
func cacheID(keyID string, ec Context) string {
	if len(ec) == 1 {
		for k, v := range ec {
			return keyID + "\x00" + k + "\x00" + v
		}
	}
	return string(appendHeader(nil, keyID, ec, nil))
}

// encKey returns the data key sealing for (keyID, ec), making one when
// there is none or it is spent. Concurrent callers share one provider
// call; each waits for it at most until its ctx ends.
func (s *Sealer) encKey(ctx context.Context, keyID string, ec Context) (*encKey, error) {
	id := cacheID(keyID, ec)
	s.mu.Lock()
	if k := s.enc[id]; k != nil && s.now().Sub(k.made) < s.opts.TTL && k.uses < s.opts.MaxUses {
		k.uses++
		s.mu.Unlock()
		return k, nil
	}
	c := s.gen[id]
	if c == nil {
		if err := s.isDown(keyID); err != nil {
			s.mu.Unlock()
			return nil, err
		}
		c = &genCall{done: make(chan struct{})}
		s.gen[id] = c
		go s.generate(id, c, keyID, ec)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("envelope: data key for %s: %w", keyID, ctx.Err())
	}
	if c.err != nil {
		return nil, c.err
	}
	s.mu.Lock()
	c.key.uses++
	s.mu.Unlock()
	return c.key, nil
}

// generate makes a data key, detached from any one caller's context but
// bounded by the timeout.
func (s *Sealer) generate(id string, c *genCall, keyID string, ec Context) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	dk, err := s.p.GenerateDataKey(ctx, keyID, ec)
	var k *encKey
	if err == nil {
		var aead cipher.AEAD
		if aead, err = newAEAD(dk.Plain); err == nil {
			k = &encKey{hdr: appendHeader(nil, dk.KeyID, ec, dk.Wrapped), aead: aead, made: s.now()}
		}
	}
	s.mu.Lock()
	delete(s.gen, id)
	if err != nil {
		s.failed(keyID, err)
	}
	if k != nil {
		s.enc[id] = k
		// What this process seals it can open without asking again.
		s.putDec(string(dk.Wrapped), &decKey{aead: k.aead, made: k.made})
	}
	s.mu.Unlock()
	c.key, c.err = k, err
	close(c.done)
}

// putDec caches an unwrapped key; s.mu is held.
func (s *Sealer) putDec(wrapped string, k *decKey) {
	if len(s.dec) >= s.opts.MaxKeys {
		now := s.now()
		for w, d := range s.dec {
			if now.Sub(d.made) >= s.opts.TTL {
				delete(s.dec, w)
			}
		}
		for w := range s.dec {
			if len(s.dec) < s.opts.MaxKeys {
				break
			}
			delete(s.dec, w)
		}
	}
	s.dec[wrapped] = k
}

// Open opens a sealed value, returning its plaintext and the context it
// was sealed with.
func (s *Sealer) Open(ctx context.Context, sealed []byte) ([]byte, Context, error) {
	h, err := parse(sealed)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	k := s.dec[string(h.wrapped)]
	if k != nil && s.now().Sub(k.made) >= s.opts.TTL {
		delete(s.dec, string(h.wrapped))
		k = nil
	}
	var down error
	if k == nil {
		down = s.isDown(h.keyID)
	}
	s.mu.Unlock()
	if down != nil {
		return nil, nil, down
	}
	if k == nil {
		cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		plain, err := s.p.Decrypt(cctx, h.keyID, h.wrapped, h.ec)
		cancel()
		if err != nil {
			s.mu.Lock()
			s.failed(h.keyID, err)
			s.mu.Unlock()
			return nil, nil, err
		}
		aead, err := newAEAD(plain)
		if err != nil {
			return nil, nil, err
		}
		k = &decKey{aead: aead, made: s.now()}
		s.mu.Lock()
		s.putDec(string(h.wrapped), k)
		s.mu.Unlock()
	}
	body := sealed[h.size:]
	plain, err := k.aead.Open(nil, body[:nonceSize], body[nonceSize:], sealed[:h.size])
	if err != nil {
		return nil, nil, ErrCorrupt
	}
	return plain, h.ec, nil
}

// Inspect returns the master key id and context of a sealed value without
// opening it.
func Inspect(sealed []byte) (keyID string, ec Context, err error) {
	h, err := parse(sealed)
	if err != nil {
		return "", nil, err
	}
	return h.keyID, h.ec, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("envelope: data key is %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func appendHeader(b []byte, keyID string, ec Context, wrapped []byte) []byte {
	b = append(b, magic...)
	b = appendField(b, keyID)
	keys := slices.Sorted(maps.Keys(ec))
	b = binary.BigEndian.AppendUint16(b, uint16(len(keys)))
	for _, k := range keys {
		b = appendField(b, k)
		b = appendField(b, ec[k])
	}
	return appendField(b, string(wrapped))
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

type header struct {
	keyID   string
	ec      Context
	wrapped []byte
	size    int // bytes up to the nonce
}

func parse(b []byte) (header, error) {
	var h header
	if !IsSealed(b) {
		return h, ErrCorrupt
	}
	r := b[len(magic):]
	field := func() ([]byte, bool) {
		if len(r) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(r))
		if len(r)-2 < n {
			return nil, false
		}
		f := r[2 : 2+n]
		r = r[2+n:]
		return f, true
	}
	id, ok := field()
	if !ok || len(r) < 2 {
		return h, ErrCorrupt
	}
	h.keyID = string(id)
	n := int(binary.BigEndian.Uint16(r))
	r = r[2:]
	h.ec = make(Context, n)
	for range n {
		k, ok1 := field()
		v, ok2 := field()
		if !ok1 || !ok2 {
			return h, ErrCorrupt
		}
		h.ec[string(k)] = string(v)
	}
	w, ok := field()
	if !ok || len(w) == 0 || len(r) < nonceSize+16 {
		return h, ErrCorrupt
	}
	h.wrapped = w
	h.size = len(b) - len(r)
	return h, nil
}
