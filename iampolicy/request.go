package iampolicy

import (
	"strconv"
	"strings"
	"time"
)

// A Request is the request context a policy is evaluated against.
type Request struct {
	// PrincipalARN is the caller's ARN: arn:aws:iam::123456789012:root
	// for an account's root, arn:aws:iam::123456789012:user/name for a
	// user, arn:aws:sts::123456789012:assumed-role/role/session for a
	// role session. It is empty for a service principal.
	PrincipalARN string
	// PrincipalAccount is the caller's account ID; when empty it is taken
	// from PrincipalARN.
	PrincipalAccount string
	// PrincipalService names the calling service principal, such as
	// "events.amazonaws.com", when an AWS service rather than an
	// identity makes the request.
	PrincipalService string

	// Action is the API action, such as "events:PutEvents".
	Action string
	// Resource is the ARN of the resource acted on, such as
	// arn:aws:events:us-east-1:123456789012:event-bus/default, or "*"
	// for an action on no particular resource.
	Resource string

	// Time is the time of the request, for aws:CurrentTime and
	// aws:EpochTime; the zero Time leaves those keys absent.
	Time time.Time

	// Context holds the request's condition keys and their values. Keys
	// compare without regard to case, as IAM's do; a key with no values
	// is absent. EventBridge documents events:source,
	// events:detail-type, events:detail.<path>, events:eventBusInvocation,
	// events:creatorAccount, events:ManagedBy, events:TargetArn,
	// aws:SourceAccount, aws:SourceArn and aws:PrincipalOrgID, among
	// others ("Using IAM policy conditions in Amazon EventBridge").
	//
	// A few global keys are derived from the fields above when Context
	// does not hold them: aws:PrincipalArn (for a role session, the
	// role's ARN without its path), aws:PrincipalAccount, aws:username
	// (for a user), aws:PrincipalServiceName, aws:ResourceAccount,
	// aws:CurrentTime and aws:EpochTime.
	Context map[string][]string
}

// account returns the caller's account ID.
func (r *Request) account() string {
	if r.PrincipalAccount != "" {
		return r.PrincipalAccount
	}
	if a, ok := splitARN(r.PrincipalARN); ok {
		return a.account
	}
	return ""
}

// resourceAccount returns the account that owns the resource, or "" when
// the resource's ARN names none.
func (r *Request) resourceAccount() string {
	if a, ok := splitARN(r.Resource); ok {
		return a.account
	}
	return ""
}

// isRoot reports whether the caller is an account's root user.
func (r *Request) isRoot() bool {
	a, ok := splitARN(r.PrincipalARN)
	return ok && a.service == "iam" && a.resource == "root"
}

// env is the state of one evaluation: the request and scratch space that
// keeps key lookups from allocating.
type env struct {
	req  *Request
	vars bool      // the policy being evaluated recognizes policy variables
	one  [1]string // backing array for a derived key's single value
	buf  []byte    // scratch for expanding policy variables
}

// lookup returns the values of the condition key, or nil when the request
// has none. The result may alias e's scratch space and is valid until the
// next lookup.
func (e *env) lookup(key string) []string {
	if v, ok := e.context(key); ok {
		return v
	}
	if v, ok := e.derived(key); ok {
		e.one[0] = v
		return e.one[:]
	}
	return nil
}

// context returns the key's values from the request's Context.
func (e *env) context(key string) ([]string, bool) {
	if v, ok := e.req.Context[key]; ok {
		return v, len(v) > 0
	}
	for k, v := range e.req.Context {
		if strings.EqualFold(k, key) {
			return v, len(v) > 0
		}
	}
	return nil, false
}

// single returns the one value of the key, for a policy variable. A key
// with several values cannot be used as a variable ("IAM policy elements:
// Variables and tags"). Unlike lookup it leaves the scratch space alone,
// since a variable is expanded while a key's values are in use.
func (e *env) single(key string) (string, bool) {
	if v, ok := e.context(key); ok {
		if len(v) != 1 {
			return "", false
		}
		return v[0], true
	}
	return e.derived(key)
}

// derived returns the value of a global key derived from the request's
// fields.
func (e *env) derived(key string) (string, bool) {
	r := e.req
	if len(key) < 4 || !strings.EqualFold(key[:4], "aws:") {
		return "", false
	}
	switch name := key[4:]; {
	case strings.EqualFold(name, "PrincipalArn"):
		a, ok := splitARN(r.PrincipalARN)
		if !ok {
			return "", false
		}
		if a.service == "sts" && strings.HasPrefix(a.resource, "assumed-role/") {
			role, _, _ := strings.Cut(a.resource[len("assumed-role/"):], "/")
			return "arn:" + a.partition + ":iam::" + a.account + ":role/" + role, true
		}
		return r.PrincipalARN, true
	case strings.EqualFold(name, "PrincipalAccount"):
		acct := r.account()
		return acct, acct != ""
	case strings.EqualFold(name, "username"):
		a, ok := splitARN(r.PrincipalARN)
		if !ok || a.service != "iam" || !strings.HasPrefix(a.resource, "user/") {
			return "", false
		}
		return a.resource[strings.LastIndexByte(a.resource, '/')+1:], true
	case strings.EqualFold(name, "PrincipalServiceName"):
		return r.PrincipalService, r.PrincipalService != ""
	case strings.EqualFold(name, "ResourceAccount"):
		acct := r.resourceAccount()
		return acct, acct != ""
	case strings.EqualFold(name, "CurrentTime"):
		if r.Time.IsZero() {
			return "", false
		}
		return r.Time.UTC().Format(time.RFC3339), true
	case strings.EqualFold(name, "EpochTime"):
		if r.Time.IsZero() {
			return "", false
		}
		return strconv.FormatInt(r.Time.Unix(), 10), true
	}
	return "", false
}

// expand expands the policy variables in a policy value. For a glob
// pattern (StringLike, ArnLike, Resource) the result is an escaped pattern
// in which ${*}, ${?}, ${$} and the variables' values are literal;
// otherwise it is the plain string. It reports false when a variable has no
// value and no default: such a value matches nothing.
func (e *env) expand(s string, glob bool) (string, bool) {
	vars := e.vars && strings.Contains(s, "${")
	if !vars && (!glob || !strings.Contains(s, `\`)) {
		return s, true
	}
	b := e.buf[:0]
	for {
		i := strings.Index(s, "${")
		j := -1
		if vars && i >= 0 {
			j = strings.IndexByte(s[i+2:], '}')
		}
		if j < 0 {
			b = appendText(b, s, glob)
			break
		}
		b = appendText(b, s[:i], glob)
		v, ok := e.variable(s[i+2 : i+2+j])
		if !ok {
			e.buf = b
			return "", false
		}
		if glob {
			b = appendEscaped(b, v)
		} else {
			b = append(b, v...)
		}
		s = s[i+2+j+1:]
	}
	e.buf = b
	return string(b), true
}

// appendText appends literal policy text; in a glob pattern its wildcards
// stay wildcards but a backslash becomes literal.
func appendText(b []byte, s string, glob bool) []byte {
	if !glob {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return b
}

// variable resolves the inside of ${...}: a key, a key with a default
// value (${aws:username, 'nobody'}), or one of the special characters
// ${*}, ${?} and ${$}.
func (e *env) variable(inner string) (string, bool) {
	inner = strings.TrimSpace(inner)
	switch inner {
	case "*", "?", "$":
		return inner, true
	}
	key, def, hasDef := strings.Cut(inner, ",")
	key = strings.TrimSpace(key)
	if v, ok := e.single(key); ok {
		return v, true
	}
	if !hasDef {
		return "", false
	}
	def = strings.TrimSpace(def)
	if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
		return "", false
	}
	return def[1 : len(def)-1], true
}
