package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/restapi"
)

// SigningName is the SigV4 service name of the admin API's requests.
const SigningName = "switchyard"

// The admin API, Switchyard's own, in the REST-JSON style of AWS's:
//
//	PUT    /webhooks/{Name}   create or replace (PutWebhook); the bus is in the caller's account and region
//	GET    /webhooks/{Name}   describe (GetWebhook); never the secret
//	DELETE /webhooks/{Name}   delete (DeleteWebhook)
//	GET    /webhooks          list the caller's account and region's (ListWebhooks)
//
// Errors are ValidationException (400), ResourceNotFoundException (404),
// ConflictException (409: a name another account or region holds, or the
// webhooks file defines) in AWS's error shape. Identity policies are
// checked for switchyard:<Operation> on
// arn:aws:switchyard:<region>:<account>:webhook/<name>.

// putWebhookIn is PutWebhook's body.
type putWebhookIn struct {
	Provider         string
	EventBusName     string
	Secret           string
	Source           string
	DetailType       string
	Url              string
	Header           string
	Algorithm        string
	Encoding         string
	Prefix           string
	EventTypeHeader  string
	DeliveryIdHeader string
	ToleranceSeconds int
}

// WebhookOut is a definition as the admin API shows it.
type WebhookOut struct {
	Name             string
	Arn              string
	Provider         string
	EventBusName     string
	Account          string
	Region           string
	Source           string
	DetailType       string `json:",omitempty"`
	Url              string `json:",omitempty"`
	Header           string `json:",omitempty"`
	Algorithm        string `json:",omitempty"`
	Encoding         string `json:",omitempty"`
	Prefix           string `json:",omitempty"`
	EventTypeHeader  string `json:",omitempty"`
	DeliveryIdHeader string `json:",omitempty"`
	ToleranceSeconds int    `json:",omitempty"`
	// Path is where the provider is to send deliveries.
	Path             string
	Origin           string
	CreationTime     float64 `json:",omitempty"`
	LastModifiedTime float64 `json:",omitempty"`
}

func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

func arnOf(region, account, name string) string {
	return fmt.Sprintf("arn:aws:switchyard:%s:%s:webhook/%s", region, account, name)
}

func out(d *Definition) WebhookOut {
	return WebhookOut{Name: d.Name, Arn: arnOf(d.Region, d.Account, d.Name), Provider: d.Provider, EventBusName: d.EventBusName,
		Account: d.Account, Region: d.Region, Source: d.EventSource(), DetailType: d.DetailType, Url: d.URL, Header: d.Header,
		Algorithm: d.Algorithm, Encoding: d.Encoding, Prefix: d.Prefix, EventTypeHeader: d.EventTypeHeader,
		DeliveryIdHeader: d.DeliveryIDHeader, ToleranceSeconds: d.ToleranceSeconds, Path: "/webhooks/" + d.Name,
		Origin: d.Origin, CreationTime: epoch(d.CreationTime), LastModifiedTime: epoch(d.LastModifiedTime)}
}

func notFound(name string) error {
	return &awserr.Error{Code: awserr.CodeResourceNotFound, Message: fmt.Sprintf("Webhook %s does not exist.", name), Status: http.StatusNotFound}
}

func conflict(format string, args ...any) error {
	return &awserr.Error{Code: "ConflictException", Message: fmt.Sprintf(format, args...), Status: http.StatusConflict}
}

// AdminService returns the admin API on restapi.
func AdminService(reg *Registry, opts restapi.Options) *restapi.Service {
	svc := restapi.New(SigningName, opts)
	res := func(r *restapi.Request) string { return arnOf(r.Scope.Region, r.Scope.Account, r.Path("Name")) }
	svc.Handle("PutWebhook", "PUT /webhooks/{Name}", res, func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		return putWebhook(ctx, reg, r)
	})
	svc.Handle("GetWebhook", "GET /webhooks/{Name}", res, func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		d := reg.Lookup(r.Path("Name"))
		if d == nil || d.Scope() != r.Scope {
			return nil, notFound(r.Path("Name"))
		}
		return restapi.OK(out(d))
	})
	svc.Handle("DeleteWebhook", "DELETE /webhooks/{Name}", res, func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		name := r.Path("Name")
		if d := reg.Lookup(name); d != nil && d.Origin == OriginFile {
			if d.Scope() != r.Scope {
				return nil, notFound(name)
			}
			return nil, conflict("Webhook %s is defined in the webhooks file; change it there.", name)
		}
		for range 20 {
			cur, rev, err := reg.current(ctx, name)
			if err != nil {
				return nil, err
			}
			if cur == nil || cur.Scope() != r.Scope {
				return nil, notFound(name)
			}
			if err := reg.remove(ctx, name, rev); !errors.Is(err, errConflict) {
				if err != nil {
					return nil, err
				}
				return restapi.OK(struct{}{})
			}
		}
		return nil, conflict("Webhook %s is being modified concurrently; retry.", name)
	})
	svc.Handle("ListWebhooks", "GET /webhooks", nil, func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		defs := reg.List(func(d *Definition) bool { return d.Scope() == r.Scope })
		list := make([]WebhookOut, 0, len(defs))
		for _, d := range defs {
			list = append(list, out(d))
		}
		return restapi.OK(struct{ Webhooks []WebhookOut }{list})
	})
	return svc
}

func putWebhook(ctx context.Context, reg *Registry, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("Name")
	var in putWebhookIn
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if in.EventBusName == "" {
		in.EventBusName = "default"
	}
	d := &Definition{Name: name, Provider: in.Provider, Account: r.Scope.Account, Region: r.Scope.Region, EventBusName: in.EventBusName,
		Secret: []byte(in.Secret), Source: in.Source, DetailType: in.DetailType, URL: in.Url, Header: in.Header, Algorithm: in.Algorithm,
		Encoding: in.Encoding, Prefix: in.Prefix, EventTypeHeader: in.EventTypeHeader, DeliveryIDHeader: in.DeliveryIdHeader,
		ToleranceSeconds: in.ToleranceSeconds, Origin: OriginAPI}
	if err := d.Check(); err != nil {
		return nil, awserr.Validation("%s", capitalize(err.Error()))
	}
	if f := (*reg.file.Load())[name]; f != nil {
		return nil, conflict("Webhook %s is defined in the webhooks file.", name)
	}
	now := time.Now().UTC()
	for range 20 {
		cur, rev, err := reg.current(ctx, name)
		if err != nil {
			return nil, err
		}
		d.CreationTime, d.LastModifiedTime = now, now
		if cur != nil {
			if cur.Scope() != r.Scope {
				return nil, conflict("Webhook name %s is taken.", name)
			}
			d.CreationTime = cur.CreationTime
		}
		switch err := reg.put(ctx, d, rev); {
		case errors.Is(err, errConflict):
			continue
		case errors.Is(err, errNoSecretsKey):
			return nil, awserr.Validation("Webhook secrets are sealed with the secrets key, and this server has none: start it with --secrets-key-file.")
		case err != nil:
			return nil, err
		}
		return restapi.OK(out(d))
	}
	return nil, conflict("Webhook %s is being modified concurrently; retry.", name)
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s + "."
	}
	return string(s[0]-'a'+'A') + s[1:] + "."
}
