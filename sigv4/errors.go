package sigv4

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// The error codes AWS answers a request whose authentication fails with.
// Each is an HTTP 400 in the AWS JSON protocols (the services behind
// AWSEvents, DynamoDB_20120810, Kinesis_20131202, ... answer alike).
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeExpiredToken               = "ExpiredTokenException"
	// CodeMalformedQueryString is AWS's common error for a query string
	// that cannot be decoded (HTTP 404, as AWS documents it).
	CodeMalformedQueryString = "MalformedQueryString"
)

// Error is why a request was not authenticated, as AWS words it: Code is
// the error type ("__type"), Message its message, Status the HTTP status.
type Error struct {
	Code    string
	Message string
	Status  int

	// canonical and stringToSign are what the server computed, for a
	// signature that does not match (see Details).
	canonical, stringToSign string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Details returns, for a signature that did not match, the canonical
// request and string to sign the server computed: some AWS services send
// them to the client, EventBridge's kind does not, but an operator may
// want them in a debug log. They are empty for every other error.
func (e *Error) Details() (canonicalRequest, stringToSign string) {
	return e.canonical, e.stringToSign
}

func newError(code, msg string) *Error {
	return &Error{Code: code, Message: msg, Status: http.StatusBadRequest}
}

// The messages, word for word. Where each was seen is noted in
// errors_test.go.
const (
	msgMissingToken    = "Request is missing Authentication Token"
	msgSignatureDiffer = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgInvalidToken    = "The security token included in the request is invalid."
	msgExpiredToken    = "The security token included in the request is expired"
	msgBothForms       = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	msgHostUnsigned    = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)

func errMissingToken() *Error       { return newError(CodeMissingAuthenticationToken, msgMissingToken) }
func errSignatureDiffer() *Error    { return newError(CodeInvalidSignature, msgSignatureDiffer) }
func errUnknownKey() *Error         { return newError(CodeUnrecognizedClient, msgInvalidToken) }
func errExpiredToken() *Error       { return newError(CodeExpiredToken, msgExpiredToken) }
func errBothForms() *Error          { return newError(CodeInvalidSignature, msgBothForms) }
func errHostNotSigned() *Error      { return newError(CodeInvalidSignature, msgHostUnsigned) }
func errIncomplete(m string) *Error { return newError(CodeIncompleteSignature, m) }

func errUnsupportedAlgorithm(alg string) *Error {
	return errIncomplete("Unsupported AWS 'algorithm': '" + alg + "'.")
}

func errNotKeyValue(part, header string) *Error {
	return errIncomplete("'" + part + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" + header + "'.")
}

func errBadDate(v string) *Error {
	return errIncomplete("Date must be in ISO-8601 'basic format'. Got '" + v + "'. See http://en.wikipedia.org/wiki/ISO_8601")
}

func errCredentialShape(c string) *Error {
	return errIncomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + c + "'")
}

func errHeaderNotPresent(name string) *Error {
	return errIncomplete("'" + name + "' is named as a SignedHeader, but it does not exist in the HTTP request.")
}

// RegionMessage is AWS's complaint about a credential scoped to a region
// it does not know: "Credential should be scoped to a valid region, not
// 'x'. ". A long or non-UTF-8 value is not echoed back.
func RegionMessage(region string) string {
	if len(region) > 32 || !utf8.ValidString(region) {
		return "Credential should be scoped to a valid region. "
	}
	return "Credential should be scoped to a valid region, not '" + region + "'. "
}

// basic is the ISO 8601 basic format SigV4 dates are written in.
const basic = "20060102T150405Z"

// errSkew is the complaint about a signing time outside the window
// [now-before, now+after]: AWS names the time, the edge it passed and how
// the edge was reached from now.
func errSkew(t, now time.Time, before, after time.Duration) *Error {
	if t.Before(now.Add(-before)) {
		return newError(CodeInvalidSignature, "Signature expired: "+t.Format(basic)+" is now earlier than "+
			now.Add(-before).Format(basic)+" ("+now.Format(basic)+" - "+span(before)+")")
	}
	return newError(CodeInvalidSignature, "Signature not yet current: "+t.Format(basic)+" is still later than "+
		now.Add(after).Format(basic)+" ("+now.Format(basic)+" + "+span(after)+")")
}

// span writes a window as AWS does ("5 min."); a window of seconds that are
// not whole minutes (a presigned URL's X-Amz-Expires) in seconds.
func span(d time.Duration) string {
	s := int64(d / time.Second)
	if s%60 == 0 {
		return strconv.FormatInt(s/60, 10) + " min."
	}
	return strconv.FormatInt(s, 10) + " sec."
}
