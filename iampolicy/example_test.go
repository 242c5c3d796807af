package iampolicy_test

import (
	"fmt"

	"github.com/switchyard/switchyard/iampolicy"
)

func ExampleParse() {
	_, err := iampolicy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "AllowAccountToPutEvents",
			"Effect": "Allow",
			"Principal": {"AWS": "111122223333"},
			"Action": "events:PutEvents",
			"Resource": "arn:aws:events:us-east-1:123456789012:event-bus/default",
			"Condition": {"StringLike": {"events:source": "com.example.*"}, "StringEqualz": {}}
		}]
	}`), iampolicy.Resource)
	fmt.Println(err)
	// Output: Statement[0].Condition.StringEqualz: unknown condition operator "StringEqualz"
}

func ExampleAuthorize() {
	bus, _ := iampolicy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": {
			"Effect": "Allow",
			"Principal": {"AWS": "arn:aws:iam::111122223333:root"},
			"Action": "events:PutEvents",
			"Resource": "arn:aws:events:us-east-1:123456789012:event-bus/central"
		}
	}`), iampolicy.Resource)
	bobs, _ := iampolicy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": {"Effect": "Allow", "Action": "events:Put*", "Resource": "*"}
	}`), iampolicy.Identity)

	req := &iampolicy.Request{
		PrincipalARN: "arn:aws:iam::111122223333:user/bob",
		Action:       "events:PutEvents",
		Resource:     "arn:aws:events:us-east-1:123456789012:event-bus/central",
	}
	// Across accounts both the caller's policy and the bus policy must
	// allow the request.
	fmt.Println(iampolicy.Authorize(req, []*iampolicy.Policy{bobs}, bus).Decision)
	r := iampolicy.Authorize(req, nil, bus)
	fmt.Println(r.Decision)
	fmt.Println(r.Message(req))
	// Output:
	// Allow
	// ImplicitDeny
	// User: arn:aws:iam::111122223333:user/bob is not authorized to perform: events:PutEvents on resource: arn:aws:events:us-east-1:123456789012:event-bus/central because no identity-based policy allows the events:PutEvents action
}

func ExamplePolicy_Evaluate() {
	p, _ := iampolicy.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [
			{"Effect": "Allow", "Action": "events:*", "Resource": "arn:aws:events:*:*:event-bus/${aws:username}"},
			{"Effect": "Deny", "Action": "events:PutEvents", "Resource": "*",
			 "Condition": {"StringLike": {"events:source": "aws.*"}}}
		]
	}`), iampolicy.Identity)
	req := &iampolicy.Request{
		PrincipalARN: "arn:aws:iam::123456789012:user/alice",
		Action:       "events:PutEvents",
		Resource:     "arn:aws:events:us-east-1:123456789012:event-bus/alice",
		Context:      map[string][]string{"events:source": {"com.example"}},
	}
	fmt.Println(p.Evaluate(req))
	req.Context["events:source"] = []string{"aws.ec2"}
	fmt.Println(p.Evaluate(req))
	req.Resource = "arn:aws:events:us-east-1:123456789012:event-bus/bob"
	req.Context = nil
	fmt.Println(p.Evaluate(req))
	// Output:
	// Allow
	// ExplicitDeny
	// ImplicitDeny
}
