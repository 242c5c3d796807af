package secretbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "secrets.key")
	b, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	sealed := b.Seal([]byte("hunter2"), []byte("arn:a"))
	if strings.Contains(sealed, "hunter2") {
		t.Fatal("plaintext in sealed value")
	}
	if sealed == b.Seal([]byte("hunter2"), []byte("arn:a")) {
		t.Error("sealing twice gave the same value: nonce reused")
	}
	got, err := b.Open(sealed, []byte("arn:a"))
	if err != nil || !bytes.Equal(got, []byte("hunter2")) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(sealed, []byte("arn:b")); err == nil {
		t.Error("opened under another resource's aad")
	}

	// The same file gives the same key; another key is recognised as such.
	b2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Open(sealed, []byte("arn:a")); err != nil {
		t.Errorf("reloaded key: %v", err)
	}
	other, err := LoadOrCreate(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, []byte("arn:a")); !errors.Is(err, ErrWrongKey) {
		t.Errorf("other key: %v, want ErrWrongKey", err)
	}
}

func TestLoadRefusesOpenPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if _, err := LoadOrCreate(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Error("a world-readable key file was accepted")
	}
}

// A rotation: the new box seals with the new key and, given the old one as
// previous, still opens what the old key sealed; without it, it does not.
func TestRotationOpensPrevious(t *testing.T) {
	oldBox, err := Parse(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	newBox, err := Parse(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("arn:aws:events:us-east-1:123456789012:connection/c/1")
	sealed := oldBox.Seal([]byte("s3cr3t"), aad)
	if SealedWith(sealed) != oldBox.KeyID() {
		t.Fatalf("SealedWith = %q, want %q", SealedWith(sealed), oldBox.KeyID())
	}
	if _, err := newBox.Open(sealed, aad); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open without the previous key = %v, want ErrWrongKey", err)
	}
	ring := newBox.WithPrevious(oldBox)
	if got, err := ring.Open(sealed, aad); err != nil || string(got) != "s3cr3t" {
		t.Fatalf("Open with the previous key = %q, %v", got, err)
	}
	resealed := ring.Seal([]byte("s3cr3t"), aad)
	if SealedWith(resealed) != newBox.KeyID() {
		t.Fatalf("a rotating box sealed with %q, want the new key %q", SealedWith(resealed), newBox.KeyID())
	}
	if got := ring.PreviousKeyIDs(); len(got) != 1 || got[0] != oldBox.KeyID() {
		t.Fatalf("PreviousKeyIDs = %v", got)
	}
	if SealedWith("not sealed") != "" {
		t.Fatal("SealedWith of a plain string")
	}
}

func TestLoadAndWriteNewKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if _, err := Load(path); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	if err := WriteNewKey(path); err != nil {
		t.Fatal(err)
	}
	if err := WriteNewKey(path); err == nil {
		t.Fatal("WriteNewKey overwrote a key file")
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("Load accepted a key file readable by others")
	}
	if _, err := Parse("not base64!"); err == nil {
		t.Fatal("Parse accepted garbage")
	}
}
