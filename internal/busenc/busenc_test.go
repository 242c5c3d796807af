package busenc

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchyard/switchyard/envelope"
	"github.com/switchyard/switchyard/internal/control"
)

func TestKeyARN(t *testing.T) {
	sc := control.Scope{Account: "111122223333", Region: "eu-central-1"}
	cn := control.Scope{Account: "111122223333", Region: "cn-north-1"}
	for _, tc := range []struct {
		sc       control.Scope
		id, want string
	}{
		{sc, "1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		{sc, "alias/orders", "arn:aws:kms:eu-central-1:111122223333:alias/orders"},
		{sc, "arn:aws:kms:us-west-2:444455556666:key/k", "arn:aws:kms:us-west-2:444455556666:key/k"},
		{sc, "arn:aws:kms:us-west-2:444455556666:alias/a", "arn:aws:kms:us-west-2:444455556666:alias/a"},
		{cn, "alias/x", "arn:aws-cn:kms:cn-north-1:111122223333:alias/x"},
	} {
		if got := KeyARN(tc.sc, tc.id); got != tc.want {
			t.Errorf("KeyARN(%v, %q) = %q, want %q", tc.sc, tc.id, got, tc.want)
		}
	}
}

func TestContext(t *testing.T) {
	ec := Context(control.Scope{Account: "111122223333", Region: "us-east-1"}, "orders")
	if len(ec) != 1 || ec["aws:events:event-bus:arn"] != "arn:aws:events:us-east-1:111122223333:event-bus/orders" {
		t.Fatalf("context %v", ec)
	}
}

func TestDeadLetterCode(t *testing.T) {
	kmsErr := func(code string, permanent bool) error {
		return fmt.Errorf("seal: %w", &envelope.Error{Op: "GenerateDataKey", Code: code, Permanent: permanent, Err: errors.New("x")})
	}
	for _, tc := range []struct {
		err  error
		code string
		dead bool
	}{
		{kmsErr("DisabledException", true), "NO_PERMISSIONS", true},
		{kmsErr("KMSInvalidStateException", true), "NO_PERMISSIONS", true},
		{kmsErr("AccessDeniedException", true), "NO_PERMISSIONS", true},
		{kmsErr("NotFoundException", true), "NO_RESOURCE", true},
		{kmsErr("InvalidCiphertextException", true), "INVALID_PARAMETER", true},
		{envelope.ErrCorrupt, "INVALID_PARAMETER", true},
		{kmsErr("KMSInternalException", false), "", false},
		{kmsErr("ThrottlingException", false), "", false},
		{errors.New("dial tcp: connection refused"), "", false},
	} {
		code, dead := DeadLetterCode(tc.err)
		if code != tc.code || dead != tc.dead {
			t.Errorf("DeadLetterCode(%v) = %q, %v; want %q, %v", tc.err, code, dead, tc.code, tc.dead)
		}
	}
}

func TestNilKeys(t *testing.T) {
	var k *Keys
	if got := k.BusKey(control.Scope{}, "b"); got != "" {
		t.Fatalf("nil keys: %q", got)
	}
	if _, err := k.Open(t.Context(), []byte("SYE\x01junk")); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("nil keys open sealed: %v", err)
	}
	if got, err := k.Open(t.Context(), []byte(`{"a":1}`)); err != nil || string(got) != `{"a":1}` {
		t.Fatalf("nil keys open plain: %q %v", got, err)
	}
}
