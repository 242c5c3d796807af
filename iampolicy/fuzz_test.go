package iampolicy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedPolicies are documents for the fuzz targets to start from, besides
// the golden files' policies and the corpus under testdata/fuzz.
var seedPolicies = []string{
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"events:PutEvents","Resource":"*"}}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Deny","NotAction":["events:Put*","events:?escribe*"],"NotResource":"arn:aws:events:*:*:event-bus/${aws:username, 'x'}"}]}`,
	`{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::1:root"],"Service":"events.amazonaws.com"},"Action":"*","Resource":"arn:aws:events:us-east-1:123456789012:event-bus/default",
		"Condition":{"ForAnyValue:StringLikeIfExists":{"events:source":["com.*","${*}${?}${$}"]},"NumericLessThan":{"x:n":1.5},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"},
		"Bool":{"aws:SecureTransport":true},"Null":{"aws:TokenIssueTime":"true"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"ArnNotLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/*"}}}}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"*"}}`,
	`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
}

func goldenPolicies(f *testing.F) [][]byte {
	files, _ := filepath.Glob("testdata/authorize/*.json")
	var out [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var af authorizeFile
		if err := json.Unmarshal(data, &af); err != nil {
			f.Fatal(err)
		}
		for _, docs := range af.Identity {
			for _, doc := range docs {
				out = append(out, doc)
			}
		}
		for _, doc := range af.Resource {
			out = append(out, doc)
		}
	}
	return out
}

// FuzzParse checks that Parse neither panics nor accepts a document its
// own invariants forbid, and that whatever it accepts evaluates.
func FuzzParse(f *testing.F) {
	for _, s := range seedPolicies {
		f.Add([]byte(s))
	}
	for _, doc := range goldenPolicies(f) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []Kind{Identity, Resource} {
			p, err := Parse(data, kind)
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Reason == "" {
					t.Fatalf("Parse error %v is not a *Error with a reason", err)
				}
				continue
			}
			checkInvariants(t, p, kind)
			req := &Request{PrincipalARN: "arn:aws:iam::123456789012:user/alice", Action: "events:PutEvents", Resource: bus,
				Context: map[string][]string{"events:source": {"com.example"}, "aws:SourceIp": {"10.1.2.3"}, "x:n": {"1"}}}
			d := p.Evaluate(req)
			if d != ImplicitDeny && d != Allow && d != ExplicitDeny {
				t.Fatalf("Evaluate = %v", d)
			}
		}
	})
}

func checkInvariants(t *testing.T, p *Policy, kind Kind) {
	t.Helper()
	if p.Version != "" && p.Version != Version2012 && p.Version != Version2008 {
		t.Fatalf("accepted version %q", p.Version)
	}
	if len(p.Statements) == 0 {
		t.Fatal("accepted a policy without statements")
	}
	sids := map[string]bool{}
	for _, s := range p.Statements {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			t.Fatalf("accepted Effect %q", s.Effect)
		}
		if (s.Action == nil) == (s.NotAction == nil) {
			t.Fatalf("accepted Action %q with NotAction %q", s.Action, s.NotAction)
		}
		if s.Resource != nil && s.NotResource != nil {
			t.Fatal("accepted Resource with NotResource")
		}
		hasPrincipal := s.Principal != nil || s.NotPrincipal != nil
		if kind == Identity && (hasPrincipal || s.Resource == nil && s.NotResource == nil) {
			t.Fatalf("accepted identity statement %+v", s)
		}
		if kind == Resource && (!hasPrincipal || s.Principal != nil && s.NotPrincipal != nil) {
			t.Fatalf("accepted resource statement %+v", s)
		}
		if s.Sid != "" && sids[s.Sid] {
			t.Fatalf("accepted duplicate Sid %q", s.Sid)
		}
		sids[s.Sid] = true
		for _, c := range s.Condition {
			if _, ok := operators[c.Operator]; !ok || len(c.Values) == 0 || c.Key == "" {
				t.Fatalf("accepted condition %+v", c)
			}
		}
	}
}

// FuzzEvaluate evaluates random requests against random policies: it must
// not panic, must be deterministic, and Authorize must agree with Evaluate
// on explicit denies.
func FuzzEvaluate(f *testing.F) {
	docs := append([][]byte(nil), goldenPolicies(f)...)
	for _, s := range seedPolicies {
		docs = append(docs, []byte(s))
	}
	requests := [][6]string{
		{"arn:aws:iam::123456789012:user/alice", "events:PutEvents", bus, "events:source", "com.example", ""},
		{"arn:aws:sts::111122223333:assumed-role/EventForwarder/s", "events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/central", "aws:PrincipalOrgID", "o-1234567890", ""},
		{"", "events:PutEvents", bus, "aws:SourceArn", "arn:aws:events:us-east-1:123456789012:rule/forward", "events.amazonaws.com"},
		{"arn:aws:iam::123456789012:root", "events:DeleteRule", "arn:aws:events:us-east-1:999999999999:rule/central-event-bus/invoices", "events:creatorAccount", "${aws:PrincipalAccount}", ""},
		{"arn:aws:iam::1:user/x", "EVENTS:PUTEVENTS", "arn:::::", "aws:TagKeys", "*", ""},
	}
	for i, doc := range docs {
		r := requests[i%len(requests)]
		f.Add(doc, r[0], r[1], r[2], r[3], r[4], r[5])
	}
	f.Fuzz(func(t *testing.T, doc []byte, principal, action, resource, key, value, service string) {
		req := &Request{PrincipalARN: principal, PrincipalService: service, Action: action, Resource: resource,
			Context: map[string][]string{key: {value}, "aws:TagKeys": {value, key}}}
		for _, kind := range []Kind{Identity, Resource} {
			p, err := Parse(doc, kind)
			if err != nil {
				continue
			}
			d := p.Evaluate(req)
			if again := p.Evaluate(req); again != d {
				t.Fatalf("Evaluate is not deterministic: %v then %v", d, again)
			}
			var r Result
			if kind == Identity {
				r = Authorize(req, []*Policy{p}, nil)
			} else {
				r = Authorize(req, nil, p)
			}
			if (d == ExplicitDeny) != (r.Decision == ExplicitDeny) {
				t.Fatalf("Evaluate = %v but Authorize = %+v", d, r)
			}
			if d == ImplicitDeny && r.Decision == Allow && !req.isRoot() {
				t.Fatalf("Authorize allows what the only policy does not: %+v", r)
			}
			_ = r.Message(req)
		}
	})
}
