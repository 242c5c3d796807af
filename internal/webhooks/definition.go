// Package webhooks receives inbound SaaS webhooks on the API listener,
// POST /webhooks/<name>, and turns each verified delivery into an event on
// an event bus, as PutEvents would: stored durably in the events stream
// (package ingest) before the provider is answered, never after calling any
// target, so the answer comes within the providers' timeouts (Slack's 3 s
// the shortest) whatever the targets do.
//
// A webhook definition names the provider (whose signature scheme package
// webhook verifies), the bus (account, region, name), the secret, and the
// event's source and detail-type. Definitions come from two places:
//
//   - a YAML file (--webhooks-file), each process its own, reloaded when it
//     changes and on SIGHUP (file.go);
//   - Switchyard's own REST-JSON admin API (signing name "switchyard":
//     PUT, GET, DELETE /webhooks/{Name}, GET /webhooks; admin.go), stored in
//     the JetStream KV bucket switchyard_webhooks with the secret sealed
//     under the secrets key as connection secrets are (package secretbox),
//     and seen by every process sharing the NATS cluster (registry.go).
//
// A webhook's name is its URL, and so one namespace for the listener: an
// API definition belongs to the account and region that created it, and no
// other may read, replace or delete it; a file definition cannot be
// changed through the API.
//
// Deliveries are idempotent on the provider's delivery id (X-GitHub-Delivery,
// Stripe's event id, X-Shopify-Webhook-Id, Slack's event_id, ...): each id
// stored is recorded in the KV bucket switchyard_webhook_deliveries, whose
// entries live DedupTTL (7 days, beyond Stripe's three days of retries), and
// the event's JetStream message id is derived from it, so that a
// redelivery, to this process or another, before or after a restart, is
// answered 200 and makes no second event.
package webhooks

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/webhook"
)

// Definition is one webhook.
type Definition struct {
	Name     string
	Provider string
	// The bus the events go to.
	Account      string
	Region       string
	EventBusName string
	// Source is the events' source ("webhook.<provider>" if empty).
	Source string `json:",omitempty"`
	// DetailType, if set, is every event's detail-type; otherwise it is
	// the provider's event type (DefaultDetailType when it has none).
	DetailType string `json:",omitempty"`
	// The provider's parameters (see webhook.Verifier).
	URL              string `json:",omitempty"`
	Header           string `json:",omitempty"`
	Algorithm        string `json:",omitempty"`
	Encoding         string `json:",omitempty"`
	Prefix           string `json:",omitempty"`
	EventTypeHeader  string `json:",omitempty"`
	DeliveryIDHeader string `json:",omitempty"`
	ToleranceSeconds int    `json:",omitempty"`
	// SealedSecret is the secret sealed under the secrets key, as stored;
	// Secret is it opened, never stored.
	SealedSecret string `json:",omitempty"`
	Secret       []byte `json:"-"`
	// Origin is OriginAPI or OriginFile.
	Origin           string    `json:"-"`
	CreationTime     time.Time `json:",omitzero"`
	LastModifiedTime time.Time `json:",omitzero"`
}

// Origins of a definition.
const (
	OriginAPI  = "api"
	OriginFile = "file"
)

// DefaultDetailType is the detail-type of a delivery whose provider names
// no event type and whose definition sets none.
const DefaultDetailType = "Webhook"

// Scope is the account and region of the definition's bus.
func (d *Definition) Scope() control.Scope {
	return control.Scope{Account: d.Account, Region: d.Region}
}

// EventSource is the source of the definition's events.
func (d *Definition) EventSource() string {
	if d.Source != "" {
		return d.Source
	}
	return "webhook." + d.Provider
}

// Verifier is the definition's signature verifier.
func (d *Definition) Verifier() *webhook.Verifier {
	return &webhook.Verifier{Provider: d.Provider, Secret: d.Secret, Tolerance: time.Duration(d.ToleranceSeconds) * time.Second,
		URL: d.URL, Header: d.Header, Algorithm: d.Algorithm, Encoding: d.Encoding, Prefix: d.Prefix,
		EventTypeHeader: d.EventTypeHeader, DeliveryIDHeader: d.DeliveryIDHeader}
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	// busRE is CreateEventBus's name pattern (EventBridge API model).
	busRE    = regexp.MustCompile(`^[/.\-_A-Za-z0-9]{1,256}$`)
	headerRE = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,128}$")
)

// Check reports the first fault of d, in words for whoever wrote it.
func (d *Definition) Check() error {
	switch {
	case !nameRE.MatchString(d.Name):
		return fmt.Errorf("name %q: 1 to 64 letters, digits, '.', '-' or '_'", d.Name)
	case !accountRE.MatchString(d.Account):
		return fmt.Errorf("account %q: 12 digits", d.Account)
	case !control.ValidRegion(d.Region):
		return fmt.Errorf("region %q is not an AWS region name", d.Region)
	case !busRE.MatchString(d.EventBusName):
		return fmt.Errorf("event bus name %q: 1 to 256 letters, digits, '.', '-', '_' or '/'", d.EventBusName)
	case len(d.Source) > 256:
		return errors.New("source: at most 256 characters")
	case strings.HasPrefix(d.Source, "aws."):
		// PutEvents refuses sources starting with aws. for the same
		// reason (NotAuthorizedForSourceException).
		return fmt.Errorf("source %q: sources starting with aws. are AWS's", d.Source)
	case len(d.DetailType) > 128:
		return errors.New("detail type: at most 128 characters")
	case d.ToleranceSeconds < 0 || d.ToleranceSeconds > 86400:
		return errors.New("tolerance: 0 to 86400 seconds")
	}
	for _, h := range []string{d.Header, d.EventTypeHeader, d.DeliveryIDHeader} {
		if h != "" && !headerRE.MatchString(h) {
			return fmt.Errorf("header name %q is not an HTTP header name", h)
		}
	}
	return d.Verifier().Check()
}
