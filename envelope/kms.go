package envelope

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// KMSAPI is the part of the AWS KMS client a KMS provider calls.
type KMSAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS is a Provider calling AWS KMS (or anything serving its API). Key ids
// must be ARNs (of a key or an alias), whose region picks the client.
type KMS struct {
	// Client returns the client of a region.
	Client func(ctx context.Context, region string) (KMSAPI, error)
}

func region(keyID string) string {
	// arn:partition:kms:region:account:key/... or alias/...
	parts := strings.SplitN(keyID, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		return parts[3]
	}
	return ""
}

// GenerateDataKey calls KMS GenerateDataKey for an AES-256 data key.
func (k *KMS) GenerateDataKey(ctx context.Context, keyID string, ec Context) (DataKey, error) {
	c, err := k.Client(ctx, region(keyID))
	if err != nil {
		return DataKey{}, &Error{Op: "GenerateDataKey", KeyID: keyID, Code: "ClientError", Err: err}
	}
	if err := checkKey(ctx, c, "GenerateDataKey", keyID); err != nil {
		return DataKey{}, err
	}
	out, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(keyID), KeySpec: "AES_256", EncryptionContext: ec})
	if err != nil {
		return DataKey{}, kmsError("GenerateDataKey", keyID, err)
	}
	id := aws.ToString(out.KeyId)
	if id == "" {
		id = keyID
	}
	return DataKey{KeyID: id, Plain: out.Plaintext, Wrapped: out.CiphertextBlob}, nil
}

// Decrypt calls KMS Decrypt with the context the data key was made under.
func (k *KMS) Decrypt(ctx context.Context, keyID string, wrapped []byte, ec Context) ([]byte, error) {
	c, err := k.Client(ctx, region(keyID))
	if err != nil {
		return nil, &Error{Op: "Decrypt", KeyID: keyID, Code: "ClientError", Err: err}
	}
	if err := checkKey(ctx, c, "Decrypt", keyID); err != nil {
		return nil, err
	}
	out, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(keyID), CiphertextBlob: wrapped, EncryptionContext: ec})
	if err != nil {
		return nil, kmsError("Decrypt", keyID, err)
	}
	return out.Plaintext, nil
}

// permanentKMS are the KMS errors that need someone to act on the key
// (AWS KMS API Reference, GenerateDataKey and Decrypt "Errors"): the key
// is disabled, pending deletion or deleted, missing, of the wrong kind, or
// the caller may not use it; and ciphertexts that never decrypt.
var permanentKMS = map[string]bool{
	"DisabledException":          true,
	"KMSInvalidStateException":   true,
	"NotFoundException":          true,
	"AccessDeniedException":      true,
	"InvalidKeyUsageException":   true,
	"IncorrectKeyException":      true,
	"InvalidCiphertextException": true,
	"InvalidGrantTokenException": true,
	"ValidationException":        true,
}

// Check reports whether keyID names an enabled symmetric encryption key
// the caller may describe, with the error KMS answers (see checkKey).
func (k *KMS) Check(ctx context.Context, keyID string) error {
	c, err := k.Client(ctx, region(keyID))
	if err != nil {
		return &Error{Op: "DescribeKey", KeyID: keyID, Code: "ClientError", Err: err}
	}
	return checkKey(ctx, c, "DescribeKey", keyID)
}

// checkKey refuses a key that is not an enabled symmetric encryption key,
// with the error KMS itself answers for such a key (AWS KMS API Reference,
// "Key states of AWS KMS keys": a disabled key is a DisabledException,
// one pending deletion or import a KMSInvalidStateException). It costs one
// DescribeKey per data key made or unwrapped, which the Sealer caches;
// EventBridge's own key policy grants it kms:DescribeKey for this check.
// Implementations of the KMS API that do not enforce key states
// themselves (moto) are held to them so.
func checkKey(ctx context.Context, c KMSAPI, op, keyID string) error {
	out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return kmsError(op, keyID, err)
	}
	md := out.KeyMetadata
	if md == nil {
		return &Error{Op: op, KeyID: keyID, Code: "NotFoundException", Permanent: true, Err: errors.New("no key metadata")}
	}
	arn := aws.ToString(md.Arn)
	switch {
	case md.KeyState == types.KeyStateDisabled:
		return &Error{Op: op, KeyID: keyID, Code: "DisabledException", Permanent: true, Err: errors.New(arn + " is disabled.")}
	case md.KeyState != types.KeyStateEnabled:
		return &Error{Op: op, KeyID: keyID, Code: "KMSInvalidStateException", Permanent: true,
			Err: errors.New(arn + " is " + keyStateText(md.KeyState) + ".")}
	case md.KeyUsage != "" && md.KeyUsage != types.KeyUsageTypeEncryptDecrypt,
		md.KeySpec != "" && md.KeySpec != types.KeySpecSymmetricDefault:
		return &Error{Op: op, KeyID: keyID, Code: "InvalidKeyUsageException", Permanent: true,
			Err: errors.New(arn + " is not a symmetric encryption key.")}
	}
	return nil
}

func keyStateText(s types.KeyState) string {
	switch s {
	case types.KeyStatePendingDeletion:
		return "pending deletion"
	case types.KeyStatePendingImport:
		return "pending import"
	case types.KeyStateUnavailable:
		return "unavailable"
	}
	return strings.ToLower(string(s))
}

func kmsError(op, keyID string, err error) error {
	e := &Error{Op: op, KeyID: keyID, Code: "ServiceUnavailable", Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
		e.Permanent = permanentKMS[e.Code]
	}
	return e
}
