package iampolicy

import (
	"strconv"
	"strings"
)

// A Decision is the outcome of evaluating policies against a request.
type Decision int

const (
	// ImplicitDeny: no statement allows the request and none denies it.
	// It is the zero Decision, since AWS denies by default.
	ImplicitDeny Decision = iota
	// Allow: a statement allows the request and none denies it.
	Allow
	// ExplicitDeny: a Deny statement matches the request; it overrides
	// any Allow.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case ImplicitDeny:
		return "ImplicitDeny"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Evaluate decides the request against the policy alone: ExplicitDeny if
// any Deny statement matches it, else Allow if any Allow statement matches
// it, else ImplicitDeny ("Policy evaluation logic"). A statement matches
// when its principal (if it names one), action, resource and every
// condition match.
//
// Evaluate does not know whether p is the caller's identity policy or the
// resource's policy, nor whether the caller and resource are in the same
// account; Authorize combines the two kinds of policy as AWS does.
func (p *Policy) Evaluate(req *Request) Decision {
	d, _ := p.evaluate(req)
	return d
}

// principalMatch says how a resource policy's statement matched the caller.
type principalMatch uint8

const (
	noMatch principalMatch = iota
	// accountMatch: the statement names the caller's account, which
	// delegates the decision to the account's identity policies
	// ("AWS JSON policy elements: Principal", AWS account principals).
	accountMatch
	// directMatch: the statement names the caller itself, "*", or no
	// principal at all (an identity policy's statement).
	directMatch
)

// evaluate is Evaluate, also reporting for an Allow the most direct way an
// allowing statement matched the caller.
func (p *Policy) evaluate(req *Request) (Decision, principalMatch) {
	if p == nil || req == nil {
		return ImplicitDeny, noMatch
	}
	e := env{req: req, vars: p.Version == Version2012}
	allowed := noMatch
	for i := range p.Statements {
		s := &p.Statements[i]
		m := s.matches(&e)
		if m == noMatch {
			continue
		}
		if s.Effect == "Deny" {
			return ExplicitDeny, noMatch
		}
		if s.Effect == "Allow" && m > allowed {
			allowed = m
		}
	}
	if allowed == noMatch {
		return ImplicitDeny, noMatch
	}
	return Allow, allowed
}

// matches reports whether the statement applies to the request, and how it
// matched the caller.
func (s *Statement) matches(e *env) principalMatch {
	req := e.req
	switch {
	case s.Action != nil:
		if !anyAction(s.Action, req.Action) {
			return noMatch
		}
	case s.NotAction != nil:
		if anyAction(s.NotAction, req.Action) {
			return noMatch
		}
	default:
		return noMatch
	}
	switch {
	case s.Resource != nil:
		if !e.anyResource(s.Resource) {
			return noMatch
		}
	case s.NotResource != nil:
		if e.anyResource(s.NotResource) {
			return noMatch
		}
	}
	m := directMatch
	switch {
	case s.Principal != nil:
		m = s.Principal.match(req)
	case s.NotPrincipal != nil:
		if s.NotPrincipal.match(req) != noMatch {
			m = noMatch
		}
	}
	if m == noMatch {
		return noMatch
	}
	for i := range s.Condition {
		if !s.Condition[i].holds(e) {
			return noMatch
		}
	}
	return m
}

// anyAction reports whether the action matches any of the patterns. Service
// prefix and action name compare without regard to case.
func anyAction(patterns []string, action string) bool {
	for _, p := range patterns {
		if p == "*" || globMatch(escapeBackslash(p), action, true) {
			return true
		}
	}
	return false
}

// escapeBackslash makes a document's backslashes literal for globMatch.
func escapeBackslash(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	return strings.ReplaceAll(p, `\`, `\\`)
}

// anyResource reports whether the request's resource matches any of the
// patterns, after expanding policy variables.
func (e *env) anyResource(patterns []string) bool {
	for _, p := range patterns {
		if p == "*" {
			return true
		}
		if x, ok := e.expand(p, true); ok && arnMatch(x, e.req.Resource) {
			return true
		}
	}
	return false
}

// match reports how the principal element matches the caller.
func (p *Principal) match(req *Request) principalMatch {
	best := noMatch
	for _, v := range p.AWS {
		if m := matchAWS(v, req); m > best {
			best = m
		}
	}
	if best == directMatch {
		return best
	}
	if req.PrincipalService != "" {
		for _, v := range p.Service {
			if strings.EqualFold(v, req.PrincipalService) {
				return directMatch
			}
		}
	}
	return best
}

// matchAWS matches one AWS principal against the caller: "*" matches
// everyone; an account ID or account root ARN matches every principal of
// that account; a user or session ARN matches that principal; a role ARN
// matches the role and its sessions.
func matchAWS(v string, req *Request) principalMatch {
	if v == "*" {
		return directMatch
	}
	acct := req.account()
	if isAccountID(v) {
		if v == acct {
			return accountMatch
		}
		return noMatch
	}
	pa, ok := splitARN(v)
	if !ok {
		return noMatch
	}
	ca, hasARN := splitARN(req.PrincipalARN)
	if hasARN && ca.partition != pa.partition {
		return noMatch
	}
	if pa.service == "iam" && pa.resource == "root" {
		if pa.account == acct && acct != "" {
			return accountMatch
		}
		return noMatch
	}
	if !hasARN {
		return noMatch
	}
	if v == req.PrincipalARN {
		return directMatch
	}
	if pa.service == "iam" && strings.HasPrefix(pa.resource, "role/") &&
		ca.service == "sts" && ca.account == pa.account &&
		strings.HasPrefix(ca.resource, "assumed-role/") {
		role := pa.resource[strings.LastIndexByte(pa.resource, '/')+1:]
		assumed, _, _ := strings.Cut(ca.resource[len("assumed-role/"):], "/")
		if assumed == role {
			return directMatch
		}
	}
	return noMatch
}
