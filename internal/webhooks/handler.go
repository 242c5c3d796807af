package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/webhook"
)

// Path is the route of deliveries on the API listener.
const Path = "POST /webhooks/{name}"

// MaxBody bounds a delivery's body: an event may be at most 1 MiB
// (ingest.DefaultMaxRequestSize), so a larger payload could never become
// one. Larger deliveries are answered 413.
const MaxBody = 1 << 20

// DefaultReadTimeout bounds the time from the end of a delivery's headers
// to the end of its body: a client that sends more slowly is cut off, so
// that slow clients cannot hold connections and memory.
const DefaultReadTimeout = 10 * time.Second

// storeTimeout bounds storing the event; past it the delivery is answered
// 503 for the provider to retry, within its timeout (Slack's 3 s is the
// shortest: "Responding to events", api.slack.com).
const storeTimeout = 2500 * time.Millisecond

// Store is where a delivery's event goes: ingest.Service.Store.
type Store interface {
	Store(ctx context.Context, sc control.Scope, bus string, event []byte, o ingest.StoreOptions) (duplicate bool, err error)
}

// Handler receives deliveries.
type Handler struct {
	reg    *Registry
	events Store
	seen   jetstream.KeyValue // delivery ids stored (DeliveriesBucket)
	log    *slog.Logger
	// ReadTimeout bounds reading a body (DefaultReadTimeout if 0).
	ReadTimeout time.Duration
	// Quotas, if set, charges each delivery to the PutEvents quota of the
	// webhook's account and region, as the PutEvents it stands for: a
	// flood of deliveries is answered 429, which providers retry, rather
	// than taking the account's events past its rate.
	Quotas interface {
		Allow(ctx context.Context, sc control.Scope, op string) error
	}
	now func() time.Time
}

// NewHandler returns the deliveries' handler, making sure the deliveries
// bucket exists.
func NewHandler(ctx context.Context, js jetstream.JetStream, replicas int, reg *Registry, events Store, log *slog.Logger) (*Handler, error) {
	kv, err := store.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      DeliveriesBucket,
		Description: "Switchyard inbound webhooks: the delivery ids stored, for idempotency",
		History:     1,
		TTL:         DedupTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries bucket: %w", err)
	}
	return &Handler{reg: reg, events: events, seen: kv, log: log, now: time.Now}, nil
}

// Webhook metrics. The webhook label is a defined webhook's name, or
// "(unknown)" for a name that is none, so that its values stay bounded.
var (
	deliveries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_webhook_deliveries_total",
		Help: "Inbound webhook deliveries by webhook and result: accepted (an event stored), duplicate (a redelivery, no event), challenge (answered, no event), refused (see switchyard_webhook_refused_total), failed (not stored; the provider retries).",
	}, []string{"webhook", "result"})
	refused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_webhook_refused_total",
		Help: "Inbound webhook deliveries refused, by webhook and reason: missing_signature, bad_signature, stale_timestamp (401); malformed (400); too_large (413); slow_body (408); unknown_webhook (404); throttled (429: the account's PutEvents quota).",
	}, []string{"webhook", "reason"})
)

const unknownLabel = "(unknown)"

// answer writes a JSON answer.
func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type message struct {
	Message string `json:"message"`
}

func (h *Handler) refuse(w http.ResponseWriter, label, reason string, status int, msg string) {
	refused.WithLabelValues(label, reason).Inc()
	deliveries.WithLabelValues(label, "refused").Inc()
	answer(w, status, message{msg})
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	def := h.reg.Lookup(name)
	if def == nil {
		h.refuse(w, unknownLabel, "unknown_webhook", http.StatusNotFound, "No webhook is named "+name+".")
		return
	}
	if r.ContentLength > MaxBody {
		h.refuse(w, name, "too_large", http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is over %d bytes.", MaxBody))
		return
	}
	timeout := h.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	// The deadline is forced when the time is up rather than set ahead:
	// the server's own body timeout (package reqtimeout) moves the read
	// deadline on as bytes arrive, and a trickle would keep moving it.
	rc := http.NewResponseController(w)
	cut := time.AfterFunc(timeout, func() { _ = rc.SetReadDeadline(time.Now()) })
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if !cut.Stop() && err == nil {
		_ = rc.SetReadDeadline(time.Time{}) // cut just as the body ended
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.refuse(w, name, "too_large", http.StatusRequestEntityTooLarge, fmt.Sprintf("The body is over %d bytes.", MaxBody))
		return
	case err != nil:
		h.refuse(w, name, "slow_body", http.StatusRequestTimeout, "The body did not arrive in time.")
		return
	}
	v := def.Verifier()
	v.Now = h.now
	d, err := v.VerifyQuery(r.Header, r.URL.RawQuery, body)
	if err != nil {
		var we *webhook.Error
		if !errors.As(err, &we) {
			we = &webhook.Error{Reason: webhook.ReasonMalformed, Message: err.Error()}
		}
		status := http.StatusUnauthorized
		if we.Reason == webhook.ReasonMalformed {
			status = http.StatusBadRequest
		}
		h.log.Info("webhooks: delivery refused", "webhook", name, "reason", we.Reason, "remote", r.RemoteAddr, "why", we.Message)
		h.refuse(w, name, we.Reason, status, we.Message)
		return
	}
	if d.Reply != nil {
		deliveries.WithLabelValues(name, "challenge").Inc()
		w.Header().Set("Content-Type", d.ReplyType)
		_, _ = w.Write(d.Reply)
		return
	}
	h.deliver(w, r, def, d)
}

// deliver stores the delivery's event, once per delivery id.
func (h *Handler) deliver(w http.ResponseWriter, r *http.Request, def *Definition, d *webhook.Delivery) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	name := def.Name
	var key string
	if d.ID != "" {
		sum := sha256.Sum256([]byte(name + "\x00" + d.ID))
		key = hex.EncodeToString(sum[:16])
		if e, err := h.seen.Get(ctx, key); err == nil {
			deliveries.WithLabelValues(name, "duplicate").Inc()
			answer(w, http.StatusOK, struct {
				EventId   string
				Duplicate bool
			}{string(e.Value()), true})
			return
		} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
			h.log.Error("webhooks: delivery ids not readable", "webhook", name, "err", err)
			deliveries.WithLabelValues(name, "failed").Inc()
			answer(w, http.StatusServiceUnavailable, message{"The delivery could not be stored; retry."})
			return
		}
	}
	if h.Quotas != nil {
		if err := h.Quotas.Allow(ctx, def.Scope(), "PutEvents"); err != nil {
			w.Header().Set("Retry-After", "1")
			h.refuse(w, name, "throttled", http.StatusTooManyRequests, "Rate exceeded")
			return
		}
	}
	if _, err := ingest.CheckDetailPaths(d.Payload); err != nil {
		h.refuse(w, name, webhook.ReasonMalformed, http.StatusBadRequest, "The payload cannot be an event's detail: "+err.Error())
		return
	}
	detailType := def.DetailType
	if detailType == "" {
		detailType = d.EventType
	}
	if detailType == "" {
		detailType = DefaultDetailType
	}
	if len(detailType) > 128 {
		detailType = detailType[:128]
	}
	id := uuid.NewString()
	now := h.now()
	event := ingest.Envelope(id, detailType, def.EventSource(), def.Scope(), now, nil, d.Payload)
	// The message id: a redelivery arriving while this one is being
	// stored, or before its id is recorded, is dropped by JetStream.
	opts := ingest.StoreOptions{Ingested: now}
	if key != "" {
		opts.DedupID = "webhook:" + key
	}
	dup, err := h.events.Store(ctx, def.Scope(), def.EventBusName, event, opts)
	if err != nil {
		h.log.Error("webhooks: event not stored", "webhook", name, "bus", def.EventBusName, "account", def.Account, "region", def.Region, "err", err)
		deliveries.WithLabelValues(name, "failed").Inc()
		msg := "The delivery could not be stored; retry."
		if ae, ok := awserr.As(err); ok && ae.Code == awserr.CodeResourceNotFound {
			msg = "The webhook's event bus does not exist."
		}
		answer(w, http.StatusServiceUnavailable, message{msg})
		return
	}
	if dup {
		deliveries.WithLabelValues(name, "duplicate").Inc()
		answer(w, http.StatusOK, struct{ Duplicate bool }{true})
		return
	}
	if key != "" {
		if _, err := h.seen.Put(ctx, key, []byte(id)); err != nil {
			// Stored, but a redelivery after the stream's duplicate
			// window would be stored again: said, not hidden.
			h.log.Warn("webhooks: delivery id not recorded; a late redelivery would be a second event", "webhook", name, "err", err)
		}
	}
	deliveries.WithLabelValues(name, "accepted").Inc()
	answer(w, http.StatusOK, struct{ EventId string }{id})
}
