package iampolicy

import "strconv"

// Versions of the policy language. A document without a Version element is
// read as Version2008, as IAM does; policy variables are only recognized in
// Version2012 documents.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Kind says which sort of policy a document is, which decides what Parse
// requires of its statements.
type Kind int

const (
	// Identity is a policy attached to a principal (a user, a role, or in
	// Switchyard an access key's account). Its statements must not name a
	// Principal: the principal is the one the policy is attached to.
	Identity Kind = iota + 1
	// Resource is a policy attached to a resource, such as an event bus.
	// Each statement must name a Principal or NotPrincipal.
	Resource
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Resource:
		return "resource"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// A Policy is a parsed policy document. Parse produces it; its fields
// describe the document as written, in the document's order, and Evaluate
// reads them as they are.
type Policy struct {
	Version    string // Version2012, Version2008, or "" when absent
	ID         string // the Id element, "" when absent
	Statements []Statement
}

// A Statement is one element of a policy's Statement list.
//
// Of each pair Action/NotAction, Resource/NotResource and
// Principal/NotPrincipal at most one is set (non-nil). A statement with
// neither Action nor NotAction matches no request; one with neither Resource
// nor NotResource (allowed in a resource policy) matches any resource; one
// with neither Principal nor NotPrincipal (an identity policy's statement)
// matches any principal.
type Statement struct {
	Sid    string
	Effect string // "Allow" or "Deny"

	Principal    *Principal
	NotPrincipal *Principal

	// Action and NotAction hold patterns of the form "service:action" or
	// "*". Service and action compare without regard to case; "*" and "?"
	// are wildcards.
	Action    []string
	NotAction []string

	// Resource and NotResource hold ARN patterns or "*". Each of an ARN's
	// six colon-separated parts is matched separately, with "*" and "?"
	// as wildcards, case-sensitively; policy variables are expanded.
	Resource    []string
	NotResource []string

	// Condition holds the condition element flattened: one entry for each
	// key under each operator, all of which must hold.
	Condition []Condition
}

// A Principal is the value of a Principal or NotPrincipal element. The
// document's "Principal": "*" is read as AWS: ["*"], which IAM documents as
// equivalent.
type Principal struct {
	// AWS holds "*", 12-digit account IDs, and ARNs of accounts
	// (arn:aws:iam::123456789012:root), users, roles and sessions.
	AWS []string
	// Service holds service principals such as "events.amazonaws.com".
	Service []string
	// Federated and CanonicalUser are parsed for completeness; no
	// Switchyard principal matches them.
	Federated     []string
	CanonicalUser []string
}

// Set qualifiers of a condition operator.
const (
	ForAnyValue  = "ForAnyValue"
	ForAllValues = "ForAllValues"
)

// A Condition is one condition key under one operator, such as
// {"StringLike": {"events:source": ["com.example.*"]}}.
type Condition struct {
	// Qualifier is "", ForAnyValue or ForAllValues.
	Qualifier string
	// Operator is the operator's name without qualifier and without the
	// IfExists suffix, such as "StringLike" or "Null".
	Operator string
	// IfExists is true for the ...IfExists form of Operator.
	IfExists bool
	// Key is the condition key as written; keys compare without regard
	// to case.
	Key string
	// Values are the policy's values in document order; numbers and
	// booleans are kept as their JSON text.
	Values []string
}
