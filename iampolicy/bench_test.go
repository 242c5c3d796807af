package iampolicy

import "testing"

// busPolicy is a typical event bus policy: four accounts and an
// organization allowed to put events, rule management for one account
// restricted by source, and a deny of one source.
const busPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AllowAccount1", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "events:PutEvents", "Resource": "arn:aws:events:us-east-1:123456789012:event-bus/central"},
    {"Sid": "AllowAccount2", "Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "events:PutEvents", "Resource": "arn:aws:events:us-east-1:123456789012:event-bus/central"},
    {"Sid": "AllowOrganization", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": "arn:aws:events:us-east-1:123456789012:event-bus/central",
     "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1234567890"}}},
    {"Sid": "ManageRules", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": ["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"],
     "Resource": "arn:aws:events:us-east-1:123456789012:rule/central/*",
     "Condition": {"StringEqualsIfExists": {"events:creatorAccount": "${aws:PrincipalAccount}", "events:source": "com.example.orders"}}},
    {"Sid": "NoTestEvents", "Effect": "Deny", "Principal": "*", "Action": "events:PutEvents", "Resource": "*",
     "Condition": {"StringLike": {"events:source": "test.*"}}}
  ]
}`

func BenchmarkEvaluate(b *testing.B) {
	p := mustParse(b, busPolicy, Resource)
	req := &Request{
		PrincipalARN: "arn:aws:sts::444444444444:assumed-role/Forwarder/session",
		Action:       "events:PutEvents",
		Resource:     "arn:aws:events:us-east-1:123456789012:event-bus/central",
		Context: map[string][]string{
			"aws:PrincipalOrgID": {"o-1234567890"},
			"events:source":      {"com.example.orders"},
			"events:detail-type": {"Order Created"},
		},
	}
	if d := p.Evaluate(req); d != Allow {
		b.Fatalf("Evaluate = %v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Evaluate(req)
	}
}

func BenchmarkParse(b *testing.B) {
	data := []byte(busPolicy)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, Resource); err != nil {
			b.Fatal(err)
		}
	}
}
