// Package secretbox encrypts connection secrets before they reach the
// control-plane bucket: AES-256-GCM under a key kept apart from the data (a
// file of its own, or an environment variable), so that a copy of the
// bucket (a backup, a NATS operator, the files of the embedded store)
// reveals no credentials.
//
// A box seals with one key and may open with earlier ones too, which is
// how a key is rotated: every process gets the new key and keeps the old
// one as previous, the sealed values are sealed again under the new key
// (package control, ResealSecrets), then the old key is dropped.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the AES-256 key length.
const KeySize = 32

// Box seals secrets with one key and opens them with it or an earlier one.
type Box struct {
	aead cipher.AEAD
	// kid names the key in every sealed value, so that a process started
	// with the wrong key file says so instead of reporting corrupt data.
	kid string
	// previous are the keys a rotation is moving away from, by kid.
	previous map[string]*Box
}

// New returns a box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &Box{aead: aead, kid: hex.EncodeToString(sum[:4])}, nil
}

// WithPrevious returns a box that seals with b's key and also opens values
// sealed with the keys of prev: the state of a rotation in progress.
func (b *Box) WithPrevious(prev ...*Box) *Box {
	nb := *b
	nb.previous = make(map[string]*Box, len(prev))
	for _, p := range prev {
		if p != nil && p.kid != b.kid {
			nb.previous[p.kid] = p
		}
	}
	return &nb
}

// PreviousKeyIDs names the earlier keys the box opens with.
func (b *Box) PreviousKeyIDs() []string {
	out := make([]string, 0, len(b.previous))
	for kid := range b.previous {
		out = append(out, kid)
	}
	return out
}

// NewKey returns a fresh random key in the key file's form: base64 of 32
// bytes.
func NewKey() string {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic("secretbox: no randomness: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(key)
}

// Parse returns the box of a key in the key file's form.
func Parse(text string) (*Box, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return New(key)
}

// Load reads the key file at path, which must exist and be readable by its
// owner only: a file readable by others would defeat the encryption.
func Load(path string) (*Box, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets key file: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets key file %s is accessible to other users (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("secrets key file %s: %w", path, err)
	}
	return b, nil
}

// WriteNewKey writes a fresh key to path with mode 0600, refusing to
// overwrite a file that exists (it may hold the key secrets are sealed
// with).
func WriteNewKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("secrets key file %s exists already; not overwritten", path)
	}
	return create(path)
}

// LoadOrCreate reads the key file at path (base64 of 32 bytes), creating it
// with a fresh random key and mode 0600 when it does not exist. A file
// readable by others is refused: it would defeat the encryption.
func LoadOrCreate(path string) (*Box, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := create(path); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets key file: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets key file %s is accessible to other users (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("secrets key file %s: not base64: %w", path, err)
	}
	b, err := New(key)
	if err != nil {
		return nil, fmt.Errorf("secrets key file %s: %w", path, err)
	}
	return b, nil
}

func create(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("secrets key file: %w", err)
	}
	// O_EXCL: two processes starting on one data dir must not each write a
	// key and then seal with different ones.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("secrets key file: %w", err)
	}
	_, err = f.WriteString(NewKey() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

const version = "v1"

// Seal encrypts plain, binding it to aad (the owner's ARN, so that a sealed
// value copied onto another record does not open there).
func (b *Box) Seal(plain, aad []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("secretbox: no randomness: " + err.Error())
	}
	ct := b.aead.Seal(nonce, nonce, plain, aad)
	return version + ":" + b.kid + ":" + base64.RawStdEncoding.EncodeToString(ct)
}

// KeyID names the box's key: a digest prefix that identifies it without
// revealing it. Every sealed value carries it.
func (b *Box) KeyID() string { return b.kid }

// SealedWith returns the id of the key a sealed value was sealed with, or
// "" if it is not a sealed value.
func SealedWith(sealed string) string {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != version {
		return ""
	}
	return parts[1]
}

// ErrWrongKey reports a value sealed under another key.
var ErrWrongKey = errors.New("sealed with a different secrets key (all instances must share one --secrets-key-file)")

// Open decrypts a value made by Seal with the same aad.
func (b *Box) Open(sealed string, aad []byte) ([]byte, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != version {
		return nil, errors.New("not a sealed secret")
	}
	if parts[1] != b.kid {
		if p := b.previous[parts[1]]; p != nil {
			return p.Open(sealed, aad)
		}
		return nil, ErrWrongKey
	}
	ct, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(ct) < b.aead.NonceSize() {
		return nil, errors.New("sealed secret is corrupt")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, ct[:n], ct[n:], aad)
	if err != nil {
		return nil, errors.New("sealed secret does not open (corrupt, or moved to another resource)")
	}
	return plain, nil
}
