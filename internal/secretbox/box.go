// Package secretbox encrypts connection secrets before they reach the
// control-plane bucket: AES-256-GCM under a key kept in a file beside the
// data, so that a copy of the bucket (a backup, a NATS operator, the files
// of the embedded store) reveals no credentials.
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

// Box seals and opens secrets with one key.
type Box struct {
	aead cipher.AEAD
	// kid names the key in every sealed value, so that a process started
	// with the wrong key file says so instead of reporting corrupt data.
	kid string
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
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
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
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
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

// ErrWrongKey reports a value sealed under another key.
var ErrWrongKey = errors.New("sealed with a different secrets key (all instances must share one --secrets-key-file)")

// Open decrypts a value made by Seal with the same aad.
func (b *Box) Open(sealed string, aad []byte) ([]byte, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != version {
		return nil, errors.New("not a sealed secret")
	}
	if parts[1] != b.kid {
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
