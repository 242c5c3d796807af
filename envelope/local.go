package envelope

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Local is a Provider whose one master key is a local 32-byte key (a key
// file), for deployments without a key service: data keys are random and
// wrapped with AES-256-GCM under the master key, their additional data
// binding the key id and the context as KMS binds them. Any key id is
// accepted and recorded; the master key is the same for all of them.
type Local struct {
	aead interface {
		Seal(dst, nonce, plaintext, additionalData []byte) []byte
		Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
	}
}

// NewLocal returns a local provider for a 32-byte master key.
func NewLocal(master []byte) (*Local, error) {
	a, err := newAEAD(master)
	if err != nil {
		return nil, fmt.Errorf("local master key: %w", err)
	}
	return &Local{aead: a}, nil
}

// ParseLocalKey reads a master key as a key file holds it: 32 bytes in
// base64 or hex, surrounding space ignored.
func ParseLocalKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, hex.DecodeString} {
		if b, err := dec(text); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("the key must be 32 bytes in base64 or hex (make one with: head -c 32 /dev/urandom | base64)")
}

// LoadLocal returns the local provider of the key file at path.
func LoadLocal(path string) (*Local, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("local master key: %w", err)
	}
	key, err := ParseLocalKey(string(text))
	if err != nil {
		return nil, fmt.Errorf("local master key %s: %w", path, err)
	}
	return NewLocal(key)
}

func localAAD(keyID string, ec Context) []byte { return appendHeader(nil, keyID, ec, nil) }

// GenerateDataKey makes a random data key wrapped under the master key.
func (l *Local) GenerateDataKey(_ context.Context, keyID string, ec Context) (DataKey, error) {
	plain := make([]byte, 32)
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(plain); err != nil {
		return DataKey{}, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return DataKey{}, err
	}
	return DataKey{KeyID: keyID, Plain: plain, Wrapped: l.aead.Seal(nonce, nonce, plain, localAAD(keyID, ec))}, nil
}

// Decrypt unwraps a data key; one wrapped under another master key, key
// id or context is refused as permanently as KMS refuses it.
func (l *Local) Decrypt(_ context.Context, keyID string, wrapped []byte, ec Context) ([]byte, error) {
	if len(wrapped) < nonceSize {
		return nil, &Error{Op: "Decrypt", KeyID: keyID, Code: "InvalidCiphertextException", Permanent: true, Err: ErrCorrupt}
	}
	plain, err := l.aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], localAAD(keyID, ec))
	if err != nil {
		return nil, &Error{Op: "Decrypt", KeyID: keyID, Code: "InvalidCiphertextException", Permanent: true,
			Err: errors.New("the data key does not open under the local master key")}
	}
	return plain, nil
}
