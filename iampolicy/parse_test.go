package iampolicy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	// "IAM JSON policy element reference": Statement is a single object or
	// an array; Action, Resource and principals a string or an array;
	// condition values a string, number, boolean or array.
	p, err := Parse([]byte(`{
		"Version": "2012-10-17",
		"Id": "bus-policy",
		"Statement": {
			"Sid": "AllowAccount",
			"Effect": "Allow",
			"Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:root"], "Service": "events.amazonaws.com"},
			"Action": "events:PutEvents",
			"Resource": ["arn:aws:events:us-east-1:123456789012:event-bus/default"],
			"Condition": {
				"StringEquals": {"events:source": ["com.example", "com.other"], "aws:SourceAccount": "111122223333"},
				"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "team*"},
				"NumericLessThan": {"x:n": 10},
				"Bool": {"aws:SecureTransport": true}
			}
		}
	}`), Resource)
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Version: Version2012,
		ID:      "bus-policy",
		Statements: []Statement{{
			Sid:       "AllowAccount",
			Effect:    "Allow",
			Principal: &Principal{AWS: []string{"111122223333", "arn:aws:iam::444455556666:root"}, Service: []string{"events.amazonaws.com"}},
			Action:    []string{"events:PutEvents"},
			Resource:  []string{"arn:aws:events:us-east-1:123456789012:event-bus/default"},
			Condition: []Condition{
				{Operator: "StringEquals", Key: "events:source", Values: []string{"com.example", "com.other"}},
				{Operator: "StringEquals", Key: "aws:SourceAccount", Values: []string{"111122223333"}},
				{Qualifier: ForAnyValue, Operator: "StringLike", IfExists: true, Key: "aws:TagKeys", Values: []string{"team*"}},
				{Operator: "NumericLessThan", Key: "x:n", Values: []string{"10"}},
				{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
			},
		}},
	}
	if !reflect.DeepEqual(p, want) {
		got, _ := json.MarshalIndent(p, "", "  ")
		t.Fatalf("got\n%s", got)
	}

	// "Principal": "*" is the same as {"AWS": "*"} ("AWS JSON policy
	// elements: Principal", all principals).
	p, err = Parse([]byte(`{"Statement":[{"Effect":"Deny","Principal":"*","NotAction":["events:Put*"],"NotResource":"*"}]}`), Resource)
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Statements[0]; !reflect.DeepEqual(s.Principal, &Principal{AWS: []string{"*"}}) || p.Version != "" || s.NotAction[0] != "events:Put*" || s.NotResource[0] != "*" {
		t.Fatalf("got %+v", p)
	}
}

func TestParseErrors(t *testing.T) {
	const (
		allow  = `"Effect":"Allow","Action":"events:PutEvents","Resource":"*"`
		anyone = `"Principal":"*",`
	)
	tests := []struct {
		name, doc string
		kind      Kind
		path      string // want Error.Path
		reason    string // want substring of Error.Reason
	}{
		{"not JSON", `{"Statement":`, Identity, "Statement", "unexpected end of JSON input"},
		{"syntax", `{"Statement":[}`, Identity, "Statement", "invalid JSON"},
		{"trailing", `{"Statement":{` + allow + `}} {}`, Identity, "", "unexpected data after the policy document"},
		{"array document", `[]`, Identity, "", "must be a JSON object, not an array"},
		{"duplicate key", `{"Statement":{` + allow + `,"Effect":"Deny"}}`, Identity, "Statement", `duplicate key "Effect"`},
		{"unknown top-level", `{"Statement":{` + allow + `},"Foo":1}`, Identity, "Foo", `unknown policy element "Foo"`},
		// "IAM JSON policy elements: Version": 2012-10-17 and 2008-10-17.
		{"bad version", `{"Version":"2012-10-18","Statement":{` + allow + `}}`, Identity, "Version", `unsupported policy version "2012-10-18"`},
		{"version number", `{"Version":2012,"Statement":{` + allow + `}}`, Identity, "Version", "must be a string, not a number"},
		{"no statement", `{"Version":"2012-10-17"}`, Identity, "", "no Statement element"},
		{"empty statements", `{"Statement":[]}`, Identity, "Statement", "no statements"},
		{"statement string", `{"Statement":"x"}`, Identity, "Statement", "must be an object or an array of objects"},
		{"statement element string", `{"Statement":["x"]}`, Identity, "Statement[0]", "a statement must be an object"},
		{"unknown element", `{"Statement":{` + allow + `,"Actions":"x"}}`, Identity, "Statement.Actions", `unknown statement element "Actions"`},
		// Element names are case-sensitive.
		{"lower-case element", `{"Statement":{"effect":"Allow","Action":"*","Resource":"*"}}`, Identity, "Statement.effect", "unknown statement element"},
		{"no effect", `{"Statement":{"Action":"*","Resource":"*"}}`, Identity, "Statement", "no Effect"},
		{"effect case", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, Identity, "Statement.Effect", `must be "Allow" or "Deny", not "allow"`},
		{"no action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, Identity, "Statement", "neither Action nor NotAction"},
		{"both actions", `{"Statement":{` + allow + `,"NotAction":"x:y"}}`, Identity, "Statement", "both Action and NotAction"},
		{"empty action list", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, Identity, "Statement.Action", "must not be an empty array"},
		{"action number", `{"Statement":{"Effect":"Allow","Action":["events:PutEvents",1],"Resource":"*"}}`, Identity, "Statement.Action[1]", "must be a string, not a number"},
		{"action without service", `{"Statement":{"Effect":"Allow","Action":"PutEvents","Resource":"*"}}`, Identity, "Statement.Action", "of the form service:action"},
		{"action wildcard service", `{"Statement":{"Effect":"Allow","Action":["events:PutEvents","ev*:PutEvents"],"Resource":"*"}}`, Identity, "Statement.Action[1]", "invalid service prefix"},
		{"action empty name", `{"Statement":{"Effect":"Allow","Action":"events:","Resource":"*"}}`, Identity, "Statement.Action", "empty action name"},
		{"resource not ARN", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"event-bus/default"}}`, Identity, "Statement.Resource", "must be \"*\" or an ARN"},
		{"resource short ARN", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:events:*"}}`, Identity, "Statement.Resource", "must be \"*\" or an ARN"},
		{"identity without resource", `{"Statement":{"Effect":"Allow","Action":"*"}}`, Identity, "Statement", "neither Resource nor NotResource"},
		{"both resources", `{"Statement":{` + allow + `,"NotResource":"*"}}`, Identity, "Statement", "both Resource and NotResource"},
		// "AWS JSON policy elements: Principal": "You cannot use the
		// Principal element in an identity-based policy."
		{"identity with principal", `{"Statement":{` + anyone + allow + `}}`, Identity, "Statement", "must not specify a Principal"},
		// "You must use the Principal element in resource-based policies."
		{"resource without principal", `{"Statement":{` + allow + `}}`, Resource, "Statement", "must specify a Principal or NotPrincipal"},
		{"both principals", `{"Statement":{` + anyone + `"NotPrincipal":"*",` + allow + `}}`, Resource, "Statement", "both Principal and NotPrincipal"},
		{"principal account string", `{"Statement":{"Principal":"123456789012",` + allow + `}}`, Resource, "Statement.Principal", `must be "*" or an object`},
		{"principal empty", `{"Statement":{"Principal":{},` + allow + `}}`, Resource, "Statement.Principal", "at least one principal"},
		{"principal type", `{"Statement":{"Principal":{"Aws":"*"},` + allow + `}}`, Resource, "Statement.Principal.Aws", `unknown principal type "Aws"`},
		// "You cannot use a wildcard to match part of a principal name or
		// ARN."
		{"principal wildcard", `{"Statement":{"Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:user/*"]},` + allow + `}}`, Resource, "Statement.Principal.AWS[1]", "a wildcard cannot match part of a principal"},
		{"principal bad account", `{"Statement":{"Principal":{"AWS":"12345"},` + allow + `}}`, Resource, "Statement.Principal.AWS", `invalid principal "12345"`},
		{"principal bad arn", `{"Statement":{"Principal":{"AWS":"arn:aws:s3:::bucket"},` + allow + `}}`, Resource, "Statement.Principal.AWS", "invalid principal"},
		{"service wildcard", `{"Statement":{"Principal":{"Service":"*.amazonaws.com"},` + allow + `}}`, Resource, "Statement.Principal.Service", "wildcards are not allowed"},
		// IAM: "Statement IDs (SID) in a single policy must be unique."
		{"duplicate sid", `{"Statement":[{"Sid":"a",` + allow + `},{"Sid":"a",` + allow + `}]}`, Identity, "Statement[1].Sid", `duplicate Sid "a"`},
		{"sid number", `{"Statement":{"Sid":1,` + allow + `}}`, Identity, "Statement.Sid", "must be a string"},
		{"condition not object", `{"Statement":{` + allow + `,"Condition":[]}}`, Identity, "Statement.Condition", "must be an object mapping condition operators"},
		{"unknown operator", `{"Statement":{` + allow + `,"Condition":{"StringMatches":{"a:b":"c"}}}}`, Identity, "Statement.Condition.StringMatches", `unknown condition operator "StringMatches"`},
		{"operator case", `{"Statement":{` + allow + `,"Condition":{"stringequals":{"a:b":"c"}}}}`, Identity, "Statement.Condition.stringequals", "unknown condition operator"},
		{"unknown qualifier", `{"Statement":{` + allow + `,"Condition":{"ForSomeValues:StringEquals":{"a:b":"c"}}}}`, Identity, "Statement.Condition.ForSomeValues:StringEquals", "unknown condition operator"},
		// Null has no ...IfExists form ("...IfExists condition operators":
		// "except the Null condition").
		{"NullIfExists", `{"Statement":{` + allow + `,"Condition":{"NullIfExists":{"a:b":"true"}}}}`, Identity, "Statement.Condition.NullIfExists", "unknown condition operator"},
		{"operator value", `{"Statement":{` + allow + `,"Condition":{"StringEquals":"x"}}}`, Identity, "Statement.Condition.StringEquals", "must be an object mapping condition keys"},
		{"empty key", `{"Statement":{` + allow + `,"Condition":{"StringEquals":{"":"x"}}}}`, Identity, "Statement.Condition.StringEquals.", "must not be empty"},
		{"no values", `{"Statement":{` + allow + `,"Condition":{"StringEquals":{"a:b":[]}}}}`, Identity, "Statement.Condition.StringEquals.a:b", "at least one value"},
		{"null value", `{"Statement":{` + allow + `,"Condition":{"StringEquals":{"a:b":null}}}}`, Identity, "Statement.Condition.StringEquals.a:b", "must be a string, number or boolean, not null"},
		{"object value", `{"Statement":{` + allow + `,"Condition":{"StringEquals":{"a:b":["x",{}]}}}}`, Identity, "Statement.Condition.StringEquals.a:b[1]", "not an object"},
		{"numeric value", `{"Statement":{` + allow + `,"Condition":{"NumericLessThan":{"a:b":"ten"}}}}`, Identity, "Statement.Condition.NumericLessThan.a:b", `needs a number, not "ten"`},
		{"numeric NaN", `{"Statement":{` + allow + `,"Condition":{"NumericEquals":{"a:b":"NaN"}}}}`, Identity, "Statement.Condition.NumericEquals.a:b", "needs a number"},
		{"date value", `{"Statement":{` + allow + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}}`, Identity, "Statement.Condition.DateLessThan.aws:CurrentTime", "needs a date"},
		{"bool value", `{"Statement":{` + allow + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}}`, Identity, "Statement.Condition.Bool.aws:SecureTransport", `needs "true" or "false"`},
		{"null operator value", `{"Statement":{` + allow + `,"Condition":{"Null":{"a:b":"${x}"}}}}`, Identity, "Statement.Condition.Null.a:b", `needs "true" or "false"`},
		{"ip value", `{"Statement":{` + allow + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}}`, Identity, "Statement.Condition.IpAddress.aws:SourceIp", "needs an IP address"},
		// A variable is only a variable in a 2012-10-17 document.
		{"variable in 2008", `{"Version":"2008-10-17","Statement":{` + allow + `,"Condition":{"NumericLessThan":{"a:b":"${x:n}"}}}}`, Identity, "Statement.Condition.NumericLessThan.a:b", "needs a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), tt.kind)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %+v, %v; want *Error", p, err)
			}
			if pe.Path != tt.path || !strings.Contains(pe.Reason, tt.reason) {
				t.Fatalf("error %q (path %q); want path %q and reason containing %q", pe, pe.Path, tt.path, tt.reason)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, doc := range []string{
		// A variable's value is checked once expanded.
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"a:b":"${x:n}"}}}}`,
		// Every operator in every form.
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			"StringEquals":{"a:b":"x"},"StringNotEqualsIfExists":{"a:b":"x"},"ForAllValues:StringEqualsIgnoreCase":{"a:b":"x"},
			"ForAnyValue:StringNotEqualsIgnoreCaseIfExists":{"a:b":"x"},"StringLike":{"a:b":"x*"},"StringNotLike":{"a:b":"x?"},
			"NumericEquals":{"a:b":1},"NumericNotEquals":{"a:b":"-1.5"},"NumericLessThan":{"a:b":"1e3"},"NumericLessThanEquals":{"a:b":0},
			"NumericGreaterThan":{"a:b":0},"NumericGreaterThanEqualsIfExists":{"a:b":0},
			"DateEquals":{"a:b":"2020-01-01"},"DateNotEquals":{"a:b":"2020-01-01T00:00:00Z"},"DateLessThan":{"a:b":"1577836800"},
			"DateLessThanEquals":{"a:b":"2020-01-01T00:00:00+01:00"},"DateGreaterThan":{"a:b":"2020-01-01T00:00:00.5Z"},"DateGreaterThanEquals":{"a:b":"2020-01-01T00:00Z"},
			"Bool":{"a:b":false},"BoolIfExists":{"a:b":"TRUE"},"BinaryEquals":{"a:b":"QmluYXJ5"},
			"IpAddress":{"a:b":["10.0.0.0/8","2001:db8::/32","192.0.2.1"]},"NotIpAddress":{"a:b":"10.0.0.1"},
			"ArnEquals":{"a:b":"arn:aws:sns:*:*:t"},"ArnLike":{"a:b":"arn:*"},"ArnNotEquals":{"a:b":"x"},"ArnNotLikeIfExists":{"a:b":"x"},
			"Null":{"a:b":"true"}
		}}}`,
		// Principals of every documented form.
		`{"Statement":{"Effect":"Allow","Action":"events:PutEvents","Principal":{
			"AWS":["*","123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:user/path/alice",
			"arn:aws:iam::123456789012:role/r","arn:aws:sts::123456789012:assumed-role/r/s","AIDAJQABLZS4A3QDU576Q"],
			"Service":"events.amazonaws.com","Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}}}`,
		// Empty condition element and operator.
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{}}}}`,
		// Unicode and escapes survive.
		`{"Statement":{"Sid":"caf\u00e9","Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/caf\u00e9/*"}}`,
	} {
		kind := Identity
		if strings.Contains(doc, "Principal") {
			kind = Resource
		}
		if _, err := Parse([]byte(doc), kind); err != nil {
			t.Errorf("Parse(%s): %v", doc, err)
		}
	}
}

func TestParseDeepInput(t *testing.T) {
	// Deep nesting is refused at a fixed depth rather than recursed into.
	doc := `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"a:b":` +
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}}}}`
	_, err := Parse([]byte(doc), Identity)
	var pe *Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "nests deeper than") {
		t.Fatalf("got %v", err)
	}
}

func TestParseKind(t *testing.T) {
	if _, err := Parse([]byte(`{}`), 0); err == nil {
		t.Fatal("Parse with kind 0 succeeded")
	}
}

func TestErrorUnwrap(t *testing.T) {
	_, err := Parse([]byte(`{"Statement":[1,}`), Identity)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v does not wrap a *json.SyntaxError", err)
	}
}
