package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/internal/webhooks"
)

// startWebhooks opens the inbound webhooks' registry (the API's
// definitions, watched in the background group, and the webhooks file's,
// reloaded on change and SIGHUP) and returns it with the deliveries'
// handler, once the API's definitions are loaded.
func startWebhooks(ctx context.Context, d *serviceDeps) (*webhooks.Registry, http.Handler, error) {
	replicas := d.Config.Store.Replicas
	reg, err := webhooks.OpenRegistry(ctx, d.Store.JS, replicas, d.Control.Secrets, d.Log)
	if err != nil {
		return nil, nil, err
	}
	if path := d.Config.WebhooksFile; path != "" {
		f, err := webhooks.OpenFile(path, reg, d.Log)
		if err != nil {
			return nil, nil, err
		}
		d.Group.Go(func() error { f.Watch(d.Ctx, time.Second); return nil })
	}
	ready := make(chan struct{})
	d.Group.Go(func() error { return reg.Run(d.Ctx, func() { close(ready) }) })
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-d.Ctx.Done():
		return nil, nil, fmt.Errorf("webhooks: %w", d.Ctx.Err())
	}
	if box := d.Control.Secrets; box != nil && len(box.PreviousKeyIDs()) > 0 {
		go func() {
			n, err := reg.Reseal(d.Ctx)
			if err != nil {
				if d.Ctx.Err() == nil {
					d.Log.Error("secrets: webhook secrets not all sealed again; tried again at the next start with --secrets-previous-key-file", "sealed_again", n, "err", err)
				}
				return
			}
			d.Log.Info("secrets: webhook secrets sealed with the new key", "sealed_again", n)
		}()
	}
	h, err := webhooks.NewHandler(ctx, d.Store.JS, replicas, reg, d.Ingest, d.Log)
	if err != nil {
		return nil, nil, err
	}
	h.ReadTimeout = d.Config.WebhookReadTimeout
	if d.Quotas != nil {
		h.Quotas = d.Quotas
	}
	return reg, h, nil
}
