package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/authz"
	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// busInvoker forwards the event to another event bus: of the rule's
// account and region, or of any other account and region this server
// holds. The bus must exist; another account's bus must allow the sender
// in its policy (PutPermission): the rule's account, or, when the target
// has a RoleArn, that role, as EventBridge sends as the role. A refusal is
// final: the event goes to the target's dead-letter queue. The event keeps
// its account, the original sender's ("Sending and receiving events
// between AWS accounts").
type busInvoker struct{ ingest *ingest.Service }

func (b busInvoker) Invoke(ctx context.Context, inv *Invocation) error {
	parts := strings.SplitN(inv.Target.Arn, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "event-bus/") {
		return Permanent("InvalidTarget", fmt.Errorf("not an event bus ARN: %s", inv.Target.Arn))
	}
	target := control.Scope{Account: parts[4], Region: parts[3]}
	if target.Account == "" {
		target.Account = inv.Scope.Account
	}
	if target.Region == "" {
		target.Region = inv.Scope.Region
	}
	bus := strings.TrimPrefix(parts[5], "event-bus/")
	sender := authz.Root(inv.Scope.Account)
	if role := inv.Target.RoleArn; role != nil && *role != "" {
		if p, ok := authz.RoleSession(*role, awsclient.SessionName); ok {
			sender = p
		}
	}
	err := b.ingest.Forward(ctx, sender, target, bus, inv.Input, inv.Trace, inv.Ingested.UnixMilli(), "fwd|"+inv.ID)
	var ae *awserr.Error
	if code, dead := busenc.DeadLetterCode(err); err != nil && dead {
		// The target bus's key cannot encrypt: someone must act on it.
		return Permanent(code, err)
	}
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &ae):
		return Retryable("InternalError", err)
	case ae.Code == awserr.CodeResourceNotFound:
		return Permanent("ResourceNotFoundException", err)
	case ae.Code == "AccessDeniedException":
		return Permanent("AccessDeniedException", err)
	case ae.Code == awserr.CodeValidation:
		// The target's input is not an event: no retry can change that.
		return Permanent("InvalidEvent", err)
	}
	return Retryable("InternalError", err)
}
