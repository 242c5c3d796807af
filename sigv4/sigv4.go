// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests
// as an AWS service does, so that a server can take requests from the AWS
// SDKs and CLI signed with keys it issued: both the Authorization header
// form and the presigned query-string form, the credential scope, the
// 5-minute clock skew, the payload hash and X-Amz-Security-Token. A request
// that fails is answered with the error code and message AWS sends for the
// same fault (see Error), so that clients and their users see what they
// would see from AWS.
//
// It depends on nothing but the standard library, and knows nothing of
// accounts or permissions: Credentials says which keys exist, and what a
// verified request's key carries (Key.Owner) is the caller's.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Key is an access key the server knows.
type Key struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, if set, must come with every request signed with the
	// key, as X-Amz-Security-Token; a request carrying a token is refused
	// for a key without one.
	SessionToken string
	// Expiration, if set, is when the key stops working: a request signed
	// with it afterwards gets ExpiredTokenException.
	Expiration time.Time
	// Owner is the credential store's own record of the key (the account
	// and principal it stands for, say), handed back in Identity untouched.
	Owner any
}

// Credentials looks up access keys by id. It is called once for each
// request that gets as far as naming a well-formed credential, and must be
// safe for concurrent use.
type Credentials interface {
	Lookup(accessKeyID string) (Key, bool)
}

// Identity is what a verified request proved.
type Identity struct {
	// Key is the access key the request was signed with.
	Key Key
	// Region and Service are those of the credential scope. A SigV4a
	// signature's scope has no region: its RegionSet (X-Amz-Region-Set)
	// says where it is good.
	Region, Service string
	RegionSet       string
	// Time is the signing time (X-Amz-Date).
	Time time.Time
	// Presigned is set for a request signed in its query string.
	Presigned bool
}

// DefaultMaxSkew is how far a header-signed request's time may be from the
// server's clock, either way: AWS's 5 minutes.
const DefaultMaxSkew = 5 * time.Minute

// MaxExpires is the longest X-Amz-Expires a presigned URL may ask for:
// seven days, as far as a SigV4 signing key (derived per day) reaches.
const MaxExpires = 7 * 24 * time.Hour

// Verifier checks requests' signatures. Its fields are read-only once
// Verify is first called; a Verifier is safe for concurrent use.
type Verifier struct {
	// Credentials names the keys that may sign.
	Credentials Credentials
	// Service is the service name the credential scope must name
	// ("events" for EventBridge).
	Service string
	// ValidRegion reports whether a credential scope's region is one the
	// server answers for; nil takes any non-empty region.
	ValidRegion func(string) bool
	// Now is the server's clock; nil is time.Now.
	Now func() time.Time
	// MaxSkew is the allowed clock skew; 0 is DefaultMaxSkew.
	MaxSkew time.Duration

	keys    signingKeys
	v4aKeys v4aKeys
}

// Verify checks the signature of r, whose body has already been read into
// body (Verify does not read r.Body). It returns what the request proved,
// or an *Error saying why it proves nothing, in AWS's words. The checks
// come in AWS's order: the form of the signature, then its time, then its
// scope, then the key and its session token, then the signature itself.
func (v *Verifier) Verify(r *http.Request, body []byte) (*Identity, error) {
	params, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	header := r.Header.Get("Authorization")
	a := presignedFrom(params)
	switch {
	case header != "" && a != nil:
		return nil, errBothForms()
	case header == "" && a == nil:
		return nil, errMissingToken()
	case a == nil:
		if a, err = ParseAuthorization(header); err != nil {
			return nil, err
		}
	}

	stamp, token := a.Date, a.SecurityToken
	if !a.Presigned {
		if stamp = r.Header.Get("X-Amz-Date"); stamp == "" {
			stamp = r.Header.Get("Date")
		}
		token = r.Header.Get("X-Amz-Security-Token")
	} else if token == "" {
		token = r.Header.Get("X-Amz-Security-Token")
	}
	if err := a.complete(header, stamp); err != nil {
		return nil, err
	}
	signed := a.SignedHeaders
	if !hasHost(signed) {
		return nil, errHostNotSigned()
	}
	t, ok := parseStamp(stamp, !a.Presigned)
	if !ok {
		return nil, errBadDate(stamp)
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	nowT := now().UTC().Truncate(time.Second)
	before, after := v.MaxSkew, v.MaxSkew
	if before <= 0 {
		before, after = DefaultMaxSkew, DefaultMaxSkew
	}
	if a.Presigned && a.Expires != "" {
		if before, err = parseExpires(a.Expires); err != nil {
			return nil, err
		}
	}
	if t.Before(nowT.Add(-before)) || t.After(nowT.Add(after)) {
		return nil, errSkew(t, nowT, before, after)
	}

	v4a := a.Algorithm == AlgorithmV4a
	var scope credentialScope
	var regionSet string
	if v4a {
		if scope, err = v.checkScopeV4a(a.Credential, t); err != nil {
			return nil, err
		}
		// The regions are part of what is signed: unsigned, anyone could
		// widen them.
		regionSet = r.Header.Get(regionSetHeader)
		if regionSet == "" || !signs(signed, regionSetHeader) {
			return nil, errIncomplete("SigV4a requires the signed header '" + strings.ToLower(regionSetHeader) + "'.")
		}
	} else if scope, err = v.checkScope(a.Credential, t); err != nil {
		return nil, err
	}
	key, ok := v.Credentials.Lookup(scope.keyID)
	if !ok {
		return nil, errUnknownKey()
	}
	if key.SessionToken != "" || token != "" {
		if subtle.ConstantTimeCompare([]byte(key.SessionToken), []byte(token)) != 1 {
			return nil, errUnknownKey()
		}
	}
	if !key.Expiration.IsZero() && !nowT.Before(key.Expiration) {
		return nil, errExpiredToken()
	}

	payload, err := payloadHash(r, a, body)
	if err != nil {
		return nil, err
	}
	canonical, err := canonicalRequest(r, params, a.Presigned, signed, payload)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(canonical))
	var toSign strings.Builder
	toSign.Grow(len(AlgorithmV4a) + 1 + len(basic) + 1 + len(scope.scope) + 1 + 2*sha256.Size)
	toSign.WriteString(a.Algorithm)
	toSign.WriteByte('\n')
	toSign.WriteString(t.Format(basic))
	toSign.WriteByte('\n')
	toSign.WriteString(scope.scope)
	toSign.WriteByte('\n')
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	toSign.Write(hx[:])

	if v4a {
		if !verifyV4a(v.v4aKeys.get(key.AccessKeyID, key.SecretAccessKey), toSign.String(), a.Signature) {
			e := errSignatureDiffer()
			e.canonical, e.stringToSign = canonical, toSign.String()
			return nil, e
		}
		return &Identity{Key: key, RegionSet: regionSet, Service: scope.service, Time: t}, nil
	}
	sk := v.keys.get(key.SecretAccessKey, scope.date, scope.region, scope.service)
	mac := hmac.New(sha256.New, sk[:])
	mac.Write([]byte(toSign.String()))
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac.Sum(nil))
	if !hmac.Equal(want[:], []byte(a.Signature)) {
		e := errSignatureDiffer()
		e.canonical, e.stringToSign = canonical, toSign.String()
		return nil, e
	}
	return &Identity{Key: key, Region: scope.region, Service: scope.service, Time: t, Presigned: a.Presigned}, nil
}

// complete reports the parameters a signature lacks, all at once, as AWS
// does; stamp is the request's date, from wherever it came.
func (a *Authorization) complete(header, stamp string) error {
	var msg strings.Builder
	if a.Presigned {
		for _, p := range [...]struct{ name, v string }{
			{"X-Amz-Algorithm", a.Algorithm}, {"X-Amz-Credential", a.Credential}, {"X-Amz-Signature", a.Signature},
			{"X-Amz-SignedHeaders", a.SignedHeaders}, {"X-Amz-Date", stamp},
		} {
			if p.v == "" {
				msg.WriteString("AWS query-string parameters must include '" + p.name + "'. ")
			}
		}
		if msg.Len() > 0 {
			msg.WriteString("Re-examine the query-string parameters.")
			return errIncomplete(msg.String())
		}
		if a.Algorithm != Algorithm {
			return errUnsupportedAlgorithm(a.Algorithm)
		}
		return nil
	}
	for _, p := range [...]struct{ name, v string }{
		{"Credential", a.Credential}, {"Signature", a.Signature}, {"SignedHeaders", a.SignedHeaders},
	} {
		if p.v == "" {
			msg.WriteString("Authorization header requires '" + p.name + "' parameter. ")
		}
	}
	if stamp == "" {
		msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
	}
	if msg.Len() > 0 {
		msg.WriteString("Authorization=" + header)
		return errIncomplete(msg.String())
	}
	return nil
}

func hasHost(signed string) bool { return signs(signed, "host") }

// signs reports whether the signed headers include name.
func signs(signed, name string) bool {
	for h := range strings.SplitSeq(signed, ";") {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// scopeFaults writes, in AWS's words, what is wrong with a credential
// scope's date, service and terminator, for a request signed at t.
func (v *Verifier) scopeFaults(msg *strings.Builder, date, service, terminator string, t time.Time) {
	if service != v.Service {
		msg.WriteString("Credential should be scoped to correct service: '" + v.Service + "'. ")
	}
	if terminator != "aws4_request" {
		msg.WriteString("Credential should be scoped with a valid terminator: 'aws4_request', not '" + terminator + "'. ")
	}
	if day := t.Format("20060102"); date != day {
		msg.WriteString("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			date + "' != '" + day + "', from '" + t.Format(basic) + "'. ")
	}
}

// checkScopeV4a is checkScope for SigV4a's regionless credential,
// "<key id>/<date>/<service>/aws4_request".
func (v *Verifier) checkScopeV4a(cred string, t time.Time) (credentialScope, error) {
	parts := strings.Split(cred, "/")
	if len(parts) != 4 {
		return credentialScope{}, errCredentialShape(cred)
	}
	var msg strings.Builder
	v.scopeFaults(&msg, parts[1], parts[2], parts[3], t)
	if msg.Len() > 0 {
		return credentialScope{}, newError(CodeInvalidSignature, msg.String())
	}
	return credentialScope{keyID: parts[0], date: parts[1], service: parts[2], scope: cred[len(parts[0])+1:]}, nil
}

// parseStamp reads a SigV4 time: ISO 8601 basic format
// (20261206T000000Z), or, for the Date header, also HTTP's own format.
func parseStamp(s string, httpDate bool) (time.Time, bool) {
	if t, err := time.Parse(basic, s); err == nil && t.Format(basic) == s {
		return t, true
	}
	if httpDate {
		if t, err := http.ParseTime(s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseExpires reads X-Amz-Expires, in seconds. The messages are S3's, the
// one service that words these faults.
func parseExpires(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, errIncomplete("X-Amz-Expires should be a number")
	case n < 0:
		return 0, errIncomplete("X-Amz-Expires must be non-negative")
	case n > int64(MaxExpires/time.Second):
		return 0, errIncomplete("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds")
	}
	return time.Duration(n) * time.Second, nil
}

// credentialScope is a parsed X-Amz-Credential.
type credentialScope struct {
	keyID, date, region, service string
	scope                        string // date/region/service/aws4_request
}

// checkScope splits the credential and checks its scope against the
// server and the signing time, reporting every fault at once, as AWS does.
func (v *Verifier) checkScope(cred string, t time.Time) (credentialScope, error) {
	var parts [5]string
	rest := cred
	for i := range 4 {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, "/"); !ok {
			return credentialScope{}, errCredentialShape(cred)
		}
	}
	if strings.Contains(rest, "/") {
		return credentialScope{}, errCredentialShape(cred)
	}
	parts[4] = rest
	var msg strings.Builder
	region := parts[2]
	if valid := v.ValidRegion; (valid != nil && !valid(region)) || region == "" {
		msg.WriteString(RegionMessage(region))
	}
	v.scopeFaults(&msg, parts[1], parts[3], parts[4], t)
	if msg.Len() > 0 {
		return credentialScope{}, newError(CodeInvalidSignature, msg.String())
	}
	return credentialScope{keyID: parts[0], date: parts[1], region: region, service: parts[3],
		scope: cred[len(parts[0])+1:]}, nil
}

// unsignedPayload is the payload hash of a presigned URL whose body is not
// signed.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// payloadHash is the last line of the canonical request: the hex SHA-256
// of the body, which X-Amz-Content-Sha256 may state, and must then state
// truly; a presigned URL may say UNSIGNED-PAYLOAD instead. A stated hash
// that is not the body's is a signature that does not match, since AWS
// services other than S3 sign what they received.
func payloadHash(r *http.Request, a *Authorization, body []byte) (string, error) {
	stated := r.Header.Get("X-Amz-Content-Sha256")
	if stated == "" && a.Presigned {
		stated = a.ContentSHA256
	}
	if stated == unsignedPayload && a.Presigned {
		return stated, nil
	}
	sum := sha256.Sum256(body)
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	if stated == "" {
		return string(hx[:]), nil
	}
	if !strings.EqualFold(stated, string(hx[:])) {
		return "", errSignatureDiffer()
	}
	return stated, nil
}

// canonicalRequest builds SigV4's canonical request:
//
//	METHOD \n URI \n QUERY \n NAME:VALUE\n... \n SIGNED-HEADERS \n PAYLOAD-HASH
//
// The URI is the request's path, URI-encoded once more, as every AWS
// service but S3 signs it. The headers are those the client listed, in its
// order and spelling, each with its values trimmed, inner runs of spaces
// made one, and joined by commas.
func canonicalRequest(r *http.Request, params []queryParam, presigned bool, signed, payload string) (string, error) {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.Grow(256 + len(path) + len(r.URL.RawQuery) + len(signed) + len(payload))
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uriEncode(path, true))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(params, presigned))
	b.WriteByte('\n')
	for name := range strings.SplitSeq(signed, ";") {
		values, ok := headerValues(r, name)
		if !ok {
			return "", errHeaderNotPresent(name)
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			writeTrimmed(&b, v)
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signed)
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String(), nil
}

// headerValues returns a signed header's values as received. Go's server
// keeps Host apart from the other headers.
func headerValues(r *http.Request, name string) ([]string, bool) {
	if strings.EqualFold(name, "host") {
		return []string{r.Host}, r.Host != ""
	}
	vs := r.Header.Values(name)
	if len(vs) == 0 && strings.EqualFold(name, "content-length") && r.ContentLength >= 0 {
		return []string{strconv.FormatInt(r.ContentLength, 10)}, true
	}
	return vs, len(vs) > 0
}

// writeTrimmed writes v without leading and trailing blanks and with each
// inner run of spaces as one.
func writeTrimmed(b *strings.Builder, v string) {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
}

// signingKeys caches derived signing keys: a key is the same for every
// request of one day, region and service, and deriving it costs four
// HMACs. The secret is part of the cache key, so a key whose secret
// changes (a reloaded credentials file) is derived afresh.
type signingKeys struct {
	mu sync.Mutex
	m  map[signingKeyID][sha256.Size]byte
}

type signingKeyID struct{ secret, date, region, service string }

// maxSigningKeys bounds the cache; past it the cache starts over.
const maxSigningKeys = 4096

func (c *signingKeys) get(secret, date, region, service string) [sha256.Size]byte {
	id := signingKeyID{secret, date, region, service}
	c.mu.Lock()
	k, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = deriveKey(secret, date, region, service)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxSigningKeys {
		c.m = make(map[signingKeyID][sha256.Size]byte)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}

// deriveKey is SigV4's signing key: HMAC-SHA256 chained from "AWS4"+secret
// through the date, region, service and "aws4_request".
func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	var k [sha256.Size]byte
	sum := func(key []byte, data string) {
		var m hash.Hash = hmac.New(sha256.New, key)
		m.Write([]byte(data))
		m.Sum(k[:0])
	}
	sum([]byte("AWS4"+secret), date)
	sum(k[:], region)
	sum(k[:], service)
	sum(k[:], "aws4_request")
	return k
}
