// Package api serves the EventBridge API over the AWS JSON 1.1 protocol, as
// the AWS SDKs and CLI speak it: POST / with X-Amz-Target
// "AWSEvents.<Operation>", JSON in and out, errors as {"__type", "message"}
// with AWS's HTTP status. It decodes and validates requests against the API
// model's constraints and hands them to the control plane (package control)
// or to ingestion (package ingest).
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/semaphore"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/authz"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// DefaultRegion and DefaultAccount apply under --auth none when a request's
// credentials do not say otherwise.
const (
	DefaultRegion  = auth.DefaultRegion
	DefaultAccount = auth.DefaultAccount
)

// maxBody bounds a request body. PutEvents' own limit is 1 MiB of entries,
// but JSON escaping can double that or more (a quote is \" inside Detail's
// string, then escaped again; the SDKs write non-ASCII as \uXXXX).
const maxBody = 8 << 20

// DefaultInflightBytes is how many bytes of request bodies the handler holds
// at once, all requests together, unless told otherwise. A body, once read,
// is decoded into a few times its size, so this bounds the memory that
// requests can take as a whole: 64 concurrent PutEvents bodies of 3.6 MB
// once took the process from 540 MB to 2.85 GB. Legitimate traffic is far
// below it (a full PutEvents request is 1 MiB of entries).
const DefaultInflightBytes = 128 << 20

// budgetWait is how long a request waits for room in the body budget before
// it is answered with a ThrottlingException, which every SDK retries.
const budgetWait = 2 * time.Second

// Handler is the EventBridge API endpoint.
type Handler struct {
	control *control.Service
	ingest  *ingest.Service
	log     *slog.Logger
	ops     map[string]func(ctx context.Context, sc control.Scope, body []byte) (any, error)
	// policies decides calls on another account's bus (crossaccount.go).
	policies authz.Policies
	// budget is the room for request bodies in flight, in bytes.
	budget *semaphore.Weighted
	// Quotas, if set, charges each request to its account's quota (package
	// quota) once the caller is known, and refuses it when over.
	Quotas interface {
		Allow(ctx context.Context, sc control.Scope, op string) error
	}
	// auth tells who each request is from.
	auth auth.Authenticator
}

// New returns the API handler. inflightBytes bounds the request bodies held
// at once (DefaultInflightBytes if 0 or less). authn tells who requests are
// from; nil is auth.None (--auth none).
func New(ctl *control.Service, in *ingest.Service, log *slog.Logger, inflightBytes int64, authn auth.Authenticator) *Handler {
	if inflightBytes <= 0 {
		inflightBytes = DefaultInflightBytes
	}
	if authn == nil {
		authn = auth.None{}
	}
	h := &Handler{control: ctl, ingest: in, log: log, budget: semaphore.NewWeighted(max(inflightBytes, maxBody+1)), auth: authn}
	h.ops = h.operations()
	return h
}

// Caller derives the scope of a request as --auth none does: the region
// from the SigV4 credential scope, and the account from a 12-digit access
// key id; signatures are not verified. A region that is not an AWS region
// name is refused with the InvalidSignatureException AWS answers for a
// credential scoped to an invalid region.
func Caller(r *http.Request) (control.Scope, error) {
	id, err := auth.None{}.Authenticate(r, nil)
	if err != nil {
		return control.Scope{Account: DefaultAccount, Region: DefaultRegion}, err
	}
	return id.Scope(), nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	opLabel := "unknown"
	start := time.Now()
	defer func() {
		// A bug must cost one request an InternalException, never the server.
		if v := recover(); v != nil {
			h.log.Error("api: panic", "err", v, "request", reqID)
			writeError(w, awserr.Internal())
		}
		code := w.Header().Get("x-amzn-ErrorType") // set by writeError
		if code == "" {
			code = "OK"
		}
		apiRequests.WithLabelValues(opLabel, code).Inc()
		apiLatency.WithLabelValues(opLabel).Observe(time.Since(start).Seconds())
	}()
	if r.Method != http.MethodPost {
		writeError(w, &awserr.Error{Code: "UnknownOperationException", Message: "Only POST requests are supported.", Status: http.StatusBadRequest})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	opName, ok := strings.CutPrefix(target, "AWSEvents.")
	op := h.ops[opName]
	if !ok || op == nil {
		writeError(w, awserr.New(awserr.CodeUnknownOperation, "Operation %q is not recognized.", target))
		return
	}
	opLabel = opName // only operations the API has: the label's values are bounded
	if r.ContentLength > maxBody {
		writeError(w, tooLarge(opName))
		return
	}
	// A body of unknown length may be as large as the largest allowed.
	weight := int64(maxBody + 1)
	if r.ContentLength >= 0 {
		weight = r.ContentLength
	}
	wctx, cancel := context.WithTimeout(r.Context(), budgetWait)
	err := h.budget.Acquire(wctx, weight)
	cancel()
	if err != nil {
		if r.Context().Err() == nil {
			inflightRefused.Inc()
			writeError(w, throttled())
		}
		return
	}
	defer h.budget.Release(weight)
	body, err := readBody(r)
	if err != nil {
		writeError(w, awserr.New(awserr.CodeSerialization, "Could not read the request body."))
		return
	}
	defer putBody(body)
	if len(body) > maxBody {
		writeError(w, tooLarge(opName))
		return
	}
	// The signature covers the body as received, so it is checked before
	// anything reads the body, on the pooled buffer itself.
	id, err := h.auth.Authenticate(r, body)
	if err != nil {
		ae, ok := awserr.As(err)
		if !ok {
			h.log.Error("api: authentication failed", "op", opName, "request", reqID, "err", err)
			ae = awserr.Internal()
		}
		writeError(w, ae)
		return
	}
	ctx := auth.NewContext(r.Context(), id)
	sc := id.Scope()
	if !utf8.Valid(body) {
		// The AWS JSON protocol is UTF-8; AWS's parser refuses other bytes
		// rather than guess, and so do we: decoding would turn them into
		// U+FFFD and store an event that is not what was sent.
		writeError(w, awserr.New(awserr.CodeSerialization, "Invalid UTF-8 in the request body at byte %d.", invalidUTF8At(body)))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	ctx = authz.WithPrincipal(ctx, principal(id))
	if h.Quotas != nil {
		if err := h.Quotas.Allow(ctx, sc, opName); err != nil {
			ae, _ := awserr.As(err)
			writeError(w, ae)
			return
		}
	}
	if err := h.authorize(ctx, sc, opName, body); err != nil {
		ae, _ := awserr.As(err)
		writeError(w, ae)
		return
	}
	ctx, sc, err = h.ownerScope(ctx, sc, opName, body)
	if err != nil {
		ae, _ := awserr.As(err)
		writeError(w, ae)
		return
	}
	if opName == "PutEvents" {
		// The request's own trace context, which PutEvents entries
		// without a TraceHeader take (ingest/trace.go): X-Ray's, or W3C's
		// (package tracing).
		if rt := (requestTrace{r.Header.Get(ingest.TraceHeaderName), r.Header.Get("Traceparent"), r.Header.Get("Tracestate")}); rt != (requestTrace{}) {
			ctx = context.WithValue(ctx, requestTraceKey{}, rt)
		}
	}
	out, err := op(ctx, sc, body)
	if err != nil {
		ae, ok := awserr.As(err)
		if !ok {
			if errors.Is(err, context.Canceled) {
				return
			}
			h.log.Error("api: operation failed", "op", opName, "request", reqID, "err", err)
			ae = awserr.Internal()
		}
		writeError(w, ae)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if out == nil {
		out = struct{}{}
	}
	data, err := json.Marshal(out)
	if err != nil {
		h.log.Error("api: encode response", "op", opName, "err", err)
		writeError(w, awserr.Internal())
		return
	}
	_, _ = w.Write(data)
}

// readBody reads at most maxBody+1 bytes of the request body. A body of
// known length is read into one buffer of its size class from bodyPool, to
// be handed back with putBody once the request is answered: io.ReadAll's
// doubling would leave about as much again behind as garbage, and fresh
// buffers for every large body, at the collector's GOGC of 400
// (cmd/switchyard/gc.go), let the heap grow to five times the bodies in
// flight before a collection.
func readBody(r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > maxBody {
		return io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	}
	body := getBody(int(n))
	if _, err := io.ReadFull(r.Body, body); err != nil {
		putBody(body)
		return nil, err
	}
	return body, nil
}

// Body buffers come in size classes of powers of two from 4 KiB to maxBody;
// smaller bodies are not worth pooling.
const minPooled = 4 << 10

var bodyPool [24]sync.Pool // by log2 of the class size

func sizeClass(n int) int { return bits.Len(uint(n - 1)) }

func getBody(n int) []byte {
	if n < minPooled {
		return make([]byte, n)
	}
	c := sizeClass(n)
	if b, ok := bodyPool[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

// putBody hands back a body read by readBody. Nothing may hold on to the
// body, or to memory within it, once it is put back: operations decode
// what they keep (encoding/json copies strings).
func putBody(b []byte) {
	c := cap(b)
	if c < minPooled || c > maxBody || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	bodyPool[sizeClass(c)].Put(&b)
}

// invalidUTF8At returns the offset of the first byte of b that does not
// start a valid UTF-8 sequence.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func tooLarge(op string) *awserr.Error {
	return &awserr.Error{Code: "RequestEntityTooLargeException", Message: fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", maxBody, op), Status: http.StatusRequestEntityTooLarge}
}

// throttled is AWS's answer to more requests than it takes at the moment;
// the SDKs retry it with back-off.
func throttled() *awserr.Error {
	return awserr.New("ThrottlingException", "Rate exceeded")
}

// API metrics, per operation: how many requests ended with which code
// ("OK" or the AWS error code), and how long they took.
var (
	apiRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_api_requests_total",
		Help: "EventBridge API requests, by operation and outcome (OK or the AWS error code).",
	}, []string{"operation", "code"})
	apiLatency = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchyard_api_request_duration_seconds",
		Help:    "Time to answer an EventBridge API request, by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"operation"})
)

// inflightRefused counts requests refused because request bodies in flight
// already filled the budget.
var inflightRefused = promauto.NewCounter(prometheus.CounterOpts{
	Name: "switchyard_api_requests_throttled_total",
	Help: "API requests answered with ThrottlingException because the request bodies in flight filled --max-inflight-request-bytes.",
})

func writeError(w http.ResponseWriter, e *awserr.Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	data, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message})
	_, _ = w.Write(data)
}

// decode reads the request body into in and validates it. A body that does
// not fit the shape is a SerializationException, as in AWS.
func decode(body []byte, in any) error {
	if err := json.Unmarshal(body, in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return awserr.New(awserr.CodeSerialization, "Unexpected value type in payload at '%s'", te.Field)
		}
		return awserr.New(awserr.CodeSerialization, "Request body is not valid JSON: %s", err.Error())
	}
	return validate(in)
}

// handle adapts a typed operation to the dispatch table.
func handle[In any](fn func(ctx context.Context, sc control.Scope, in *In) (any, error)) func(context.Context, control.Scope, []byte) (any, error) {
	return func(ctx context.Context, sc control.Scope, body []byte) (any, error) {
		in := new(In)
		if err := decode(body, in); err != nil {
			return nil, err
		}
		return fn(ctx, sc, in)
	}
}
