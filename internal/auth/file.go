package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchyard/switchyard/iampolicy"
	"github.com/switchyard/switchyard/internal/control"
)

// The credentials file (YAML) names the access keys that may sign
// requests:
//
//	keys:
//	  - access_key_id: AKIAIOSFODNN7EXAMPLE
//	    secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
//	    account: "111122223333"
//	    principal: alice                    # or an ARN; default arn:aws:iam::111122223333:root
//	    organization: o-a1b2c3d4e5          # optional: aws:PrincipalOrgID in bus policies
//	    partner: example.com                # optional: may act as this SaaS partner (partner event sources)
//	    session_token: FwoGZXIvYXdzE...     # optional: then required with every request
//	    expiration: 2026-12-31T00:00:00Z    # optional: ExpiredTokenException afterwards
//	    policies:                           # optional, IAM policy documents or statements
//	      - Version: "2012-10-17"
//	        Statement:
//	          - {Effect: Allow, Action: "events:*", Resource: "*"}
//	      - '{"Effect": "Deny", "Action": "events:DeleteEventBus", "Resource": "*"}'
//	    peer_regions: [us-east-1]           # optional: the key of the deployment serving these regions (see below)
//
// A key with peer_regions is the key another Switchyard deployment, the
// one serving those regions (its --region-peer-key-file), signs its calls
// to this one with: it may hand this deployment the events of global
// endpoints that join one of its regions to a region served here, with
// their own account, id, time and source (package peer). No other key
// may, whatever its policies; a peer key acts only as a peer.
type fileFormat struct {
	Keys []fileKey `yaml:"keys"`
}

type fileKey struct {
	AccessKeyID     string      `yaml:"access_key_id"`
	SecretAccessKey string      `yaml:"secret_access_key"`
	Account         scalar      `yaml:"account"`
	Principal       string      `yaml:"principal"`
	SessionToken    string      `yaml:"session_token"`
	Expiration      scalar      `yaml:"expiration"`
	Policies        []yaml.Node `yaml:"policies"`
	Organization    string      `yaml:"organization"`
	Partner         string      `yaml:"partner"`
	PeerRegions     []string    `yaml:"peer_regions"`
}

// scalar is a YAML scalar as written: an account id 012345678901 must not
// become the number 12345678901, nor a time be read in the YAML library's
// own way.
type scalar string

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a single value", n.Line)
	}
	*s = scalar(n.Value)
	return nil
}

// Entry is one access key of the credentials file, checked.
type Entry struct {
	AccessKeyID     string
	SecretAccessKey string
	Account         string
	// Principal is the key's principal ARN.
	Principal    string
	SessionToken string
	Expiration   time.Time
	// Policies are the key's IAM policies, each as JSON, as written.
	Policies []json.RawMessage
	// IAM are Policies parsed (package iampolicy). A key without policies
	// has none, and acts with its account's full permissions.
	IAM []*iampolicy.Policy
	// OrgID is the AWS organization of the key's account, if given.
	OrgID string
	// Partner is the SaaS partner name the key acts as, if any: it may
	// create, delete and send to the partner event sources named
	// aws.partner/<Partner>/... (CreatePartnerEventSource,
	// PutPartnerEvents, ...). A key without one may not.
	Partner string
	// PeerRegions, if any, make the key a peer deployment's: the regions
	// that deployment serves.
	PeerRegions []string
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	// keyIDRE is what an access key id may hold: AWS's are 16 to 128
	// word characters; anything that cannot stand in a credential scope
	// ("/", blanks, commas) is refused.
	keyIDRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]{3,128}$`)
	// principalNameRE is an IAM user name.
	principalNameRE = regexp.MustCompile(`^[\w+=,.@\-]{1,64}$`)
)

// ParseFile reads a credentials file's content. Every fault is an error
// naming the key it is in; an unknown field is one too, so that a typo
// ("secret_acess_key") does not leave a key without its secret.
func ParseFile(data []byte) ([]Entry, error) {
	var f fileFormat
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file (no document at all) is one without keys.
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	entries := make([]Entry, 0, len(f.Keys))
	seen := make(map[string]int, len(f.Keys))
	for i, k := range f.Keys {
		e, err := k.entry()
		if err != nil {
			name := fmt.Sprintf("keys[%d]", i)
			if k.AccessKeyID != "" {
				name += " (" + k.AccessKeyID + ")"
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if j, dup := seen[e.AccessKeyID]; dup {
			return nil, fmt.Errorf("keys[%d]: access_key_id %s is also keys[%d]'s", i, e.AccessKeyID, j)
		}
		seen[e.AccessKeyID] = i
		entries = append(entries, e)
	}
	return entries, nil
}

func (k fileKey) entry() (Entry, error) {
	e := Entry{
		AccessKeyID:     k.AccessKeyID,
		SecretAccessKey: k.SecretAccessKey,
		Account:         string(k.Account),
		SessionToken:    k.SessionToken,
	}
	switch {
	case e.AccessKeyID == "":
		return e, errors.New("access_key_id is required")
	case !keyIDRE.MatchString(e.AccessKeyID):
		return e, fmt.Errorf("access_key_id %q may hold only letters, digits, '_', '.' and '-' (3 to 128 of them)", e.AccessKeyID)
	case e.SecretAccessKey == "":
		return e, errors.New("secret_access_key is required")
	case e.Account == "":
		return e, errors.New("account is required (12 digits)")
	case !accountRE.MatchString(e.Account):
		return e, fmt.Errorf("account %q must be 12 digits (quote it if it starts with 0)", e.Account)
	case strings.ContainsAny(e.SessionToken, "\r\n"):
		return e, errors.New("session_token must be one line")
	}
	switch p := k.Principal; {
	case p == "":
		e.Principal = "arn:aws:iam::" + e.Account + ":root"
	case strings.HasPrefix(p, "arn:"):
		parts := strings.SplitN(p, ":", 6)
		if len(parts) != 6 || parts[1] == "" || parts[2] == "" || parts[5] == "" {
			return e, fmt.Errorf("principal %q is not an ARN (arn:partition:service:region:account:resource)", p)
		}
		e.Principal = p
	case principalNameRE.MatchString(p):
		e.Principal = "arn:aws:iam::" + e.Account + ":user/" + p
	default:
		return e, fmt.Errorf("principal %q is neither an ARN nor an IAM user name", p)
	}
	if k.Expiration != "" {
		t, err := time.Parse(time.RFC3339, string(k.Expiration))
		if err != nil {
			return e, fmt.Errorf("expiration %q must be an RFC 3339 time, such as 2026-12-31T00:00:00Z", k.Expiration)
		}
		e.Expiration = t
	}
	for i := range k.Policies {
		p, err := policyJSON(&k.Policies[i])
		if err != nil {
			return e, fmt.Errorf("policies[%d]: %w", i, err)
		}
		e.Policies = append(e.Policies, p)
		pol, err := parseIdentityPolicy(p)
		if err != nil {
			return e, fmt.Errorf("policies[%d]: %w", i, err)
		}
		e.IAM = append(e.IAM, pol)
	}
	if o := k.Organization; o != "" {
		if !orgRE.MatchString(o) {
			return e, fmt.Errorf("organization %q is not an AWS organization id (o- and 10 to 32 lower-case letters or digits)", o)
		}
		e.OrgID = o
	}
	if p := k.Partner; p != "" {
		if !partnerRE.MatchString(p) {
			return e, fmt.Errorf("partner %q may hold only letters, digits, '.', '-' and '_' (the partner_name of aws.partner/partner_name/...)", p)
		}
		e.Partner = p
	}
	for _, r := range k.PeerRegions {
		if !control.ValidRegion(r) {
			return e, fmt.Errorf("peer_regions: %q is not a region name", r)
		}
		e.PeerRegions = append(e.PeerRegions, r)
	}
	return e, nil
}

// partnerRE is a partner name as the EventSourceName pattern
// aws\.partner(/[\.\-_A-Za-z0-9]+){2,} allows it (EventBridge API model).
var partnerRE = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

// orgRE is an AWS organization id (Organizations API reference).
var orgRE = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)

// parseIdentityPolicy parses a policy document, or a lone statement,
// which it takes as the document holding only it.
func parseIdentityPolicy(doc json.RawMessage) (*iampolicy.Policy, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	if _, ok := top["Statement"]; !ok {
		doc = json.RawMessage(`{"Version":"2012-10-17","Statement":[` + string(doc) + `]}`)
	}
	return iampolicy.Parse(doc, iampolicy.Identity)
}

// policyJSON turns a policy written as YAML, or as a string of JSON, into
// JSON. It must be an object; what it says is not checked here.
func policyJSON(n *yaml.Node) (json.RawMessage, error) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Style != 0) {
		s := strings.TrimSpace(n.Value)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			return nil, fmt.Errorf("line %d: a policy given as a string must be a JSON object: %w", n.Line, err)
		}
		return json.RawMessage(s), nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: a policy must be a mapping (or a string of JSON)", n.Line)
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("line %d: not expressible as JSON: %w", n.Line, err)
	}
	return b, nil
}
