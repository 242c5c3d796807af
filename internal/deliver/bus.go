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

// busInvoker forwards the event to another event bus.
type busInvoker struct{ ingest *ingest.Service }

func (b busInvoker) Invoke(ctx context.Context, inv *Invocation) error {
	parts := strings.SplitN(inv.Target.Arn, ":", 6)
	target := control.Scope{Account: parts[4], Region: parts[3]}
	if target != inv.Scope {
		return Permanent("UnsupportedTarget", fmt.Errorf("cross-account and cross-region bus targets are not supported yet (%s)", inv.Target.Arn))
	}
	bus := strings.TrimPrefix(parts[5], "event-bus/")
	err := b.ingest.Forward(ctx, target, bus, inv.Input, inv.Ingested.UnixMilli(), "fwd|"+inv.ID)
	var ae *awserr.Error
	if errors.As(err, &ae) && ae.Code == awserr.CodeResourceNotFound {
		return Permanent("ResourceNotFoundException", err)
	}
	if err != nil {
		return Retryable("InternalError", err)
	}
	return nil
}
