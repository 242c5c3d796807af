package iampolicy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An authorizeFile is a golden file under testdata/authorize: the identity
// policies of some principals, the resource policies of some resources, and
// requests with the decision Authorize must reach.
type authorizeFile struct {
	Source   string                       `json:"source"` // the documentation the cases come from
	Identity map[string][]json.RawMessage `json:"identity"`
	Resource map[string]json.RawMessage   `json:"resource"`
	Cases    []struct {
		Name    string      `json:"name"`
		Request testRequest `json:"request"`
		Want    string      `json:"want"`
		Message string      `json:"message"`
	} `json:"cases"`
}

// testRequest is a Request as JSON.
type testRequest struct {
	Principal string              `json:"principal"`
	Account   string              `json:"account"`
	Service   string              `json:"service"`
	Action    string              `json:"action"`
	Resource  string              `json:"resource"`
	Time      string              `json:"time"`
	Context   map[string][]string `json:"context"`
}

func (r testRequest) request(t testing.TB) *Request {
	req := &Request{
		PrincipalARN:     r.Principal,
		PrincipalAccount: r.Account,
		PrincipalService: r.Service,
		Action:           r.Action,
		Resource:         r.Resource,
		Context:          r.Context,
	}
	if r.Time != "" {
		at, err := time.Parse(time.RFC3339, r.Time)
		if err != nil {
			t.Fatal(err)
		}
		req.Time = at
	}
	return req
}

func TestAuthorizeGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/authorize/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var f authorizeFile
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			identity := map[string][]*Policy{}
			for who, docs := range f.Identity {
				for _, doc := range docs {
					identity[who] = append(identity[who], mustParse(t, string(doc), Identity))
				}
			}
			resource := map[string]*Policy{}
			for what, doc := range f.Resource {
				resource[what] = mustParse(t, string(doc), Resource)
			}
			for _, c := range f.Cases {
				req := c.Request.request(t)
				got := Authorize(req, identity[req.PrincipalARN], resource[req.Resource])
				if got.Decision.String() != c.Want {
					t.Errorf("%s: %v, want %s\n(%s)", c.Name, got.Decision, c.Want, f.Source)
				}
				if c.Message != "" && got.Message(req) != c.Message {
					t.Errorf("%s: message\n%q, want\n%q", c.Name, got.Message(req), c.Message)
				}
				if got.Allowed() != (got.Decision == Allow) || got.Allowed() != (got.Reason == "") {
					t.Errorf("%s: inconsistent result %+v", c.Name, got)
				}
			}
		})
	}
}

func TestAuthorizeEdges(t *testing.T) {
	if r := Authorize(nil, nil, nil); r.Decision != ImplicitDeny {
		t.Errorf("nil request: %+v", r)
	}
	req := &Request{PrincipalARN: alice, Action: "events:PutEvents", Resource: bus}
	if r := Authorize(req, nil, nil); r.Decision != ImplicitDeny || !strings.Contains(r.Reason, "no identity-based policy") {
		t.Errorf("no policies: %+v", r)
	}
	if m := (Result{Decision: Allow}).Message(req); m != "" {
		t.Errorf("message of an allowed request: %q", m)
	}
	// A nil policy among the identity policies is skipped.
	allow := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"events:PutEvents","Resource":"*"}}`, Identity)
	if r := Authorize(req, []*Policy{nil, allow}, nil); r.Decision != Allow {
		t.Errorf("nil identity policy: %+v", r)
	}
	// Any one identity policy may allow; a deny in any overrides.
	deny := mustParse(t, `{"Statement":{"Effect":"Deny","Action":"events:*","Resource":"*"}}`, Identity)
	if r := Authorize(req, []*Policy{allow, deny}, nil); r.Decision != ExplicitDeny {
		t.Errorf("deny in a second policy: %+v", r)
	}
}
