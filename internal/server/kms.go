package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/switchyard/switchyard/envelope"
	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/control"
)

// KMSConfig is how the events of buses with a KmsKeyIdentifier are
// encrypted (package busenc): with data keys from AWS KMS (its endpoint as
// --aws-endpoint kms=..., else the SDK's), or, with LocalKeyFile, from a
// local master key.
type KMSConfig struct {
	LocalKeyFile string
	DataKeyTTL   time.Duration
	DataKeyUses  int
	Timeout      time.Duration
}

// openKeys returns the keys of the process's buses, and the check of the
// keys CreateEventBus and UpdateEventBus are given (nil for a local key,
// which takes any identifier).
func openKeys(cfg KMSConfig, f *awsclient.Factory, view *control.View) (*busenc.Keys, func(context.Context, control.Scope, string) error, error) {
	var p envelope.Provider
	var check func(context.Context, control.Scope, string) error
	if cfg.LocalKeyFile != "" {
		l, err := envelope.LoadLocal(cfg.LocalKeyFile)
		if err != nil {
			return nil, nil, err
		}
		p = l
	} else {
		k := &envelope.KMS{Client: kmsClients(f)}
		p = k
		timeout := cfg.Timeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		check = func(ctx context.Context, sc control.Scope, id string) error {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return keyError(id, k.Check(ctx, busenc.KeyARN(sc, id)))
		}
	}
	s := envelope.New(p, envelope.Options{TTL: cfg.DataKeyTTL, MaxUses: cfg.DataKeyUses, Timeout: cfg.Timeout})
	return &busenc.Keys{Sealer: s, View: view}, check, nil
}

// keyError is the answer of CreateEventBus or UpdateEventBus to a key
// that KMS refuses. EventBridge checks the key when it is set, with
// kms:DescribeKey, which the key policy must grant it for that reason
// ("Allow EventBridge to validate key permission", "Encrypting EventBridge
// event buses with AWS KMS keys"). AWS does not document the error it
// answers; a key that cannot be used is a client error
// (ValidationException) naming KMS's reason, and KMS unreachable is
// InternalException, which SDKs retry.
func keyError(id string, err error) error {
	if err == nil {
		return nil
	}
	if !envelope.IsPermanent(err) {
		return awserr.Internal()
	}
	var e *envelope.Error
	msg := err.Error()
	if errors.As(err, &e) {
		msg = e.Code + ": " + e.Err.Error()
	}
	return awserr.Validation("The KMS key %s cannot be used for encryption: %s", id, msg)
}

// kmsClients returns a KMS client per region, made once.
func kmsClients(f *awsclient.Factory) func(context.Context, string) (envelope.KMSAPI, error) {
	var mu sync.Mutex
	clients := map[string]*kms.Client{}
	return func(ctx context.Context, region string) (envelope.KMSAPI, error) {
		mu.Lock()
		defer mu.Unlock()
		if c := clients[region]; c != nil {
			return c, nil
		}
		cfg, err := f.Config(ctx, region)
		if err != nil {
			return nil, err
		}
		c := kms.NewFromConfig(cfg, func(o *kms.Options) {
			o.BaseEndpoint = f.BaseEndpoint("kms", o.BaseEndpoint)
			o.RetryMaxAttempts = 2 // the sealer's timeout bounds the whole call
		})
		clients[region] = c
		return c, nil
	}
}
