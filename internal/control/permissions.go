package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/switchyard/switchyard/iampolicy"
	"github.com/switchyard/switchyard/internal/awserr"
)

// An event bus's resource policy says which other accounts (and
// organizations) may send events to it. PutPermission adds a statement to
// it, or with Policy replaces it; RemovePermission takes statements out;
// DescribeEventBus shows it. The policy is kept on the bus record as the
// JSON document DescribeEventBus returns.

// MaxPolicySize is AWS's limit on a bus's policy: "The permission policy
// on the event bus cannot exceed 10 KB in size" (PutPermission, API
// reference).
const MaxPolicySize = 10 << 10

// PermissionCondition is PutPermission's Condition: it limits a statement
// to the accounts of an AWS organization.
type PermissionCondition struct {
	Type  *string `v:"req"`
	Key   *string `v:"req"`
	Value *string `v:"req"`
}

// PermissionInput is PutPermission's request: a statement's parts, or a
// whole Policy.
type PermissionInput struct {
	EventBusName string
	Action       *string
	Principal    *string
	StatementID  *string
	Condition    *PermissionCondition
	Policy       *string
}

// policyDoc is a bus policy. Statements are kept as given (their members
// in their order); only Sid is read from them.
type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

var statementIDPattern = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// PutPermission grants another account, or every account of an
// organization, the right to send events to a bus: it adds the statement
// AWS makes of StatementId, Action, Principal and Condition (replacing one
// with the same Sid), or, given Policy, makes that document the bus's
// policy.
//
// The messages are AWS's, as moto (whose EventBridge follows AWS's
// answers) records them: "Parameter Principal must be specified.",
// "Provided value in parameter 'action' is not supported.", ...
func (s *Service) PutPermission(ctx context.Context, sc Scope, in PermissionInput) error {
	name := in.EventBusName
	if name == "" {
		name = DefaultBus
	}
	var stmt []byte
	var whole *policyDoc
	if in.Policy != nil {
		doc, err := parsePolicy([]byte(*in.Policy))
		if err != nil {
			return err
		}
		whole = doc
	} else {
		var err error
		if stmt, err = permissionStatement(sc, name, in); err != nil {
			return err
		}
	}
	return retry(ctx, func() error {
		b, err := s.bus(ctx, sc, name)
		if err != nil {
			return err
		}
		_, rev := s.view.Bus(sc, name)
		doc := whole
		if doc == nil {
			doc = &policyDoc{Version: "2012-10-17"}
			if b.Policy != "" {
				if doc, err = parsePolicy([]byte(b.Policy)); err != nil {
					return fmt.Errorf("bus %s: stored policy: %w", name, err)
				}
			}
			doc.put(stmt)
		}
		text, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		if len(text) > MaxPolicySize {
			return awserr.New("PolicyLengthExceededException", "Policy size would be larger than the maximum allowed.")
		}
		nb := *b
		nb.Policy = string(text)
		nb.LastModifiedTime = s.now().UTC()
		return s.write(ctx, busKeyName(sc, name), &nb, rev)
	})
}

// permissionStatement is the statement AWS makes of PutPermission's
// parameters: Allow, the account's root (or "*") as principal, the action,
// the bus as resource, and the organization condition.
func permissionStatement(sc Scope, bus string, in PermissionInput) ([]byte, error) {
	if in.Principal == nil {
		return nil, awserr.Validation("Parameter Principal must be specified.")
	}
	principal := *in.Principal
	if in.Condition != nil && principal != "*" {
		return nil, awserr.New("InvalidParameterValue", "Value of the parameter 'principal' must be '*' when the parameter 'condition' is set.")
	}
	if in.Condition == nil && !accountPattern.MatchString(principal) && principal != "*" {
		return nil, awserr.New("InvalidParameterValue",
			`Value %s at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: (\d{12}|\*)`, principal)
	}
	if in.Action == nil || *in.Action != "events:PutEvents" {
		return nil, awserr.Validation("Provided value in parameter 'action' is not supported.")
	}
	if in.StatementID == nil || !statementIDPattern.MatchString(*in.StatementID) {
		return nil, awserr.New("InvalidParameterValue", "StatementId must match ^[a-zA-Z0-9-_]{1,64}$")
	}
	var condition any
	if c := in.Condition; c != nil {
		// "Currently the only supported value is StringEquals", and the
		// only key aws:PrincipalOrgID (Condition, API reference).
		if *c.Type != "StringEquals" {
			return nil, awserr.Validation("Provided value in parameter 'condition.type' is not supported.")
		}
		if *c.Key != "aws:PrincipalOrgID" {
			return nil, awserr.Validation("Provided value in parameter 'condition.key' is not supported.")
		}
		condition = map[string]map[string]string{*c.Type: {*c.Key: *c.Value}}
	}
	var p any = "*"
	if principal != "*" {
		p = map[string]string{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", sc.Partition(), principal)}
	}
	return json.Marshal(struct {
		Sid       string
		Effect    string
		Principal any
		Action    string
		Resource  string
		Condition any `json:",omitempty"`
	}{*in.StatementID, "Allow", p, *in.Action, BusARN(sc, bus), condition})
}

// parsePolicy reads a policy document given to PutPermission, whose
// Statement may be one statement or a list.
func parsePolicy(text []byte) (*policyDoc, error) {
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(text, &raw); err != nil {
		return nil, awserr.Validation("This policy contains invalid Json")
	}
	// The policy language is IAM's: a statement the evaluator would not
	// understand is refused now, not ignored when events arrive.
	if _, err := iampolicy.Parse(text, iampolicy.Resource); err != nil {
		return nil, awserr.Validation("%v", err)
	}
	doc := &policyDoc{Version: raw.Version, ID: raw.ID}
	st := bytes.TrimSpace(raw.Statement)
	switch {
	case len(st) == 0 || bytes.Equal(st, []byte("null")):
		return nil, awserr.Validation("This policy contains invalid Json")
	case st[0] == '[':
		if err := json.Unmarshal(st, &doc.Statement); err != nil {
			return nil, awserr.Validation("This policy contains invalid Json")
		}
	default:
		doc.Statement = []json.RawMessage{st}
	}
	for _, s := range doc.Statement {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(s, &obj); err != nil {
			return nil, awserr.Validation("This policy contains invalid Json")
		}
	}
	if doc.Version == "" {
		doc.Version = "2012-10-17"
	}
	return doc, nil
}

// sid is a statement's Sid, or "".
func sid(stmt json.RawMessage) string {
	var s struct{ Sid string }
	_ = json.Unmarshal(stmt, &s)
	return s.Sid
}

// put adds stmt, in place of the statement with its Sid if there is one.
func (d *policyDoc) put(stmt []byte) {
	id := sid(stmt)
	for i, s := range d.Statement {
		if sid(s) == id {
			d.Statement[i] = stmt
			return
		}
	}
	d.Statement = append(d.Statement, stmt)
}

// RemovePermission takes the statement with the given Sid out of a bus's
// policy, or with all, the whole policy. AWS's messages, as moto records
// them: "EventBus does not have a policy.", "Statement with the provided
// id does not exist."
func (s *Service) RemovePermission(ctx context.Context, sc Scope, bus, statementID string, all bool) error {
	if bus == "" {
		bus = DefaultBus
	}
	return retry(ctx, func() error {
		b, err := s.bus(ctx, sc, bus)
		if err != nil {
			return err
		}
		_, rev := s.view.Bus(sc, bus)
		nb := *b
		switch {
		case all:
			if b.Policy == "" {
				return nil
			}
			nb.Policy = ""
		case b.Policy == "":
			return awserr.NotFound("EventBus does not have a policy.")
		default:
			doc, err := parsePolicy([]byte(b.Policy))
			if err != nil {
				return fmt.Errorf("bus %s: stored policy: %w", bus, err)
			}
			kept := doc.Statement[:0]
			found := false
			for _, st := range doc.Statement {
				if !found && statementID != "" && sid(st) == statementID {
					found = true
					continue
				}
				kept = append(kept, st)
			}
			if !found {
				return awserr.NotFound("Statement with the provided id does not exist.")
			}
			doc.Statement = kept
			if len(kept) == 0 {
				nb.Policy = ""
			} else {
				text, err := json.Marshal(doc)
				if err != nil {
					return err
				}
				nb.Policy = string(text)
			}
		}
		nb.LastModifiedTime = s.now().UTC()
		return s.write(ctx, busKeyName(sc, bus), &nb, rev)
	})
}
