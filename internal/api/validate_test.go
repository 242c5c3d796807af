package api

import (
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
)

func ptr[T any](v T) *T { return &v }

func TestValidateMessages(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name string
		in   any
		want string // "" for valid
	}{
		{"valid rule", &putRuleIn{Name: ptr("r-1.x_y")}, ""},
		{"missing name", &deleteEventBusIn{},
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"empty name", &deleteEventBusIn{Name: ptr("")},
			"Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"required null", &putTargetsIn{Rule: ptr("r")},
			"1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null"},
		{"pattern", &putRuleIn{Name: ptr("bad name")},
			`1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"too long", &putRuleIn{Name: ptr(long)},
			"1 validation error detected: Value '" + long + "' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"enum", &putRuleIn{Name: ptr("r"), State: ptr("ON")},
			"1 validation error detected: Value 'ON' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"},
		{"range", &listRulesIn{Limit: ptr(int32(101))},
			"1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"two errors", &putRuleIn{Name: ptr("a b"), State: ptr("x")},
			"2 validation errors detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; " +
				"Value 'x' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"},
		{"nested list member", &putTargetsIn{Rule: ptr("r"), Targets: []control.Target{{Id: "ok", Arn: "a"}, {Id: "no way", Arn: "a"}}},
			`1 validation error detected: Value 'no way' at 'targets.2.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"nested struct", &putTargetsIn{Rule: ptr("r"), Targets: []control.Target{{Id: "t", Arn: "a", RetryPolicy: &control.RetryPolicy{MaximumRetryAttempts: ptr(int32(186))}}}},
			"1 validation error detected: Value '186' at 'targets.1.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185"},
		{"utf-16 length", &putRuleIn{Name: ptr("r"), Description: ptr(strings.Repeat("😀", 257))},
			"1 validation error detected: Value '" + strings.Repeat("😀", 257) + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 512"},
		{"bus arn accepted", &putRuleIn{Name: ptr("r"), EventBusName: ptr("arn:aws:events:us-east-1:123456789012:event-bus/b")}, ""},
		{"list too long", &putEventsIn{Entries: make([]putEventsEntryIn, 11)}, "at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"},
		// The model's TraceHeader shape: 1 to 500 characters. Malformed
		// ones within that are dropped later, not refused (package ingest).
		{"trace header of 500", &putEventsIn{Entries: []putEventsEntryIn{{TraceHeader: ptr(strings.Repeat("t", 500))}}}, ""},
		{"trace header of 501", &putEventsIn{Entries: []putEventsEntryIn{{}, {TraceHeader: ptr(strings.Repeat("t", 501))}}},
			"1 validation error detected: Value '" + strings.Repeat("t", 501) + "' at 'entries.2.member.traceHeader' failed to satisfy constraint: Member must have length less than or equal to 500"},
		{"empty trace header", &putEventsIn{Entries: []putEventsEntryIn{{TraceHeader: ptr("")}}},
			"1 validation error detected: Value '' at 'entries.1.member.traceHeader' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"http parameters valid", httpTarget(&control.HttpParameters{PathParameterValues: []string{"o-1", " x "},
			HeaderParameters: map[string]string{"X-Team": "blue  green"}, QueryStringParameters: map[string]string{"q r": "a b"}}), ""},
		{"header key", httpTarget(&control.HttpParameters{HeaderParameters: map[string]string{"bad key": "v", "ok": "v"}}),
			"1 validation error detected: Value '{bad key=v, ok=v}' at 'targets.1.member.httpParameters.headerParameters' failed to satisfy constraint: " +
				"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: ^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$]"},
		{"header value", httpTarget(&control.HttpParameters{HeaderParameters: map[string]string{"k": "line\nbreak"}}),
			"at 'targets.1.member.httpParameters.headerParameters' failed to satisfy constraint: Map value must satisfy constraint: [Member must satisfy regular expression pattern: "},
		{"header value too long", httpTarget(&control.HttpParameters{HeaderParameters: map[string]string{"k": strings.Repeat("v", 513)}}),
			"Map value must satisfy constraint: [Member must have length less than or equal to 512]"},
		{"query key", httpTarget(&control.HttpParameters{QueryStringParameters: map[string]string{"a\x01": "v"}}),
			`Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [^\x00-\x1F\x7F]+]`},
		{"blank path parameter", httpTarget(&control.HttpParameters{PathParameterValues: []string{"ok", " \t"}}),
			`1 validation error detected: Value ' 	' at 'targets.1.member.httpParameters.pathParameterValues.2.member' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!\s*$).+`},
		{"empty path parameter", httpTarget(&control.HttpParameters{PathParameterValues: []string{""}}),
			"at 'targets.1.member.httpParameters.pathParameterValues.1.member' failed to satisfy constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidate(t, tt.in, tt.want) })
	}
}

// checkValidate checks what validate says of in: nothing when want is "",
// else a ValidationException whose message, returned, holds want.
func checkValidate(t *testing.T, in any, want string) string {
	t.Helper()
	err := validate(in)
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return ""
	}
	ae, ok := awserr.As(err)
	if !ok || ae.Code != awserr.CodeValidation {
		t.Fatalf("error = %v, want ValidationException", err)
	}
	if !strings.Contains(ae.Message, want) {
		t.Errorf("message = %q\nwant      %q", ae.Message, want)
	}
	return ae.Message
}

func TestCaller(t *testing.T) {
	long := "us-" + strings.Repeat("a", 4100) + "-1"
	const v4a = "AWS4-ECDSA-P256-SHA256 Credential=444455556666/20260101/events/aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045"
	tests := []struct {
		auth, account, region string
		regionSet             string // X-Amz-Region-Set, sent with SigV4a
		err                   string // InvalidSignatureException message, if refused
	}{
		// SigV4a (PutEvents through a global endpoint): the account from
		// the key, the region from a one-region set, else the default.
		{auth: v4a, regionSet: "*", account: "444455556666", region: DefaultRegion},
		{auth: v4a, account: "444455556666", region: DefaultRegion},
		{auth: v4a, regionSet: "eu-west-1", account: "444455556666", region: "eu-west-1"},
		{auth: v4a, regionSet: "eu-west-1,us-east-2", account: "444455556666", region: DefaultRegion},
		{auth: v4a, regionSet: "local", err: "Credential should be scoped to a valid region, not 'local'. "},
		{auth: "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20260101/events/aws4_request", regionSet: "*", account: DefaultAccount, region: DefaultRegion},
		{auth: "", account: DefaultAccount, region: DefaultRegion},
		{auth: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-central-1/events/aws4_request, SignedHeaders=host, Signature=x", account: DefaultAccount, region: "eu-central-1"},
		{auth: "AWS4-HMAC-SHA256 Credential=444455556666/20260101/ap-south-1/events/aws4_request, SignedHeaders=host, Signature=x", account: "444455556666", region: "ap-south-1"},
		{auth: "AWS4-HMAC-SHA256 Credential=4444555566667/20260101/ap-south-1/events/aws4_request", account: DefaultAccount, region: "ap-south-1"},
		{auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-gov-west-1/events/aws4_request", account: DefaultAccount, region: "us-gov-west-1"},
		{auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-isoe-west-1/events/aws4_request", account: DefaultAccount, region: "eu-isoe-west-1"},
		{auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/" + long + "/events/aws4_request", err: "Credential should be scoped to a valid region. "},
		{auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/local/events/aws4_request", err: "Credential should be scoped to a valid region, not 'local'. "},
		{auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/US-EAST-1/events/aws4_request", err: "Credential should be scoped to a valid region, not 'US-EAST-1'. "},
		{auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101/us.east.1/events/aws4_request", err: "Credential should be scoped to a valid region, not 'us.east.1'. "},
		{auth: "AWS4-HMAC-SHA256 Credential=AKID/20260101//events/aws4_request", err: "Credential should be scoped to a valid region, not ''. "},
	}
	for _, tt := range tests {
		r := httptestRequest(tt.auth)
		if tt.regionSet != "" {
			r.Header.Set("X-Amz-Region-Set", tt.regionSet)
		}
		sc, err := Caller(r)
		if tt.err != "" {
			ae, ok := awserr.As(err)
			if !ok || ae.Code != "InvalidSignatureException" || ae.Message != tt.err {
				t.Errorf("Caller(%.80q) error = %v, want InvalidSignatureException %q", tt.auth, err, tt.err)
			}
			continue
		}
		if err != nil || sc.Account != tt.account || sc.Region != tt.region {
			t.Errorf("Caller(%q) = %+v, %v; want %s/%s", tt.auth, sc, err, tt.account, tt.region)
		}
	}
}

func httpTarget(p *control.HttpParameters) *putTargetsIn {
	return &putTargetsIn{Rule: ptr("r"), Targets: []control.Target{{Id: "t", Arn: "a", HttpParameters: p}}}
}
