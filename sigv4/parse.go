package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Algorithm is the one SigV4 signing algorithm this package verifies.
const Algorithm = "AWS4-HMAC-SHA256"

// Authorization is the signature a request carries, as the client wrote it,
// from the Authorization header or from a presigned URL's query string.
// Fields the client left out are empty.
type Authorization struct {
	// Algorithm is the header's first word, or X-Amz-Algorithm.
	Algorithm string
	// Credential is "<key id>/<date>/<region>/<service>/aws4_request".
	Credential string
	// SignedHeaders is the client's list, ";"-separated, verbatim.
	SignedHeaders string
	// Signature is the hex HMAC the client computed.
	Signature string

	// Presigned is set for the query form, whose other parameters follow.
	Presigned bool
	// Date is X-Amz-Date, Expires X-Amz-Expires, SecurityToken
	// X-Amz-Security-Token and ContentSHA256 X-Amz-Content-Sha256, as
	// given in the query.
	Date, Expires, SecurityToken, ContentSHA256 string
}

// ParseAuthorization reads an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=...
//
// Its parameters are separated by commas and blanks, in any order, and
// those it does not know are ignored. A part without "=" is an error, as in
// AWS. A header of another scheme ("Bearer ...", SigV2's "AWS key:sig")
// parses to an Authorization with its first word as Algorithm and no
// parameters, which the verifier then reports as missing, as AWS does; a
// header claiming another SigV4 algorithm than AWS4-HMAC-SHA256 and
// SigV4a's AWS4-ECDSA-P256-SHA256 is an error.
func ParseAuthorization(header string) (*Authorization, error) {
	alg, rest, _ := strings.Cut(strings.TrimLeft(header, " "), " ")
	a := &Authorization{Algorithm: alg}
	if alg != Algorithm && alg != AlgorithmV4a {
		if strings.HasPrefix(alg, "AWS4-") {
			return nil, errUnsupportedAlgorithm(alg)
		}
		return a, nil
	}
	for part := range strings.FieldsFuncSeq(rest, isSeparator) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errNotKeyValue(part, header)
		}
		var f *string
		switch k {
		case "Credential":
			f = &a.Credential
		case "SignedHeaders":
			f = &a.SignedHeaders
		case "Signature":
			f = &a.Signature
		default:
			continue
		}
		if *f == "" { // the first of repeated parameters counts
			*f = v
		}
	}
	return a, nil
}

func isSeparator(r rune) bool { return r == ',' || r == ' ' || r == '\t' }

// queryParam is one decoded query parameter.
type queryParam struct{ key, value string }

// parseQuery decodes a raw query string into its parameters, in order.
// "+" is a space, as in HTML forms and as the SDKs' signers read it.
func parseQuery(raw string) ([]queryParam, error) {
	if raw == "" {
		return nil, nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		var err error
		if k, err = unescape(k); err != nil {
			return nil, err
		}
		if v, err = unescape(v); err != nil {
			return nil, err
		}
		params = append(params, queryParam{k, v})
	}
	return params, nil
}

func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		msg := "The query string could not be decoded."
		var e url.EscapeError
		if errors.As(err, &e) {
			msg = "Illegal hex character in escape % pattern: " + string(e)
		}
		return "", &Error{Code: CodeMalformedQueryString, Message: msg, Status: http.StatusNotFound}
	}
	return u, nil
}

// ParseQuery reads the signature of a presigned URL from its raw query
// string (X-Amz-Algorithm, X-Amz-Credential, X-Amz-SignedHeaders,
// X-Amz-Signature, X-Amz-Date, X-Amz-Expires, X-Amz-Security-Token,
// X-Amz-Content-Sha256). It returns nil, nil for a query without
// X-Amz-Algorithm: the request is not presigned.
func ParseQuery(rawQuery string) (*Authorization, error) {
	params, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	return presignedFrom(params), nil
}

func presignedFrom(params []queryParam) *Authorization {
	var a *Authorization
	for _, p := range params {
		if p.key == "X-Amz-Algorithm" {
			a = &Authorization{Presigned: true}
			break
		}
	}
	if a == nil {
		return nil
	}
	for _, p := range params {
		var f *string
		switch p.key {
		case "X-Amz-Algorithm":
			f = &a.Algorithm
		case "X-Amz-Credential":
			f = &a.Credential
		case "X-Amz-SignedHeaders":
			f = &a.SignedHeaders
		case "X-Amz-Signature":
			f = &a.Signature
		case "X-Amz-Date":
			f = &a.Date
		case "X-Amz-Expires":
			f = &a.Expires
		case "X-Amz-Security-Token":
			f = &a.SecurityToken
		case "X-Amz-Content-Sha256":
			f = &a.ContentSHA256
		default:
			continue
		}
		if *f == "" {
			*f = p.value
		}
	}
	return a
}

// canonicalQuery is the query part of the canonical request: every
// parameter but a presigned URL's X-Amz-Signature, name and value each
// URI-encoded (RFC 3986 unreserved characters as they are, everything else
// %XX in upper case), sorted by name and then value after encoding.
func canonicalQuery(params []queryParam, presigned bool) string {
	if len(params) == 0 {
		return ""
	}
	enc := make([]queryParam, 0, len(params))
	for _, p := range params {
		if presigned && p.key == "X-Amz-Signature" {
			continue
		}
		enc = append(enc, queryParam{uriEncode(p.key, false), uriEncode(p.value, false)})
	}
	slices.SortFunc(enc, func(a, b queryParam) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// uriEncode percent-encodes every byte of s outside RFC 3986's unreserved
// set (A-Z a-z 0-9 - . _ ~), and "/" too unless keepSlash.
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
