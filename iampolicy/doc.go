// Package iampolicy parses and evaluates AWS IAM policy documents: the
// identity policies attached to a principal and the resource policies
// attached to a resource, such as an Amazon EventBridge event bus.
//
// Switchyard uses it twice. PutPermission, CreateEventBus and
// UpdateEventBus validate a bus's Policy with Parse(policy, Resource), so
// that a document AWS would refuse is refused with a message naming the
// offending element. Every authorized API call and every delivery to
// another account's bus is then decided with [Authorize], which combines the
// caller's identity policies with the bus's resource policy the way AWS
// does.
//
// The package implements the policy language as the IAM User Guide describes
// it ("IAM JSON policy element reference", "IAM JSON policy elements:
// Condition operators", "IAM policy elements: Variables and tags") and the
// evaluation logic of "Policy evaluation logic" and "Cross-account policy
// evaluation logic". Service control policies, permissions boundaries and
// session policies are out of scope. The test cases cite the page each
// behaviour comes from.
//
// Policy variables are expanded in Resource, NotResource and condition
// values of Version 2012-10-17 documents: ${key} takes the request's single
// value of a condition key (see [Request] for the keys derived from the
// request), ${key, 'default'} falls back to a default, and ${*}, ${?} and
// ${$} stand for those characters. What a variable inserts is matched
// literally, never as a wildcard. A value whose variable has no value and no
// default matches nothing, so that a negated operator over it holds.
//
// Evaluation never panics and never fails: a request that a policy cannot
// make sense of (a malformed ARN, a number that is not a number) simply does
// not match the element that needed it. Parse bounds the nesting of the
// document it reads and takes time linear in its length; matching a
// wildcard pattern takes at most time proportional to the product of the
// pattern's and the value's lengths. The size of a document is the caller's
// concern (EventBridge limits a bus policy to 10 KB).
package iampolicy
