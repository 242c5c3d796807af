package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// busInvoker forwards the event to another event bus: of the rule's
// account and region, or of any other account and region this server
// holds. The bus must exist. Its resource policy is not consulted yet
// (permissions are a later feature): for now any account may send to any
// bus.
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
	err := b.ingest.Forward(ctx, target, bus, inv.Input, inv.Trace, inv.Ingested.UnixMilli(), "fwd|"+inv.ID)
	var ae *awserr.Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &ae):
		return Retryable("InternalError", err)
	case ae.Code == awserr.CodeResourceNotFound:
		return Permanent("ResourceNotFoundException", err)
	case ae.Code == awserr.CodeValidation:
		// The target's input is not an event: no retry can change that.
		return Permanent("InvalidEvent", err)
	}
	return Retryable("InternalError", err)
}
