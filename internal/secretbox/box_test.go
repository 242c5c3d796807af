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
