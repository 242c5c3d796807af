package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/authz"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
)

// The caller's identity policies (a key's policies in the credentials
// file) are checked for each operation as IAM checks them: the action is
// events:<Operation>, the resource the ARN the operation acts on, as the
// Service Authorization Reference's "Actions, resources, and condition
// keys for Amazon EventBridge" lists them (event-bus, rule, archive,
// replay, connection, api-destination, endpoint), else "*". PutEvents is
// decided per entry where the events are stored (package ingest), with its
// condition keys. An account's root needs no policy.

// resourceNames are the members of a request that name what it acts on.
type resourceNames struct {
	Name, EventBusName, Rule, ResourceARN, ArchiveName, ReplayName, EventSourceArn *string
}

// resourceOf is the ARN the operation op with body acts on, or "*".
func resourceOf(v *control.View, sc control.Scope, op string, body []byte) string {
	var n resourceNames
	if json.Unmarshal(body, &n) != nil {
		return "*" // the operation's own decoding reports it
	}
	arn := func(kind, name string) string {
		return fmt.Sprintf("arn:%s:events:%s:%s:%s/%s", sc.Partition(), sc.Region, sc.Account, kind, name)
	}
	bus := func(p *string) string {
		if p == nil || *p == "" {
			return control.DefaultBus
		}
		if _, name, ok := control.ParseBusARN(*p); ok {
			return name // a partner bus's name holds slashes: all of it after event-bus/
		}
		return *p
	}
	switch op {
	case "CreateEventBus", "DescribeEventBus", "UpdateEventBus", "DeleteEventBus":
		if n.Name != nil && strings.HasPrefix(*n.Name, "arn:") {
			return *n.Name
		}
		return control.BusARN(sc, bus(n.Name))
	case "PutPermission", "RemovePermission":
		return control.BusARN(sc, bus(n.EventBusName))
	case "PutRule", "DescribeRule", "DeleteRule", "EnableRule", "DisableRule":
		if n.Name != nil {
			return control.RuleARN(busScope(sc, n.EventBusName), bus(n.EventBusName), *n.Name)
		}
	case "PutTargets", "RemoveTargets", "ListTargetsByRule":
		if n.Rule != nil {
			return control.RuleARN(busScope(sc, n.EventBusName), bus(n.EventBusName), *n.Rule)
		}
	case "TagResource", "UntagResource", "ListTagsForResource":
		if n.ResourceARN != nil {
			return *n.ResourceARN
		}
	case "CreateArchive", "DescribeArchive", "UpdateArchive", "DeleteArchive":
		if n.ArchiveName != nil {
			return arn("archive", *n.ArchiveName)
		}
	case "StartReplay", "DescribeReplay", "CancelReplay":
		if n.ReplayName != nil {
			return arn("replay", *n.ReplayName)
		}
	case "CreateConnection", "DescribeConnection", "UpdateConnection", "DeleteConnection", "DeauthorizeConnection":
		if n.Name != nil {
			// A connection's ARN ends in its UUID; before it exists the
			// name alone is what a policy can match (connection/name/*).
			if c, _ := v.Connection(sc, *n.Name); c != nil {
				return c.ARN()
			}
			return arn("connection", *n.Name)
		}
	case "CreateApiDestination", "DescribeApiDestination", "UpdateApiDestination", "DeleteApiDestination":
		if n.Name != nil {
			if d, _ := v.ApiDestination(sc, *n.Name); d != nil {
				return d.ARN()
			}
			return arn("api-destination", *n.Name)
		}
	case "CreateEndpoint", "DescribeEndpoint", "UpdateEndpoint", "DeleteEndpoint":
		if n.Name != nil {
			return arn("endpoint", *n.Name)
		}
	}
	return "*"
}

// busScope is the scope of the bus an EventBusName names: the caller's,
// or another account's (or region's) named by the bus's ARN, whose rules'
// ARNs are in that account (crossaccount.go).
func busScope(sc control.Scope, p *string) control.Scope {
	if p != nil {
		if bsc, _, ok := control.ParseBusARN(*p); ok {
			return bsc
		}
	}
	return sc
}

// authorize checks the caller's identity policies for op. It answers
// AWS's AccessDeniedException, whose message names the principal, the
// action and the resource.
func (h *Handler) authorize(ctx context.Context, sc control.Scope, op string, body []byte) error {
	p := authz.PrincipalFrom(ctx, sc.Account)
	if p.Policies == nil || op == "PutEvents" {
		return nil // an account's root; PutEvents is decided per entry
	}
	ok, msg := authz.Allowed(p, "events:"+op, resourceOf(h.control.View(), sc, op, body), nil)
	if !ok {
		return awserr.New("AccessDeniedException", "%s", msg)
	}
	return nil
}

// principal is the caller an identity stands for, for package authz.
func principal(id *auth.Identity) authz.Principal {
	arn := id.Principal
	if arn == "" {
		arn = "arn:aws:iam::" + id.Account + ":root"
	}
	return authz.Principal{ARN: arn, Account: id.Account, OrgID: id.OrgID, Policies: id.IAM}
}
