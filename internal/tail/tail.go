// Package tail streams the events of an event bus as they are stored,
// filtered by an event pattern, as Server-Sent Events: the live tail behind
// `switchyard tail` and the console. It reads the events stream itself (an
// ordered, ephemeral JetStream consumer per tail), so it sees what every
// Switchyard process on the NATS cluster accepted, and costs the data path
// nothing: the router's consumer is not involved.
//
//	GET /_switchyard/tail?EventBusName=orders&EventPattern={"source":["app"]}&Limit=10
//
// answers text/event-stream: first an "event: ready" once the consumer
// reads the stream (events stored from then on are seen), then one
// "event: event" per matching event, its id the event's id and its data
// the event as targets receive it, and a comment line every 15 s to keep
// proxies from closing an idle stream. Limit ends the stream after that
// many events. A tail sees only events accepted after it starts: the events
// stream keeps an event only until the router has matched it (interest
// retention), so there is no history to read; archives are the history. Requests are authenticated as the EventBridge API's
// are; the caller needs events:DescribeEventBus on the bus, as reading
// its events is reading the bus.
package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/authz"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/pattern"
)

// Path is where Handler is served.
const Path = "/_switchyard/tail"

// DefaultMaxPerAccount is how many tails one account may have open on one
// process at once unless Handler says otherwise.
const DefaultMaxPerAccount = 16

const (
	keepAlive = 15 * time.Second
	// writeWindow bounds each write: a client that stops reading loses
	// the stream instead of holding it, and the consumer, forever.
	writeWindow = 30 * time.Second
)

// Handler serves tails.
type Handler struct {
	JS   jetstream.JetStream
	View *control.View
	Auth auth.Authenticator
	Log  *slog.Logger
	// Keys opens the messages of encrypted buses (package busenc); nil
	// when no bus is encrypted.
	Keys *busenc.Keys
	// MaxPerAccount bounds the open tails of one account on this process
	// (DefaultMaxPerAccount if 0).
	MaxPerAccount int

	mu   sync.Mutex
	open map[string]int
}

var (
	tailsOpen = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "switchyard_tails_open",
		Help: "Live tails of event buses open on this process (switchyard tail, the console).",
	})
	tailEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_tail_events_total",
		Help: "Events sent to live tails.",
	})
)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, err := h.Auth.Authenticate(r, nil)
	if err != nil {
		writeError(w, err)
		return
	}
	sc := id.Scope()
	q := r.URL.Query()
	busName := q.Get("EventBusName")
	if busName == "" {
		busName = "default"
	}
	if s, name, ok := control.ParseBusARN(busName); ok {
		if s != sc {
			writeError(w, awserr.Validation("A tail reads a bus of the caller's own account and region."))
			return
		}
		busName = name
	}
	bus, _ := h.View.Bus(sc, busName)
	if bus == nil {
		writeError(w, awserr.NotFound("Event bus %s does not exist.", busName))
		return
	}
	p := authz.PrincipalFrom(authz.WithPrincipal(r.Context(), principal(id)), sc.Account)
	if ok, msg := authz.Allowed(p, "events:DescribeEventBus", bus.ARN(), nil); !ok {
		writeError(w, &awserr.Error{Code: "AccessDeniedException", Message: msg, Status: http.StatusForbidden})
		return
	}
	m := pattern.NewMatcher()
	if src := q.Get("EventPattern"); src != "" {
		pat, err := pattern.Parse([]byte(src))
		if err == nil {
			err = m.Add("tail", pat)
		}
		if err != nil {
			writeError(w, awserr.New(awserr.CodeInvalidEventPattern, "Event pattern is not valid. Reason: %s", err.Error()))
			return
		}
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{ingest.Subject(sc, busName)}, DeliverPolicy: jetstream.DeliverNewPolicy}
	limit := -1
	if s := q.Get("Limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, awserr.Validation("Limit must be a positive integer."))
			return
		}
		limit = n
	}
	if !h.acquire(sc.Account) {
		writeError(w, awserr.New(awserr.CodeLimitExceeded, "The account has %d tails open on this server already.", h.max()))
		return
	}
	defer h.release(sc.Account)
	tailsOpen.Inc()
	defer tailsOpen.Dec()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	cons, err := h.JS.OrderedConsumer(ctx, store.EventsStream, cfg)
	if err != nil {
		h.Log.Error("tail: consumer", "err", err)
		writeError(w, awserr.Unavailable())
		return
	}
	msgs, err := cons.Messages()
	if err != nil {
		h.Log.Error("tail: consume", "err", err)
		writeError(w, awserr.Unavailable())
		return
	}
	defer msgs.Stop()
	go func() { <-ctx.Done(); msgs.Stop() }()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	send := func(s string) error {
		_ = rc.SetWriteDeadline(time.Now().Add(writeWindow))
		if _, err := fmt.Fprint(w, s); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send("event: ready\ndata: {}\n\n") != nil {
		return
	}
	// Messages arrive on next; the keep-alive ticks between them.
	type result struct {
		msg jetstream.Msg
		err error
	}
	next := make(chan result)
	go func() {
		for {
			msg, err := msgs.Next()
			select {
			case next <- result{msg, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var buf bytes.Buffer
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		var res result
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if send(": keep-alive\n\n") != nil {
				return
			}
			continue
		case res = <-next:
		}
		if res.err != nil {
			if !errors.Is(res.err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
				h.Log.Warn("tail: stream read", "err", res.err)
				_ = send("event: error\ndata: {\"message\":\"the events stream could not be read\"}\n\n")
			}
			return
		}
		hd := res.msg.Headers()
		data, err := h.Keys.Open(ctx, res.msg.Data()) // as the router does: sealed for a bus with a KMS key
		if err != nil {
			h.Log.Warn("tail: an event message does not open", "bus", busName, "err", err)
			continue
		}
		events, err := ingest.Events(hd.Get(ingest.HeaderEvents), hd.Get(jetstream.MsgIDHeader), data)
		if err != nil {
			continue
		}
		for _, ev := range events {
			if ids, err := m.Match(ev.Envelope); err != nil || (q.Get("EventPattern") != "" && len(ids) == 0) {
				continue
			}
			// As targets receive it: compact JSON, one line, as SSE data must be.
			buf.Reset()
			if json.Compact(&buf, ev.Envelope) != nil {
				continue
			}
			if send("id: "+ev.ID+"\nevent: event\ndata: "+buf.String()+"\n\n") != nil {
				return
			}
			tailEvents.Inc()
			if limit > 0 {
				if limit--; limit == 0 {
					return
				}
			}
		}
	}
}

func (h *Handler) max() int {
	if h.MaxPerAccount > 0 {
		return h.MaxPerAccount
	}
	return DefaultMaxPerAccount
}

func (h *Handler) acquire(account string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open == nil {
		h.open = map[string]int{}
	}
	if h.open[account] >= h.max() {
		return false
	}
	h.open[account]++
	return true
}

func (h *Handler) release(account string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open[account]--; h.open[account] <= 0 {
		delete(h.open, account)
	}
}

func principal(id *auth.Identity) authz.Principal {
	arn := id.Principal
	if arn == "" {
		arn = "arn:aws:iam::" + id.Account + ":root"
	}
	return authz.Principal{ARN: arn, Account: id.Account, OrgID: id.OrgID, Policies: id.IAM}
}

func writeError(w http.ResponseWriter, err error) {
	ae, ok := awserr.As(err)
	if !ok {
		ae = awserr.Internal()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", ae.Code)
	w.WriteHeader(ae.Status)
	_, _ = fmt.Fprintf(w, "{\"__type\":%q,\"message\":%q}", ae.Code, ae.Message)
}
