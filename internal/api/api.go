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
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"

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

// maxBody bounds a request body; PutEvents' own limit is 256 KiB of entries,
// but JSON escaping can double that.
const maxBody = 4 << 20

// Handler is the EventBridge API endpoint.
type Handler struct {
	control *control.Service
	ingest  *ingest.Service
	log     *slog.Logger
	ops     map[string]func(ctx context.Context, sc control.Scope, body []byte) (any, error)
}

// New returns the API handler.
func New(ctl *control.Service, in *ingest.Service, log *slog.Logger) *Handler {
	h := &Handler{control: ctl, ingest: in, log: log}
	h.ops = h.operations()
	return h
}

// credentialScope matches the SigV4 Authorization header's
// "Credential=<key>/<date>/<region>/<service>/aws4_request".
var credentialScope = regexp.MustCompile(`Credential=([^/,\s]+)/[0-9]{8}/([^/,\s]+)/`)

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// Caller derives the scope of a request: the region from the SigV4
// credential scope, and the account from a 12-digit access key id.
// Signatures are not verified (a later feature); any credentials are
// accepted.
func Caller(r *http.Request) control.Scope {
	sc := control.Scope{Account: DefaultAccount, Region: DefaultRegion}
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		if accountID.MatchString(m[1]) {
			sc.Account = m[1]
		}
		sc.Region = m[2]
	}
	return sc
}

// region names are what a subject token and an ARN can hold.
var validRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	defer func() {
		// A bug must cost one request an InternalException, never the server.
		if v := recover(); v != nil {
			h.log.Error("api: panic", "err", v, "request", reqID)
			writeError(w, awserr.Internal())
		}
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
	sc := Caller(r)
	if !validRegion.MatchString(sc.Region) {
		writeError(w, awserr.New("InvalidSignatureException", "Credential should be scoped to a valid region."))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, awserr.New(awserr.CodeSerialization, "Could not read the request body."))
		return
	}
	if len(body) > maxBody {
		writeError(w, &awserr.Error{Code: "RequestEntityTooLargeException", Message: "Request must be smaller than 4194304 bytes for the " + opName + " operation", Status: http.StatusRequestEntityTooLarge})
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
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
