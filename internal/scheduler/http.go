package scheduler

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
)

// FirePath is the admin endpoint that fires a scheduled rule now.
const FirePath = "/_switchyard/rules/fire"

// FireRequest is the body of a POST to FirePath.
type FireRequest struct {
	Name         string
	EventBusName string `json:",omitempty"` // name or ARN; default when empty
}

// FireResponse answers a successful FireRequest.
type FireResponse struct {
	EventId string
	Time    string // the event's time, RFC 3339
	Targets int    // how many targets the event was sent to
}

// FireHandler serves FirePath (POST, JSON in and out). It is not part of the
// AWS API, but answers like it: errors are {"__type","message"} with AWS's
// status. scope tells the caller's account and region from the request and
// its body, as the API does (verifying its signature under --auth sigv4),
// so that the CLI and SDK credentials select the same rules.
func (s *Scheduler) FireHandler(scope func(r *http.Request, body []byte) (control.Scope, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			writeError(w, awserr.New(awserr.CodeSerialization, "Could not read the request body."))
			return
		}
		sc, err := scope(r, body)
		if err != nil {
			ae, ok := awserr.As(err)
			if !ok {
				ae = awserr.Internal()
			}
			writeError(w, ae)
			return
		}
		var in FireRequest
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, awserr.New(awserr.CodeSerialization, "The body must be JSON: {\"Name\": \"<rule>\", \"EventBusName\": \"<bus>\"}."))
			return
		}
		if in.Name == "" {
			writeError(w, awserr.Validation("Name is required."))
			return
		}
		f, err := s.FireNow(r.Context(), sc, in.EventBusName, in.Name)
		if err != nil {
			ae, ok := awserr.As(err)
			if !ok {
				s.log.Error("scheduler: fire now", "rule", in.Name, "err", err)
				ae = awserr.Internal()
			}
			writeError(w, ae)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(FireResponse{EventId: f.EventID, Time: f.Time.Format(time.RFC3339), Targets: f.Targets})
	})
}

func writeError(w http.ResponseWriter, e *awserr.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message})
}
