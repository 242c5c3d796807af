package iampolicy

// A Result is the outcome of Authorize.
type Result struct {
	Decision Decision
	// Reason is the clause AWS ends an AccessDeniedException message with,
	// such as "because no identity-based policy allows the
	// events:PutEvents action"; it is empty when the request is allowed.
	Reason string
}

// Allowed reports whether the request is allowed.
func (r Result) Allowed() bool { return r.Decision == Allow }

// Message returns the message of the AccessDeniedException AWS answers a
// denied request with, such as "User: arn:aws:iam::123456789012:user/alice
// is not authorized to perform: events:PutEvents on resource:
// arn:aws:events:us-east-1:123456789012:event-bus/default because no
// identity-based policy allows the events:PutEvents action". It is empty
// when the request is allowed.
func (r Result) Message(req *Request) string {
	if r.Decision == Allow {
		return ""
	}
	who := req.PrincipalARN
	if who == "" {
		who = req.PrincipalService
	}
	return "User: " + who + " is not authorized to perform: " + req.Action +
		" on resource: " + req.Resource + " " + r.Reason
}

// Authorize decides a request against the caller's identity policies and
// the resource's policy (nil when the resource has none), following "Policy
// evaluation logic" and "Cross-account policy evaluation logic" in the IAM
// User Guide:
//
//  1. An explicit Deny in any of the policies denies the request.
//  2. The account's root user is allowed anything in its own account; for
//     its identity side no identity policy is needed.
//  3. Within one account (the caller's account is the one in the
//     resource's ARN, or the ARN names no account), the request is allowed
//     if an identity policy or the resource policy allows it: "If either
//     the identity-based policy or the resource-based policy within the
//     same account allows the request and the other doesn't, the request is
//     still allowed." A resource policy that allows the caller only by
//     naming its account delegates to the account's identity policies
//     ("AWS JSON policy elements: Principal") and so does not by itself
//     allow a user or role.
//  4. Across accounts, both an identity policy of the caller and the
//     resource policy must allow the request.
//  5. A service principal (PrincipalService set, PrincipalARN empty) has
//     no identity policies; the resource policy must allow it.
//
// Service control policies, permissions boundaries and session policies
// are not modelled.
func Authorize(req *Request, identity []*Policy, resource *Policy) Result {
	if req == nil {
		return Result{Decision: ImplicitDeny}
	}
	identAllowed := false
	for _, p := range identity {
		switch d, _ := p.evaluate(req); d {
		case ExplicitDeny:
			return Result{ExplicitDeny, "with an explicit deny in an identity-based policy"}
		case Allow:
			identAllowed = true
		}
	}
	resAllowed, resDirect := false, false
	if resource != nil {
		switch d, m := resource.evaluate(req); d {
		case ExplicitDeny:
			return Result{ExplicitDeny, "with an explicit deny in a resource-based policy"}
		case Allow:
			resAllowed, resDirect = true, m == directMatch
		}
	}
	noIdentity := Result{ImplicitDeny, "because no identity-based policy allows the " + req.Action + " action"}
	noResource := Result{ImplicitDeny, "because no resource-based policy allows the " + req.Action + " action"}

	if req.PrincipalARN == "" && req.PrincipalService != "" {
		if resAllowed {
			return Result{Decision: Allow}
		}
		return noResource
	}
	root := req.isRoot()
	if root {
		identAllowed = true
	}
	owner := req.resourceAccount()
	if owner == "" || owner == req.account() {
		if identAllowed || resDirect {
			return Result{Decision: Allow}
		}
		return noIdentity
	}
	switch {
	case !identAllowed:
		return noIdentity
	case !resAllowed:
		return noResource
	}
	return Result{Decision: Allow}
}
