package iampolicy

import (
	"testing"
	"time"
)

// ctx is a request context in a test table.
type ctx map[string][]string

// conditionHolds wraps a Condition element in an Allow statement and
// reports whether it allows a request with the given context.
func conditionHolds(t *testing.T, version, condition string, req Request) bool {
	t.Helper()
	doc := `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + condition + `}}`
	if version != "" {
		doc = `{"Version":"` + version + `",` + doc[1:]
	}
	p, err := Parse([]byte(doc), Identity)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	if req.Action == "" {
		req.Action = "events:PutEvents"
	}
	return p.Evaluate(&req) == Allow
}

func TestConditions(t *testing.T) {
	const (
		// Page titles the cases come from.
		operatorsPage = "IAM JSON policy elements: Condition operators"
		multiPage     = "Conditions with multiple context keys or values"
		setPage       = "Single-valued vs. multivalued context keys"
		ebPage        = "Using IAM policy conditions in Amazon EventBridge"
		varsPage      = "IAM policy elements: Variables and tags"
	)
	tests := []struct {
		source    string // the page the fact comes from
		name      string
		condition string
		ctx       ctx
		want      bool
	}{
		// String operators: StringEquals is "exact matching, case
		// sensitive".
		{operatorsPage, "StringEquals match", `{"StringEquals":{"events:source":"com.example"}}`, ctx{"events:source": {"com.example"}}, true},
		{operatorsPage, "StringEquals is case-sensitive", `{"StringEquals":{"events:source":"com.example"}}`, ctx{"events:source": {"COM.EXAMPLE"}}, false},
		{operatorsPage, "StringEquals takes no wildcards", `{"StringEquals":{"events:source":"com.*"}}`, ctx{"events:source": {"com.example"}}, false},
		// "Condition keys aren't case sensitive."
		{ebPage, "key names ignore case", `{"StringEquals":{"events:Source":"com.example"}}`, ctx{"EVENTS:SOURCE": {"com.example"}}, true},
		// Important: "If the key that you specify in a policy condition is
		// not present in the request context, the values do not match and
		// the condition is false."
		{operatorsPage, "absent key is false", `{"StringEquals":{"events:source":"com.example"}}`, ctx{}, false},
		// "If the policy condition requires that the key is not matched,
		// such as StringNotLike or ArnNotLike, and the right key is not
		// present, the condition is true."
		{operatorsPage, "absent key for StringNotLike is true", `{"StringNotLike":{"events:source":"com.*"}}`, ctx{}, true},
		{operatorsPage, "absent key for ArnNotLike is true", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/*"}}`, nil, true},
		{operatorsPage, "absent key for StringNotEquals is true", `{"StringNotEquals":{"events:source":"a"}}`, nil, true},
		{operatorsPage, "StringNotEquals", `{"StringNotEquals":{"events:source":"a"}}`, ctx{"events:source": {"b"}}, true},
		{operatorsPage, "StringNotEquals equal", `{"StringNotEquals":{"events:source":"a"}}`, ctx{"events:source": {"a"}}, false},
		{operatorsPage, "StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"events:detail-type":"ec2 instance state-change notification"}}`, ctx{"events:detail-type": {"EC2 Instance State-change Notification"}}, true},
		{operatorsPage, "StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"events:source":"COM.EXAMPLE"}}`, ctx{"events:source": {"com.example"}}, false},
		{operatorsPage, "StringNotEqualsIgnoreCase differs", `{"StringNotEqualsIgnoreCase":{"events:source":"COM.EXAMPLE"}}`, ctx{"events:source": {"com.other"}}, true},
		// StringLike: "Case-sensitive matching. The values can include
		// multi-character match wildcards (*) and single-character match
		// wildcards (?) anywhere in the string."
		{operatorsPage, "StringLike star", `{"StringLike":{"events:source":"com.example.*"}}`, ctx{"events:source": {"com.example.orders"}}, true},
		{operatorsPage, "StringLike star matches empty", `{"StringLike":{"events:source":"com.example*"}}`, ctx{"events:source": {"com.example"}}, true},
		{operatorsPage, "StringLike question mark", `{"StringLike":{"events:source":"app?"}}`, ctx{"events:source": {"app1"}}, true},
		{operatorsPage, "StringLike question mark is one character", `{"StringLike":{"events:source":"app?"}}`, ctx{"events:source": {"app12"}}, false},
		{operatorsPage, "StringLike question mark is one rune", `{"StringLike":{"events:source":"caf?"}}`, ctx{"events:source": {"café"}}, true},
		{operatorsPage, "StringLike is case-sensitive", `{"StringLike":{"events:source":"com.*"}}`, ctx{"events:source": {"COM.x"}}, false},
		{operatorsPage, "StringLike whole string", `{"StringLike":{"events:source":"example"}}`, ctx{"events:source": {"com.example"}}, false},
		{operatorsPage, "StringLike star in the middle", `{"StringLike":{"events:detail-type":"Order * Created"}}`, ctx{"events:detail-type": {"Order Line Item Created"}}, true},
		{operatorsPage, "StringNotLike", `{"StringNotLike":{"events:source":"aws.*"}}`, ctx{"events:source": {"com.example"}}, true},
		{operatorsPage, "StringNotLike matching", `{"StringNotLike":{"events:source":"aws.*"}}`, ctx{"events:source": {"aws.ec2"}}, false},
		// "If a single condition operator includes multiple values for a
		// context key, those values are evaluated using a logical OR."
		{multiPage, "values are ORed", `{"StringEquals":{"events:source":["a","b"]}}`, ctx{"events:source": {"b"}}, true},
		{multiPage, "values are ORed, none", `{"StringEquals":{"events:source":["a","b"]}}`, ctx{"events:source": {"c"}}, false},
		// "If a single negated matching condition operator includes
		// multiple values for a context key, those values are evaluated
		// using a logical NOR."
		{multiPage, "negated values are NORed, one matches", `{"StringNotEquals":{"events:source":["a","b"]}}`, ctx{"events:source": {"a"}}, false},
		{multiPage, "negated values are NORed, none matches", `{"StringNotEquals":{"events:source":["a","b"]}}`, ctx{"events:source": {"c"}}, true},
		// "If your policy statement has multiple context keys attached to a
		// single condition operator, the context keys are evaluated using a
		// logical AND."
		{multiPage, "keys are ANDed", `{"StringEquals":{"events:source":"a","events:detail-type":"t"}}`, ctx{"events:source": {"a"}, "events:detail-type": {"t"}}, true},
		{multiPage, "keys are ANDed, one fails", `{"StringEquals":{"events:source":"a","events:detail-type":"t"}}`, ctx{"events:source": {"a"}, "events:detail-type": {"u"}}, false},
		// "If your policy statement has multiple condition operators, the
		// condition operators are evaluated using a logical AND."
		{multiPage, "operators are ANDed", `{"StringEquals":{"events:source":"a"},"StringLike":{"events:detail-type":"x*"}}`, ctx{"events:source": {"a"}, "events:detail-type": {"y"}}, false},
		{multiPage, "operators are ANDed, both hold", `{"StringEquals":{"events:source":"a"},"StringLike":{"events:detail-type":"x*"}}`, ctx{"events:source": {"a"}, "events:detail-type": {"xy"}}, true},

		// Numeric condition operators.
		{operatorsPage, "NumericEquals", `{"NumericEquals":{"x:n":10}}`, ctx{"x:n": {"10.0"}}, true},
		{operatorsPage, "NumericNotEquals", `{"NumericNotEquals":{"x:n":"10"}}`, ctx{"x:n": {"11"}}, true},
		{operatorsPage, "NumericLessThan", `{"NumericLessThan":{"x:n":"10"}}`, ctx{"x:n": {"9.5"}}, true},
		{operatorsPage, "NumericLessThan equal", `{"NumericLessThan":{"x:n":"10"}}`, ctx{"x:n": {"10"}}, false},
		{operatorsPage, "NumericLessThanEquals", `{"NumericLessThanEquals":{"x:n":"10"}}`, ctx{"x:n": {"10"}}, true},
		{operatorsPage, "NumericGreaterThan", `{"NumericGreaterThan":{"x:n":"-1"}}`, ctx{"x:n": {"0"}}, true},
		{operatorsPage, "NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"x:n":"1e1"}}`, ctx{"x:n": {"9"}}, false},
		{operatorsPage, "Numeric request value not a number", `{"NumericLessThan":{"x:n":"10"}}`, ctx{"x:n": {"five"}}, false},
		{operatorsPage, "NumericNotEquals request value not a number", `{"NumericNotEquals":{"x:n":"10"}}`, ctx{"x:n": {"five"}}, false},

		// Date condition operators take ISO 8601 or epoch time.
		{operatorsPage, "DateGreaterThan", `{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, ctx{"aws:CurrentTime": {"2024-05-06T07:08:09Z"}}, true},
		{operatorsPage, "DateLessThan", `{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`, ctx{"aws:CurrentTime": {"2024-05-06T07:08:09Z"}}, false},
		{operatorsPage, "DateLessThan date only", `{"DateLessThan":{"aws:CurrentTime":"2025-01-01"}}`, ctx{"aws:CurrentTime": {"2024-12-31T23:59:59Z"}}, true},
		{operatorsPage, "DateEquals across zones", `{"DateEquals":{"aws:CurrentTime":"2024-01-01T01:00:00+01:00"}}`, ctx{"aws:CurrentTime": {"2024-01-01T00:00:00Z"}}, true},
		{operatorsPage, "DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2024-01-01"}}`, ctx{"aws:CurrentTime": {"2024-01-02"}}, true},
		{operatorsPage, "DateLessThanEquals epoch", `{"DateLessThanEquals":{"aws:EpochTime":"1704067200"}}`, ctx{"aws:EpochTime": {"1704067200"}}, true},
		{operatorsPage, "DateGreaterThanEquals epoch against ISO", `{"DateGreaterThanEquals":{"aws:CurrentTime":"1704067200"}}`, ctx{"aws:CurrentTime": {"2024-01-01T00:00:01Z"}}, true},
		{operatorsPage, "Date request value not a date", `{"DateLessThan":{"aws:CurrentTime":"2024-01-01"}}`, ctx{"aws:CurrentTime": {"soon"}}, false},

		// Boolean condition operators.
		{operatorsPage, "Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx{"aws:SecureTransport": {"true"}}, true},
		{operatorsPage, "Bool JSON boolean", `{"Bool":{"aws:SecureTransport":true}}`, ctx{"aws:SecureTransport": {"TRUE"}}, true},
		{operatorsPage, "Bool false", `{"Bool":{"aws:SecureTransport":"false"}}`, ctx{"aws:SecureTransport": {"true"}}, false},
		{operatorsPage, "Bool absent", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{operatorsPage, "BoolIfExists absent", `{"BoolIfExists":{"aws:SecureTransport":"false"}}`, nil, true},
		{operatorsPage, "Bool request value not a boolean", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx{"aws:SecureTransport": {"yes"}}, false},
		{operatorsPage, "BinaryEquals", `{"BinaryEquals":{"x:b":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`, ctx{"x:b": {"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, true},

		// IP address condition operators.
		{operatorsPage, "IpAddress", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"203.0.113.7"}}, true},
		{operatorsPage, "IpAddress outside", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx{"aws:SourceIp": {"198.51.100.7"}}, false},
		{operatorsPage, "IpAddress IPv6", `{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}`, ctx{"aws:SourceIp": {"2001:db8:1234:5678::1"}}, true},
		{operatorsPage, "NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":["203.0.113.0/24","10.0.0.1"]}}`, ctx{"aws:SourceIp": {"10.0.0.2"}}, true},

		// ARN condition operators: each of the six colon-delimited parts
		// is matched separately, with wildcards; ArnEquals behaves as
		// ArnLike does.
		{operatorsPage, "ArnLike", `{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:111122223333:rule/*"}}`, ctx{"aws:SourceArn": {"arn:aws:events:us-east-1:111122223333:rule/my-rule"}}, true},
		{operatorsPage, "ArnLike other account", `{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:111122223333:rule/*"}}`, ctx{"aws:SourceArn": {"arn:aws:events:us-east-1:444455556666:rule/my-rule"}}, false},
		{operatorsPage, "ArnLike star stays in its part", `{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:111122223333:rule/*"}}`, ctx{"aws:SourceArn": {"arn:aws:events:us-east-1:9:111122223333:rule/r"}}, false},
		{operatorsPage, "ArnLike resource part takes colons", `{"ArnLike":{"aws:SourceArn":"arn:aws:logs:*:*:log-group:*"}}`, ctx{"aws:SourceArn": {"arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"}}, true},
		{operatorsPage, "ArnLike request not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:*:*"}}`, ctx{"aws:SourceArn": {"rule/my-rule"}}, false},
		{operatorsPage, "ArnLike is case-sensitive", `{"ArnLike":{"aws:SourceArn":"arn:aws:events:*:*:rule/R"}}`, ctx{"aws:SourceArn": {"arn:aws:events:us-east-1:1:rule/r"}}, false},
		{operatorsPage, "ArnEquals takes wildcards", `{"ArnEquals":{"aws:SourceArn":"arn:aws:events:us-east-?:111122223333:rule/r"}}`, ctx{"aws:SourceArn": {"arn:aws:events:us-east-1:111122223333:rule/r"}}, true},
		{operatorsPage, "ArnNotEquals", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:events:us-east-1:111122223333:rule/r"}}`, ctx{"aws:SourceArn": {"arn:aws:events:us-east-1:111122223333:rule/r"}}, false},
		{operatorsPage, "ArnNotLike", `{"ArnNotLike":{"events:TargetArn":"arn:aws:sqs:*:*:private-*"}}`, ctx{"events:TargetArn": {"arn:aws:sqs:us-east-1:1:public"}}, true},

		// ...IfExists: "If the policy key is present in the context of the
		// request, process the key as specified in the policy. If the key
		// is not present, evaluate the condition element as true."
		{operatorsPage, "IfExists absent", `{"StringEqualsIfExists":{"events:source":"a"}}`, nil, true},
		{operatorsPage, "IfExists present", `{"StringEqualsIfExists":{"events:source":"a"}}`, ctx{"events:source": {"b"}}, false},
		{operatorsPage, "negated IfExists present", `{"StringNotLikeIfExists":{"events:source":"a*"}}`, ctx{"events:source": {"ab"}}, false},
		{operatorsPage, "ArnLikeIfExists absent", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:events:*:*:*"}}`, nil, true},

		// Null: "true" means the key is absent, "false" that it is present.
		{operatorsPage, "Null true absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, true},
		{operatorsPage, "Null true present", `{"Null":{"aws:TokenIssueTime":"true"}}`, ctx{"aws:TokenIssueTime": {"2024-01-01T00:00:00Z"}}, false},
		{operatorsPage, "Null false present", `{"Null":{"aws:TokenIssueTime":false}}`, ctx{"aws:TokenIssueTime": {"x"}}, true},
		{operatorsPage, "Null false absent", `{"Null":{"aws:TokenIssueTime":"false"}}`, nil, false},
		{operatorsPage, "Null key with no values is absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, ctx{"aws:TokenIssueTime": {}}, true},

		// Set operators. "ForAllValues ... returns true if every context
		// key value in the request matches at least one context key value
		// in the policy. It also returns true if there are no context keys
		// in the request." ForAnyValue "returns true if any one of the
		// context key values in the request matches any one of the context
		// key values in the policy. For context keys that have no value,
		// the condition returns false."
		{setPage, "ForAllValues all match", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b","c"]}}`, ctx{"aws:TagKeys": {"a", "c"}}, true},
		{setPage, "ForAllValues one does not", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx{"aws:TagKeys": {"a", "x"}}, false},
		{setPage, "ForAllValues absent", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, nil, true},
		{setPage, "ForAllValues:StringNotLike", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, ctx{"aws:TagKeys": {"key2:audit"}}, true},
		{setPage, "ForAllValues:StringNotLike one matches", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, ctx{"aws:TagKeys": {"key1:legal", "key2"}}, false},
		{setPage, "ForAllValues:StringNotLike absent", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}`, nil, true},
		{setPage, "ForAnyValue one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx{"aws:TagKeys": {"x", "b"}}, true},
		{setPage, "ForAnyValue none", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx{"aws:TagKeys": {"x", "y"}}, false},
		{setPage, "ForAnyValue absent", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, nil, false},
		{setPage, "ForAnyValue negated absent", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}}`, nil, false},
		{setPage, "ForAnyValue:StringNotEquals", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, ctx{"aws:TagKeys": {"a", "z"}}, true},
		{setPage, "ForAnyValue:StringNotEquals all listed", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}`, ctx{"aws:TagKeys": {"a", "b"}}, false},
		{setPage, "ForAnyValue IfExists absent", `{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":"a*"}}`, nil, true},
		{setPage, "ForAllValues Numeric", `{"ForAllValues:NumericLessThan":{"x:n":"10"}}`, ctx{"x:n": {"1", "2"}}, true},
		// Without a qualifier a multivalued key holds if any value does,
		// and a negated operator if every value does.
		{setPage, "plain operator, multivalued key", `{"StringEquals":{"aws:TagKeys":"a"}}`, ctx{"aws:TagKeys": {"x", "a"}}, true},
		{setPage, "plain negated operator, multivalued key", `{"StringNotEquals":{"aws:TagKeys":"a"}}`, ctx{"aws:TagKeys": {"x", "a"}}, false},
		{setPage, "plain negated operator, multivalued key, none listed", `{"StringNotEquals":{"aws:TagKeys":"a"}}`, ctx{"aws:TagKeys": {"x", "y"}}, true},

		// EventBridge condition keys.
		{ebPage, "events:detail-type", `{"StringEquals":{"events:detail-type":"EC2 Instance State-change Notification"}}`, ctx{"events:detail-type": {"EC2 Instance State-change Notification"}}, true},
		{ebPage, "events:detail.<path>", `{"StringEquals":{"events:detail.eventTypeCode":"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"}}`, ctx{"events:detail.eventTypeCode": {"AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"}}, true},
		{ebPage, "events:eventBusInvocation", `{"StringEquals":{"events:eventBusInvocation":"true"}}`, ctx{"events:eventBusInvocation": {"true"}}, true},
		{ebPage, "events:creatorAccount", `{"StringEquals":{"events:creatorAccount":"111122223333"}}`, ctx{"events:creatorAccount": {"111122223333"}}, true},
		{ebPage, "events:ManagedBy", `{"StringEquals":{"events:ManagedBy":"schemas.amazonaws.com"}}`, ctx{"events:managedBy": {"schemas.amazonaws.com"}}, true},
		{ebPage, "aws:PrincipalOrgID", `{"StringEquals":{"aws:PrincipalOrgID":"o-1234567890"}}`, ctx{"aws:PrincipalOrgID": {"o-0987654321"}}, false},

		// Policy variables in condition values (Version 2012-10-17).
		{varsPage, "variable from context", `{"StringEquals":{"events:creatorAccount":"${aws:SourceAccount}"}}`, ctx{"events:creatorAccount": {"111122223333"}, "aws:SourceAccount": {"111122223333"}}, true},
		{varsPage, "variable from context differs", `{"StringEquals":{"events:creatorAccount":"${aws:SourceAccount}"}}`, ctx{"events:creatorAccount": {"111122223333"}, "aws:SourceAccount": {"444455556666"}}, false},
		{varsPage, "variable key ignores case", `{"StringEquals":{"events:creatorAccount":"${AWS:SOURCEACCOUNT}"}}`, ctx{"events:creatorAccount": {"1"}, "aws:sourceaccount": {"1"}}, true},
		{varsPage, "variable inside a pattern", `{"StringLike":{"events:source":"com.${aws:SourceAccount}.*"}}`, ctx{"events:source": {"com.1.orders"}, "aws:SourceAccount": {"1"}}, true},
		// "Policy variables with no value": the condition does not match.
		{varsPage, "unresolved variable matches nothing", `{"StringEquals":{"events:source":"${aws:username}"}}`, ctx{"events:source": {""}}, false},
		{varsPage, "unresolved variable, other value matches", `{"StringEquals":{"events:source":["${aws:username}","a"]}}`, ctx{"events:source": {"a"}}, true},
		{varsPage, "unresolved variable in a negated operator", `{"StringNotEquals":{"events:source":"${aws:username}"}}`, ctx{"events:source": {"a"}}, true},
		// "Specifying default values": ${key, 'default'}.
		{varsPage, "default value", `{"StringEquals":{"events:source":"${aws:username, 'nobody'}"}}`, ctx{"events:source": {"nobody"}}, true},
		{varsPage, "default value unused", `{"StringEquals":{"events:source":"${events:detail-type,'nobody'}"}}`, ctx{"events:source": {"t"}, "events:detail-type": {"t"}}, true},
		// A multivalued key cannot be a variable.
		{varsPage, "multivalued key is no variable", `{"StringEquals":{"events:source":"${aws:TagKeys}"}}`, ctx{"events:source": {"a"}, "aws:TagKeys": {"a", "b"}}, false},
		// Special characters: ${*}, ${?} and ${$} are literal.
		{varsPage, "${*} is a literal star", `{"StringLike":{"events:source":"a${*}"}}`, ctx{"events:source": {"a*"}}, true},
		{varsPage, "${*} does not match other text", `{"StringLike":{"events:source":"a${*}"}}`, ctx{"events:source": {"ab"}}, false},
		{varsPage, "${?} is a literal question mark", `{"StringLike":{"events:source":"a${?}"}}`, ctx{"events:source": {"ab"}}, false},
		{varsPage, "${?} matches itself", `{"StringLike":{"events:source":"a${?}"}}`, ctx{"events:source": {"a?"}}, true},
		{varsPage, "${$} is a literal dollar", `{"StringEquals":{"events:source":"${$}{aws:username}"}}`, ctx{"events:source": {"${aws:username}"}}, true},
		{varsPage, "a variable's value is literal in a pattern", `{"StringLike":{"events:source":"${events:detail-type}"}}`, ctx{"events:source": {"abc"}, "events:detail-type": {"a*"}}, false},
		{varsPage, "variable expands to a number", `{"NumericLessThan":{"x:n":"${x:limit}"}}`, ctx{"x:n": {"5"}, "x:limit": {"10"}}, true},
		{varsPage, "unterminated variable is text", `{"StringEquals":{"events:source":"${aws:username"}}`, ctx{"events:source": {"${aws:username"}}, true},
		{operatorsPage, "backslash is literal", `{"StringLike":{"events:source":"a\\*"}}`, ctx{"events:source": {"a\\bc"}}, true},
		{operatorsPage, "backslash is literal, no match", `{"StringLike":{"events:source":"a\\*"}}`, ctx{"events:source": {"a*"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conditionHolds(t, Version2012, tt.condition, Request{Context: tt.ctx}); got != tt.want {
				t.Errorf("%s\n%s with %v = %v, want %v", tt.source, tt.condition, tt.ctx, got, tt.want)
			}
		})
	}
}

func TestVariablesNeedVersion2012(t *testing.T) {
	// "IAM JSON policy elements: Version": without 2012-10-17 "you cannot
	// use features such as policy variables"; they are literal text.
	cond := `{"StringEquals":{"events:source":"${aws:SourceAccount}"}}`
	c := ctx{"events:source": {"${aws:SourceAccount}"}, "aws:SourceAccount": {"1"}}
	for _, version := range []string{"", Version2008} {
		if !conditionHolds(t, version, cond, Request{Context: c}) {
			t.Errorf("version %q: the variable was expanded", version)
		}
	}
	if conditionHolds(t, Version2012, cond, Request{Context: c}) {
		t.Error("2012-10-17: the variable was not expanded")
	}
}

func TestDerivedKeys(t *testing.T) {
	user := "arn:aws:iam::111122223333:user/division/alice"
	session := "arn:aws:sts::111122223333:assumed-role/Admin/alice-session"
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name, condition string
		req             Request
		want            bool
	}{
		{"aws:PrincipalAccount from ARN", `{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}`, Request{PrincipalARN: user}, true},
		{"aws:PrincipalAccount given", `{"StringEquals":{"aws:PrincipalAccount":"444455556666"}}`, Request{PrincipalARN: user, PrincipalAccount: "444455556666"}, true},
		{"aws:PrincipalArn user", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/division/alice"}}`, Request{PrincipalARN: user}, true},
		// aws:PrincipalArn of a role session is the role's ARN ("AWS global
		// condition context keys").
		{"aws:PrincipalArn session", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Admin"}}`, Request{PrincipalARN: session}, true},
		{"aws:username", `{"StringEquals":{"aws:username":"alice"}}`, Request{PrincipalARN: user}, true},
		{"aws:username absent for a session", `{"Null":{"aws:username":"true"}}`, Request{PrincipalARN: session}, true},
		{"aws:PrincipalServiceName", `{"StringEquals":{"aws:PrincipalServiceName":"events.amazonaws.com"}}`, Request{PrincipalService: "events.amazonaws.com"}, true},
		{"aws:ResourceAccount", `{"StringEquals":{"aws:ResourceAccount":"999988887777"}}`, Request{Resource: "arn:aws:events:us-east-1:999988887777:event-bus/b"}, true},
		{"aws:CurrentTime", `{"DateGreaterThan":{"aws:CurrentTime":"2024-05-06T07:08:08Z"},"DateLessThan":{"aws:CurrentTime":"2024-05-06T07:08:10Z"}}`, Request{Time: at}, true},
		{"aws:EpochTime", `{"NumericEquals":{"aws:EpochTime":"1714979289"}}`, Request{Time: at}, true},
		{"aws:CurrentTime absent without a time", `{"Null":{"aws:CurrentTime":"true"}}`, Request{}, true},
		{"Context overrides", `{"StringEquals":{"aws:PrincipalAccount":"1"}}`, Request{PrincipalARN: user, Context: ctx{"aws:principalaccount": {"1"}}}, true},
		{"variable from a derived key", `{"StringEquals":{"events:creatorAccount":"${aws:PrincipalAccount}"}}`, Request{PrincipalARN: user, Context: ctx{"events:creatorAccount": {"111122223333"}}}, true},
		// A derived key compared with a derived variable.
		{"derived key and derived variable", `{"StringEquals":{"aws:PrincipalAccount":"${aws:ResourceAccount}"}}`, Request{PrincipalARN: user, Resource: "arn:aws:events:us-east-1:111122223333:event-bus/b"}, true},
		{"derived key and other derived variable", `{"StringNotEquals":{"aws:PrincipalAccount":"${aws:ResourceAccount}"}}`, Request{PrincipalARN: user, Resource: "arn:aws:events:us-east-1:999988887777:event-bus/b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conditionHolds(t, Version2012, tt.condition, tt.req); got != tt.want {
				t.Errorf("%s with %+v = %v, want %v", tt.condition, tt.req, got, tt.want)
			}
		})
	}
}
