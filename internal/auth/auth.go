// Package auth decides who an API request is from: with SigV4 (the
// default), a key from the credentials file, verified by package sigv4;
// with --auth none (dev mode), whatever the request's credential scope
// claims, unverified. The result, an Identity, travels with the request in
// its context for handlers and, later, policy evaluation to read.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/switchyard/switchyard/iampolicy"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/sigv4"
)

// DefaultRegion and DefaultAccount apply under --auth none when a request's
// credentials do not say otherwise.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "123456789012"
)

// Service is the SigV4 service name of EventBridge's credential scope.
const Service = "events"

// PeerService is the SigV4 service name of the calls Switchyard
// deployments make to one another (package peer): only keys with
// peer_regions may sign for it, and such keys for nothing else.
const PeerService = "switchyard-peer"

func peerOnly(e *Entry) string {
	if len(e.PeerRegions) > 0 {
		return "The key " + e.AccessKeyID + " is a peer deployment's (peer_regions) and may only sign " + PeerService + " calls."
	}
	return "The key " + e.AccessKeyID + " is not a peer deployment's key (peer_regions in the credentials file)."
}

// Identity is who a request is from.
type Identity struct {
	// Account is the 12-digit account the request acts in.
	Account string
	// Region is the region of the request's credential scope.
	Region string
	// Principal is the caller's ARN (arn:aws:iam::<account>:root unless
	// the credentials file names another).
	Principal string
	// AccessKeyID is the key the request was signed with ("" under
	// --auth none when the request names none).
	AccessKeyID string
	// Policies are the key's IAM policies as JSON, from the credentials
	// file; nil for none.
	Policies []json.RawMessage
	// IAM are Policies parsed; nil for none (the account's full
	// permissions).
	IAM []*iampolicy.Policy
	// OrgID is the organization of the key's account, if the file says.
	OrgID string
	// Verified is set when the signature was checked (--auth sigv4).
	Verified bool
	// Partner is the SaaS partner name the key acts as (credentials
	// file); "" for none.
	Partner string
	// PeerRegions are set for the key of a peer deployment (the
	// credentials file's peer_regions): the regions it serves.
	PeerRegions []string
}

// Scope is the account and region the request acts in.
func (id *Identity) Scope() control.Scope {
	return control.Scope{Account: id.Account, Region: id.Region}
}

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity NewContext put in ctx.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok
}

// Authenticator tells who a request is from, given its body as read. Its
// errors are *awserr.Error, AWS's answer to the fault.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (*Identity, error)
}

// Mode is the --auth setting.
type Mode string

const (
	ModeSigV4 Mode = "sigv4"
	ModeNone  Mode = "none"
)

// ParseMode reads --auth.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeSigV4, ModeNone:
		return m, nil
	}
	return "", fmt.Errorf(`--auth must be "sigv4" or "none", got %q`, s)
}

// None is --auth none: requests are not verified, and act in the account of
// a 12-digit access key id (else DefaultAccount) and the region of the
// credential scope (else DefaultRegion). A region that is not an AWS region
// name is refused with the InvalidSignatureException AWS answers for it.
type None struct{}

// credentialScope matches the SigV4 Authorization header's
// "Credential=<key>/<date>/<region>/<service>/aws4_request". The region is
// taken as whatever lies between the slashes, however long, so that it can
// be refused rather than silently replaced by the default.
var credentialScope = regexp.MustCompile(`Credential=([^/,\s]*)/([^/,\s]*)/([^/,\s]*)/`)

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

func (None) Authenticate(r *http.Request, _ []byte) (*Identity, error) {
	id := &Identity{Account: DefaultAccount, Region: DefaultRegion}
	authz := r.Header.Get("Authorization")
	if strings.HasPrefix(authz, sigV4a+" ") {
		return noneV4a(id, authz, r.Header.Get("X-Amz-Region-Set"))
	}
	if m := credentialScope.FindStringSubmatch(authz); m != nil {
		id.AccessKeyID = m[1]
		if accountID.MatchString(m[1]) {
			id.Account = m[1]
		}
		if !control.ValidRegion(m[3]) {
			return nil, awserr.New(sigv4.CodeInvalidSignature, "%s", sigv4.RegionMessage(m[3]))
		}
		id.Region = m[3]
	}
	id.Principal = "arn:aws:iam::" + id.Account + ":root"
	return id, nil
}

// sigV4a is the algorithm of a Signature Version 4A Authorization header,
// "AWS4-ECDSA-P256-SHA256 Credential=<key>/<date>/<service>/aws4_request,
// SignedHeaders=..., Signature=...": its credential scope has no region;
// the regions the signature is good for are in the signed header
// X-Amz-Region-Set. The SDKs sign PutEvents with an EndpointId this way,
// for every region ("*"): the EventBridge endpoint rule set gives the
// auth scheme sigv4a with signingRegionSet ["*"], also when the client has
// an endpoint URL of its own.
const sigV4a = "AWS4-ECDSA-P256-SHA256"

// noneV4a is None's reading of a SigV4a request: the account of its
// access key id, and the region its X-Amz-Region-Set names when that is
// one region; signed for every region ("*") or several, the default
// region (PutEvents with an EndpointId takes its region from the
// endpoint).
func noneV4a(id *Identity, authz, regionSet string) (*Identity, error) {
	// Credential=<key>/<date>/<service>/: the first group is the key.
	if m := credentialScope.FindStringSubmatch(authz); m != nil {
		id.AccessKeyID = m[1]
		if accountID.MatchString(m[1]) {
			id.Account = m[1]
		}
	}
	id.Principal = "arn:aws:iam::" + id.Account + ":root"
	set := strings.TrimSpace(regionSet)
	if set == "" || strings.ContainsAny(set, ",*") {
		return id, nil
	}
	if !control.ValidRegion(set) {
		return nil, awserr.New(sigv4.CodeInvalidSignature, "%s", sigv4.RegionMessage(set))
	}
	id.Region = set
	return id, nil
}

// SigV4 is --auth sigv4: a request must be signed, as AWS requires, with a
// key from the credentials file, and acts in that key's account.
type SigV4 struct {
	verifier sigv4.Verifier
	log      *slog.Logger
}

// NewSigV4 verifies requests against the keys of creds (a *Store, whose
// keys' Owner is their *Entry).
func NewSigV4(creds sigv4.Credentials, log *slog.Logger) *SigV4 {
	return &SigV4{verifier: sigv4.Verifier{Credentials: creds, Service: Service, ValidRegion: control.ValidRegion}, log: log}
}

// ForService returns an authenticator like a for requests to another AWS
// service on the same listener (Schemas, Scheduler, Pipes): their
// credential scope must name that service instead of EventBridge's.
func (a *SigV4) ForService(name string) Authenticator {
	return &SigV4{verifier: sigv4.Verifier{Credentials: a.verifier.Credentials, Service: name,
		ValidRegion: a.verifier.ValidRegion, Now: a.verifier.Now, MaxSkew: a.verifier.MaxSkew}, log: a.log}
}

// ForService returns an authenticator for requests to the AWS service name
// on the same listener as EventBridge: a's own kind, scoped to that
// service. None, which does not check the scope, is returned as it is.
func ForService(a Authenticator, name string) Authenticator {
	if s, ok := a.(interface {
		ForService(string) Authenticator
	}); ok {
		return s.ForService(name)
	}
	return a
}

func (a *SigV4) Authenticate(r *http.Request, body []byte) (*Identity, error) {
	v, err := a.verifier.Verify(r, body)
	if err != nil {
		var e *sigv4.Error
		if !errors.As(err, &e) {
			return nil, err
		}
		if a.log.Enabled(r.Context(), slog.LevelDebug) {
			canonical, toSign := e.Details()
			a.log.Debug("auth: request refused", "code", e.Code, "message", e.Message, "remote", r.RemoteAddr,
				"canonical_request", canonical, "string_to_sign", toSign)
		}
		return nil, &awserr.Error{Code: e.Code, Message: e.Message, Status: e.Status}
	}
	ent, ok := v.Key.Owner.(*Entry)
	if !ok {
		return nil, fmt.Errorf("auth: key %s has no credentials-file entry", v.Key.AccessKeyID)
	}
	region := v.Region
	if v.RegionSet != "" {
		// SigV4a: one region named is the request's; "*" or several
		// leave it to the request (PutEvents with an EndpointId takes the
		// endpoint's), the default region otherwise.
		region = DefaultRegion
		if set := strings.TrimSpace(v.RegionSet); !strings.ContainsAny(set, ",*") && control.ValidRegion(set) {
			region = set
		}
	}
	// A peer deployment's key acts as a peer only, and only a peer's key
	// may: it can store events in any account's buses (package peer).
	if (len(ent.PeerRegions) > 0) != (a.verifier.Service == PeerService) {
		return nil, awserr.New("AccessDeniedException", "%s", peerOnly(ent))
	}
	return &Identity{Account: ent.Account, Region: region, Principal: ent.Principal, AccessKeyID: ent.AccessKeyID,
		Policies: ent.Policies, IAM: ent.IAM, OrgID: ent.OrgID, Verified: true, Partner: ent.Partner, PeerRegions: ent.PeerRegions}, nil
}
