package server

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/switchyard/switchyard/envelope"
	"github.com/switchyard/switchyard/internal/awsclient"
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

// openKeys returns the keys of the process's buses.
func openKeys(cfg KMSConfig, f *awsclient.Factory, view *control.View) (*busenc.Keys, error) {
	var p envelope.Provider
	if cfg.LocalKeyFile != "" {
		l, err := envelope.LoadLocal(cfg.LocalKeyFile)
		if err != nil {
			return nil, err
		}
		p = l
	} else {
		p = &envelope.KMS{Client: kmsClients(f)}
	}
	s := envelope.New(p, envelope.Options{TTL: cfg.DataKeyTTL, MaxUses: cfg.DataKeyUses, Timeout: cfg.Timeout})
	return &busenc.Keys{Sealer: s, View: view}, nil
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
