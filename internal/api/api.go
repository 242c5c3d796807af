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
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/semaphore"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// DefaultRegion and DefaultAccount apply when a request's credentials do not
// say otherwise.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "123456789012"
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
	// budget is the room for request bodies in flight, in bytes.
	budget *semaphore.Weighted
	// Quotas, if set, charges each request to its account's quota (package
	// quota) once the caller is known, and refuses it when over.
	Quotas interface {
		Allow(ctx context.Context, sc control.Scope, op string) error
	}
}

// New returns the API handler. inflightBytes bounds the request bodies held
// at once (DefaultInflightBytes if 0 or less).
func New(ctl *control.Service, in *ingest.Service, log *slog.Logger, inflightBytes int64) *Handler {
	if inflightBytes <= 0 {
		inflightBytes = DefaultInflightBytes
	}
	h := &Handler{control: ctl, ingest: in, log: log, budget: semaphore.NewWeighted(max(inflightBytes, maxBody+1))}
	h.ops = h.operations()
	return h
}

// credentialScope matches the SigV4 Authorization header's
// "Credential=<key>/<date>/<region>/<service>/aws4_request". The region is
// taken as whatever lies between the slashes, however long, so that Caller
// can refuse it rather than silently fall back to the default.
var credentialScope = regexp.MustCompile(`Credential=([^/,\s]*)/([^/,\s]*)/([^/,\s]*)/`)

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// sigV4a is the algorithm of a Signature Version 4A Authorization header,
// "AWS4-ECDSA-P256-SHA256 Credential=<key>/<date>/<service>/aws4_request,
// SignedHeaders=..., Signature=...": its credential scope has no region;
// the regions the signature is good for are in the signed header
// X-Amz-Region-Set. The SDKs sign PutEvents with an EndpointId this way,
// for every region ("*"): the EventBridge endpoint rule set gives the
// auth scheme sigv4a with signingRegionSet ["*"], also when the client has
// an endpoint URL of its own.
const sigV4a = "AWS4-ECDSA-P256-SHA256"

// Caller derives the scope of a request: the region from the SigV4
// credential scope, and the account from a 12-digit access key id.
// Signatures are not verified (a later feature); any credentials are
// accepted. A region that is not an AWS region name is refused with the
// InvalidSignatureException AWS answers for a credential scoped to an
// invalid region.
//
// A SigV4a request (see sigV4a) has the account of its access key id too,
// and the region its X-Amz-Region-Set names when that is one region;
// signed for every region ("*") or several, its region is the default:
// PutEvents with an EndpointId takes the region from the endpoint.
func Caller(r *http.Request) (control.Scope, error) {
	sc := control.Scope{Account: DefaultAccount, Region: DefaultRegion}
	auth := r.Header.Get("Authorization")
	if strings.HasPrefix(auth, sigV4a+" ") {
		return callerV4a(sc, auth, r.Header.Get("X-Amz-Region-Set"))
	}
	m := credentialScope.FindStringSubmatch(auth)
	if m == nil {
		return sc, nil
	}
	if accountID.MatchString(m[1]) {
		sc.Account = m[1]
	}
	region := m[3]
	if !control.ValidRegion(region) {
		return sc, invalidRegion(region)
	}
	sc.Region = region
	return sc, nil
}

// callerV4a is Caller for a SigV4a Authorization header.
func callerV4a(sc control.Scope, auth, regionSet string) (control.Scope, error) {
	// Credential=<key>/<date>/<service>/: credentialScope's first group
	// is the key here too.
	if m := credentialScope.FindStringSubmatch(auth); m != nil && accountID.MatchString(m[1]) {
		sc.Account = m[1]
	}
	set := strings.TrimSpace(regionSet)
	if set == "" || strings.ContainsAny(set, ",*") {
		return sc, nil
	}
	if !control.ValidRegion(set) {
		return sc, invalidRegion(set)
	}
	sc.Region = set
	return sc, nil
}

// invalidRegion is AWS's answer to a credential scoped to a region it does
// not know: "Credential should be scoped to a valid region, not 'x'. ". A
// long value is not echoed back whole.
func invalidRegion(region string) *awserr.Error {
	if len(region) > 32 || !utf8.ValidString(region) {
		return awserr.New("InvalidSignatureException", "Credential should be scoped to a valid region. ")
	}
	return awserr.New("InvalidSignatureException", "Credential should be scoped to a valid region, not '%s'. ", region)
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
	sc, err := Caller(r)
	if err != nil {
		ae, _ := awserr.As(err)
		writeError(w, ae)
		return
	}
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
	err = h.budget.Acquire(wctx, weight)
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
	if h.Quotas != nil {
		if err := h.Quotas.Allow(r.Context(), sc, opName); err != nil {
			ae, _ := awserr.As(err)
			writeError(w, ae)
			return
		}
	}
	out, err := op(r.Context(), sc, body)
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

// notYet answers an operation of the EventBridge API whose feature has not
// landed, with a clear error rather than a hang or a 404.
func notYet(op, feature string) func(context.Context, control.Scope, []byte) (any, error) {
	return func(context.Context, control.Scope, []byte) (any, error) {
		return nil, &awserr.Error{Code: "UnsupportedOperationException", Message: fmt.Sprintf("%s is not supported by this Switchyard version yet (%s).", op, feature), Status: http.StatusBadRequest}
	}
}
