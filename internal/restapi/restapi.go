// Package restapi is the front shared by Switchyard's AWS services that speak
// the REST-JSON protocol (Schemas, Scheduler, Pipes): each operation is an
// HTTP method and a URI template, its input comes from the path, the query
// string, headers and a JSON body, and its errors are an HTTP status, the
// x-amzn-ErrorType header and a JSON body with the message.
//
// A Service authenticates a request exactly as the EventBridge API does
// (package auth, the credential scope naming the service's own signing
// name), bounds the bodies it holds, charges the account's quota, checks
// the caller's identity policies for "<service>:<Operation>" on the
// operation's resource, and hands the handler a Request that knows its
// account and region. Requests reach a Service through Dispatch, which reads
// the signing name of a request's credential scope: all the services share
// one listener, as AWS's do not.
package restapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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
)

// DefaultMaxBody bounds a request body unless Options say otherwise. The
// largest inputs of the REST-JSON services are schema documents (the
// Schemas model bounds Content to 100,000 characters, which JSON escaping
// may grow severalfold) and Scheduler and Pipes definitions far smaller.
const DefaultMaxBody = 1 << 20

// DefaultInflightBytes is how many bytes of request bodies one Service
// holds at once, all requests together.
const DefaultInflightBytes = 64 << 20

const budgetWait = 2 * time.Second

// Options configure a Service.
type Options struct {
	// Auth tells who requests are from; nil is auth.None. Dispatch's
	// caller passes auth.ForService(a, name) so that SigV4 scopes are
	// checked for the service's signing name.
	Auth auth.Authenticator
	Log  *slog.Logger
	// MaxBody bounds one request body (DefaultMaxBody if 0).
	MaxBody int64
	// InflightBytes bounds the bodies held at once (DefaultInflightBytes
	// if 0).
	InflightBytes int64
	// Quotas, if set, charges each request to its account's quota; the
	// operation is named "<service>:<Operation>".
	Quotas interface {
		Allow(ctx context.Context, sc control.Scope, op string) error
	}
	// MessageField is the member of an error body that carries the
	// message, as the service's model spells it: "Message" (Schemas,
	// Scheduler) unless set ("message" for Pipes).
	MessageField string
	// CodeField, if set, is a member of every error body that repeats the
	// error's code, as the service's model has it ("Code" for Schemas,
	// whose error shapes all have Code and Message), errors of the front
	// itself included.
	CodeField string
	// ThrottleCode is the error a request over its quota, or finding no
	// room for its body, is answered with, HTTP 429 as the REST-JSON
	// services' models have it: "ThrottlingException" (Scheduler, Pipes)
	// unless set ("TooManyRequestsException" for Schemas).
	ThrottleCode string
	// IAMPrefix is the IAM service prefix of the operations' actions
	// ("schemas", "scheduler", "pipes"); the service name if empty.
	IAMPrefix string
}

// Service serves one REST-JSON API.
type Service struct {
	name   string
	opts   Options
	mux    *http.ServeMux
	budget *semaphore.Weighted
	log    *slog.Logger
}

// New returns the front of the service whose SigV4 signing name is name.
func New(name string, opts Options) *Service {
	if opts.Auth == nil {
		opts.Auth = auth.None{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.InflightBytes <= 0 {
		opts.InflightBytes = DefaultInflightBytes
	}
	if opts.MessageField == "" {
		opts.MessageField = "Message"
	}
	if opts.IAMPrefix == "" {
		opts.IAMPrefix = name
	}
	if opts.ThrottleCode == "" {
		opts.ThrottleCode = "ThrottlingException"
	}
	s := &Service{name: name, opts: opts, mux: http.NewServeMux(), log: opts.Log,
		budget: semaphore.NewWeighted(max(opts.InflightBytes, opts.MaxBody+1))}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &awserr.Error{Code: "UnknownOperationException",
			Message: fmt.Sprintf("No operation of the %s API matches %s %s.", name, r.Method, r.URL.Path), Status: http.StatusNotFound})
	})
	return s
}

// Name is the service's signing name.
func (s *Service) Name() string { return s.name }

// Request is one request to an operation, authenticated.
type Request struct {
	HTTP *http.Request
	// Body is the request body as received; handlers decode it with
	// Decode. It is the handler's to keep.
	Body     []byte
	Scope    control.Scope
	Identity *auth.Identity
	// Operation is the operation's name, as the model gives it.
	Operation string
	// RequestID is the x-amzn-RequestId of the answer.
	RequestID string
}

// Path returns the value of the URI label name, unescaped.
func (r *Request) Path(name string) string { return r.HTTP.PathValue(name) }

// Query returns the value of the query parameter name ("" if absent).
func (r *Request) Query(name string) string { return r.HTTP.URL.Query().Get(name) }

// QueryList returns every value of the query parameter name.
func (r *Request) QueryList(name string) []string { return r.HTTP.URL.Query()[name] }

// QueryInt returns the query parameter name as an integer, ok false when it
// is absent. A value that is not an integer is a SerializationException,
// as the SDKs would never send one.
func (r *Request) QueryInt(name string) (n int, ok bool, err error) {
	v := r.HTTP.URL.Query().Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil {
		return 0, false, awserr.New(awserr.CodeSerialization, "Query parameter %s is not an integer: %q.", name, v)
	}
	return n, true, nil
}

// Header returns the value of the request header name.
func (r *Request) Header(name string) string { return r.HTTP.Header.Get(name) }

// Decode reads the JSON body into v. An empty body leaves v as it is. A
// body that is not JSON of v's shape is a SerializationException.
func (r *Request) Decode(v any) error {
	if len(strings.TrimSpace(string(r.Body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return awserr.New(awserr.CodeSerialization, "Unexpected value type in payload at '%s'", te.Field)
		}
		return awserr.New(awserr.CodeSerialization, "Request body is not valid JSON: %s", err.Error())
	}
	return nil
}

// Response is an operation's answer. Body is encoded as JSON unless it is
// a []byte (a blob payload, sent as it is, with ContentType).
type Response struct {
	Status      int // 200 if 0
	Body        any
	ContentType string // of a []byte Body; application/json otherwise
	Header      http.Header
}

// OK is a 200 answer with a JSON body.
func OK(body any) (*Response, error) { return &Response{Body: body}, nil }

// HandlerFunc carries out an operation.
type HandlerFunc func(ctx context.Context, r *Request) (*Response, error)

// ResourceFunc names the ARN an operation acts on, for identity policies;
// nil (or "") is "*".
type ResourceFunc func(r *Request) string

// Handle routes pattern (a net/http ServeMux pattern with its method,
// "GET /v1/registries/name/{RegistryName}") to the operation op.
func (s *Service) Handle(op, pattern string, resource ResourceFunc, fn HandlerFunc) {
	s.mux.Handle(pattern, &operation{svc: s, op: op, resource: resource, fn: fn})
}

// ServeHTTP routes a request to its operation.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

type operation struct {
	svc      *Service
	op       string
	resource ResourceFunc
	fn       HandlerFunc
}

func (o *operation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := o.svc
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	start := time.Now()
	defer func() {
		// A bug must cost one request an InternalServerException, never
		// the server.
		if v := recover(); v != nil {
			s.log.Error("restapi: panic", "service", s.name, "op", o.op, "err", v, "request", reqID)
			s.writeError(w, r, internal())
		}
		code := w.Header().Get("x-amzn-ErrorType")
		if code == "" {
			code = "OK"
		}
		requests.WithLabelValues(s.name, o.op, code).Inc()
		latency.WithLabelValues(s.name, o.op).Observe(time.Since(start).Seconds())
	}()
	if r.ContentLength > s.opts.MaxBody {
		s.writeError(w, r, tooLarge(s.opts.MaxBody))
		return
	}
	weight := s.opts.MaxBody + 1
	if r.ContentLength >= 0 {
		weight = r.ContentLength
	}
	wctx, cancel := context.WithTimeout(r.Context(), budgetWait)
	err := s.budget.Acquire(wctx, weight)
	cancel()
	if err != nil {
		if r.Context().Err() == nil {
			s.writeError(w, r, s.throttled())
		}
		return
	}
	defer s.budget.Release(weight)
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBody+1))
	if err != nil {
		s.writeError(w, r, awserr.New(awserr.CodeSerialization, "Could not read the request body."))
		return
	}
	if int64(len(body)) > s.opts.MaxBody {
		s.writeError(w, r, tooLarge(s.opts.MaxBody))
		return
	}
	id, err := s.opts.Auth.Authenticate(r, body)
	if err != nil {
		ae, ok := awserr.As(err)
		if !ok {
			s.log.Error("restapi: authentication failed", "service", s.name, "op", o.op, "request", reqID, "err", err)
			ae = internal()
		}
		s.writeError(w, r, ae)
		return
	}
	if !utf8.Valid(body) && strings.Contains(r.Header.Get("Content-Type"), "json") {
		s.writeError(w, r, awserr.New(awserr.CodeSerialization, "Invalid UTF-8 in the request body."))
		return
	}
	sc := id.Scope()
	ctx := auth.NewContext(r.Context(), id)
	p := principalOf(id)
	ctx = authz.WithPrincipal(ctx, p)
	if s.opts.Quotas != nil {
		if err := s.opts.Quotas.Allow(ctx, sc, s.name+":"+o.op); err != nil {
			ae, _ := awserr.As(err)
			if ae == nil || ae.Code == "ThrottlingException" {
				ae = s.throttled()
			}
			s.writeError(w, r, ae)
			return
		}
	}
	req := &Request{HTTP: r, Body: body, Scope: sc, Identity: id, Operation: o.op, RequestID: reqID}
	if p.Policies != nil {
		res := "*"
		if o.resource != nil {
			if v := o.resource(req); v != "" {
				res = v
			}
		}
		if ok, msg := authz.Allowed(p, s.opts.IAMPrefix+":"+o.op, res, nil); !ok {
			s.writeError(w, r, &awserr.Error{Code: "AccessDeniedException", Message: msg, Status: http.StatusForbidden})
			return
		}
	}
	out, err := o.fn(ctx, req)
	if err != nil {
		ae, ok := awserr.As(err)
		if !ok {
			if errors.Is(err, context.Canceled) {
				return
			}
			s.log.Error("restapi: operation failed", "service", s.name, "op", o.op, "request", reqID, "err", err)
			ae = internal()
		}
		s.writeError(w, r, ae, fieldsOf(err)...)
		return
	}
	if out == nil {
		out = &Response{}
	}
	for k, vs := range out.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := out.Status
	if status == 0 {
		status = http.StatusOK
	}
	var data []byte
	switch b := out.Body.(type) {
	case nil:
		data = []byte("{}")
		w.Header().Set("Content-Type", "application/json")
	case []byte:
		data = b
		ct := out.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
	default:
		data, err = json.Marshal(b)
		if err != nil {
			s.log.Error("restapi: encode response", "service", s.name, "op", o.op, "err", err)
			s.writeError(w, r, internal())
			return
		}
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// FieldError is an error whose body carries members beside the message
// (Pipes' ValidationException has "fieldList", Scheduler's
// ConflictException "ResourceId"...).
type FieldError struct {
	Err    *awserr.Error
	Fields map[string]any
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldsOf(err error) []map[string]any {
	var fe *FieldError
	if errors.As(err, &fe) {
		return []map[string]any{fe.Fields}
	}
	return nil
}

func (s *Service) writeError(w http.ResponseWriter, _ *http.Request, e *awserr.Error, extra ...map[string]any) {
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	body := map[string]any{s.opts.MessageField: e.Message}
	if s.opts.CodeField != "" {
		body[s.opts.CodeField] = e.Code
	}
	for _, m := range extra {
		for k, v := range m {
			body[k] = v
		}
	}
	data, _ := json.Marshal(body)
	_, _ = w.Write(data)
}

// throttled is the service's answer to a request over its quota.
func (s *Service) throttled() *awserr.Error {
	return &awserr.Error{Code: s.opts.ThrottleCode, Message: "Rate exceeded", Status: http.StatusTooManyRequests}
}

func internal() *awserr.Error {
	return &awserr.Error{Code: "InternalServerException", Message: "An internal error occurred. Please retry.", Status: http.StatusInternalServerError}
}

func tooLarge(n int64) *awserr.Error {
	return &awserr.Error{Code: "RequestEntityTooLargeException", Message: fmt.Sprintf("Request must be smaller than %d bytes.", n), Status: http.StatusRequestEntityTooLarge}
}

func principalOf(id *auth.Identity) authz.Principal {
	arn := id.Principal
	if arn == "" {
		arn = "arn:aws:iam::" + id.Account + ":root"
	}
	return authz.Principal{ARN: arn, Account: id.Account, OrgID: id.OrgID, Policies: id.IAM}
}

// signingName finds the service of a SigV4 or SigV4a credential scope:
// "Credential=<key>/<date>/<region>/<service>/aws4_request" (SigV4a has no
// region).
var signingName = regexp.MustCompile(`Credential=[^/,\s]*/[^/,\s]*/(?:[^/,\s]*/)?([^/,\s]*)/aws4_request`)

// SigningName returns the service a request was signed for: the credential
// scope of its Authorization header or of its presigned X-Amz-Credential
// query parameter; "" when it is not signed.
func SigningName(r *http.Request) string {
	if m := signingName.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		parts := strings.Split(c, "/")
		if len(parts) >= 4 && parts[len(parts)-1] == "aws4_request" {
			return parts[len(parts)-2]
		}
	}
	return ""
}

// Dispatch routes each request to the service its credential scope names,
// and every other request (EventBridge's, and unsigned ones) to fallback.
func Dispatch(fallback http.Handler, services ...*Service) http.Handler {
	by := make(map[string]*Service, len(services))
	for _, s := range services {
		by[s.name] = s
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := by[SigningName(r)]; ok {
			s.ServeHTTP(w, r)
			return
		}
		fallback.ServeHTTP(w, r)
	})
}

// PathEscape escapes a URI label as the SDKs do, for building links.
func PathEscape(s string) string { return url.PathEscape(s) }

var (
	requests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_rest_api_requests_total",
		Help: "Requests to the REST-JSON APIs (Schemas, Scheduler, Pipes), by service, operation and outcome (OK or the AWS error code).",
	}, []string{"service", "operation", "code"})
	latency = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchyard_rest_api_request_duration_seconds",
		Help:    "Time to answer a REST-JSON API request, by service and operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"service", "operation"})
)
