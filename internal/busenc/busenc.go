// Package busenc applies the customer managed keys of event buses
// (KmsKeyIdentifier) to what Switchyard stores of their events: the
// events-stream messages PutEvents writes, the events of the delivery
// tasks waiting in the delivery stream, and the archived events. It maps
// a bus to its key and encryption context and seals and opens with a
// package envelope Sealer, whose provider is AWS KMS or a local key file.
//
// As AWS documents ("Encrypting EventBridge event buses with AWS KMS
// keys", EventBridge User Guide), the encryption context of every
// operation is the single pair
//
//	"aws:events:event-bus:arn": "<the bus ARN>"
//
// (key policies test it as kms:EncryptionContext:aws:events:event-bus:arn),
// for archives too ("Encrypting EventBridge archives with AWS KMS keys").
// A sealed value records its key and context, so events stored under a
// key the bus no longer uses (UpdateEventBus with another key, or none)
// still open.
package busenc

import (
	"context"
	"errors"
	"strings"

	"github.com/switchyard/switchyard/envelope"
	"github.com/switchyard/switchyard/internal/control"
)

// ContextKey is the encryption context's key.
const ContextKey = "aws:events:event-bus:arn"

// Keys seals and opens the stored events of buses with a customer managed
// key. A nil *Keys seals nothing and opens nothing sealed.
type Keys struct {
	Sealer *envelope.Sealer
	View   *control.View
}

// BusKey returns the key of bus in scope sc as an ARN, "" when the bus has
// none (or does not exist).
func (k *Keys) BusKey(sc control.Scope, bus string) string {
	if k == nil {
		return ""
	}
	b, _ := k.View.Bus(sc, bus)
	if b == nil || b.KmsKeyIdentifier == "" {
		return ""
	}
	return KeyARN(sc, b.KmsKeyIdentifier)
}

// KeyARN qualifies a KmsKeyIdentifier (a key ARN, key id, alias name or
// alias ARN: CreateEventBus, API Reference) as an ARN: a key id or alias
// name names a key of the bus's own account and region, as KMS resolves
// them for the caller.
func KeyARN(sc control.Scope, id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	prefix := "arn:" + sc.Partition() + ":kms:" + sc.Region + ":" + sc.Account + ":"
	if strings.HasPrefix(id, "alias/") {
		return prefix + id
	}
	return prefix + "key/" + id
}

// Context is the encryption context of the events of a bus.
func Context(sc control.Scope, bus string) envelope.Context {
	return envelope.Context{ContextKey: control.BusARN(sc, bus)}
}

// Seal seals data for bus under key (BusKey), or returns it as it is when
// key is "".
func (k *Keys) Seal(ctx context.Context, key string, sc control.Scope, bus string, data []byte) ([]byte, error) {
	if key == "" {
		return data, nil
	}
	return k.Sealer.Seal(ctx, key, Context(sc, bus), data)
}

// SealArchive seals data for archive a: under the archive's own key, else
// its bus's, else not at all.
func (k *Keys) SealArchive(ctx context.Context, a *control.Archive, data []byte) ([]byte, error) {
	if k == nil {
		return data, nil
	}
	key := ""
	if a.KmsKeyIdentifier != "" {
		key = KeyARN(a.Scope, a.KmsKeyIdentifier)
	} else {
		key = k.BusKey(a.Scope, a.Bus)
	}
	return k.Seal(ctx, key, a.Scope, a.Bus, data)
}

// ErrNoKeys is Open's error for a sealed value in a process without keys.
var ErrNoKeys = errors.New("busenc: sealed data, and no key provider")

// Open returns the plaintext of data, which may be sealed or not.
func (k *Keys) Open(ctx context.Context, data []byte) ([]byte, error) {
	if !envelope.IsSealed(data) {
		return data, nil
	}
	if k == nil {
		return nil, ErrNoKeys
	}
	plain, _, err := k.Sealer.Open(ctx, data)
	return plain, err
}

// DeadLetterCode is the ERROR_CODE of a dead letter for an event that
// could not be encrypted or decrypted, and ok says whether the failure is
// one AWS sends to a dead-letter queue: a non-retriable one, "where user
// action is required to resolve the underlying issue, such as the
// specified customer managed key being disabled or missing" ("Using
// dead-letter queues to capture encrypted event errors in EventBridge",
// EventBridge User Guide). AWS does not publish the codes of these dead
// letters; these are codes of its documented list ("Using dead-letter
// queues to process undelivered events"): NO_RESOURCE for a key that does
// not exist, NO_PERMISSIONS for one that may not be used (disabled,
// pending deletion, refused by its policy), INVALID_PARAMETER for stored
// data that does not decrypt. The KMS error itself is the ERROR_MESSAGE.
func DeadLetterCode(err error) (code string, ok bool) {
	if !envelope.IsPermanent(err) {
		return "", false
	}
	var e *envelope.Error
	if !errors.As(err, &e) {
		return "INVALID_PARAMETER", true
	}
	switch e.Code {
	case "NotFoundException":
		return "NO_RESOURCE", true
	case "InvalidCiphertextException", "IncorrectKeyException":
		return "INVALID_PARAMETER", true
	}
	return "NO_PERMISSIONS", true
}
