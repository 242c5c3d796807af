package api

import (
	"context"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// Partner event sources: the SaaS partner's operations
// (CreatePartnerEventSource, PutPartnerEvents, DeletePartnerEventSource,
// DescribePartnerEventSource, ListPartnerEventSources,
// ListPartnerEventSourceAccounts) and the customer's (ListEventSources,
// DescribeEventSource, ActivateEventSource, DeactivateEventSource), over
// package control's partner sources (partners.go there).
//
// Who is a partner: under --auth sigv4, a key of the credentials file with
// "partner: <name>", which acts on the sources aws.partner/<name>/...
// only; any other key is refused with AccessDeniedException. Under --auth
// none, any caller is a partner, of whatever name its sources say.

func (h *Handler) partnerOperations() map[string]func(context.Context, control.Scope, []byte) (any, error) {
	return map[string]func(context.Context, control.Scope, []byte) (any, error){
		"CreatePartnerEventSource":       handle(h.createPartnerEventSource),
		"DeletePartnerEventSource":       handle(h.deletePartnerEventSource),
		"DescribePartnerEventSource":     handle(h.describePartnerEventSource),
		"ListPartnerEventSources":        handle(h.listPartnerEventSources),
		"ListPartnerEventSourceAccounts": handle(h.listPartnerEventSourceAccounts),
		"PutPartnerEvents":               handle(h.putPartnerEvents),
		"ListEventSources":               handle(h.listEventSources),
		"DescribeEventSource":            handle(h.describeEventSource),
		"ActivateEventSource":            handle(h.activateEventSource),
		"DeactivateEventSource":          handle(h.deactivateEventSource),
	}
}

// partnerOf returns the partner the request acts as, or AWS's
// AccessDeniedException for a caller that is not one.
func partnerOf(ctx context.Context, sc control.Scope, op string) (control.Partner, error) {
	p := control.Partner{Scope: sc}
	id, ok := auth.FromContext(ctx)
	if !ok || !id.Verified {
		return p, nil // --auth none: any partner
	}
	if id.Partner == "" {
		return p, awserr.New("AccessDeniedException", "User: %s is not authorized to perform: events:%s because it is not a registered event source partner.", id.Principal, op)
	}
	p.Name = id.Partner
	return p, nil
}

type partnerSourceIn struct {
	Name    *string `v:"req,len=1:256,re=eventSourceName"`
	Account *string `v:"req,len=12:12,re=accountId"`
}

func (h *Handler) createPartnerEventSource(ctx context.Context, sc control.Scope, in *partnerSourceIn) (any, error) {
	p, err := partnerOf(ctx, sc, "CreatePartnerEventSource")
	if err != nil {
		return nil, err
	}
	src, err := h.control.CreatePartnerEventSource(ctx, p, *in.Name, *in.Account)
	if err != nil {
		return nil, err
	}
	return struct{ EventSourceArn string }{src.ARN()}, nil
}

func (h *Handler) deletePartnerEventSource(ctx context.Context, sc control.Scope, in *partnerSourceIn) (any, error) {
	p, err := partnerOf(ctx, sc, "DeletePartnerEventSource")
	if err != nil {
		return nil, err
	}
	return nil, h.control.DeletePartnerEventSource(ctx, p, *in.Name, *in.Account)
}

type sourceNameIn struct {
	Name *string `v:"req,len=1:256,re=eventSourceName"`
}

func (h *Handler) describePartnerEventSource(ctx context.Context, sc control.Scope, in *sourceNameIn) (any, error) {
	p, err := partnerOf(ctx, sc, "DescribePartnerEventSource")
	if err != nil {
		return nil, err
	}
	src, err := h.control.DescribePartnerEventSource(ctx, p, *in.Name)
	if err != nil {
		return nil, err
	}
	return partnerSourceOut{Arn: src.ARN(), Name: src.Name}, nil
}

type partnerSourceOut struct {
	Arn  string
	Name string
}

type listPartnerSourcesIn struct {
	NamePrefix *string `v:"req,len=1:256,re=partnerSourcePrefix"`
	NextToken  *string `v:"len=1:2048"`
	Limit      *int32  `v:"range=1:100"`
}

func (h *Handler) listPartnerEventSources(ctx context.Context, sc control.Scope, in *listPartnerSourcesIn) (any, error) {
	p, err := partnerOf(ctx, sc, "ListPartnerEventSources")
	if err != nil {
		return nil, err
	}
	srcs, next, err := h.control.ListPartnerEventSources(ctx, p, *in.NamePrefix, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		PartnerEventSources []partnerSourceOut
		NextToken           *string `json:",omitempty"`
	}{each(srcs, func(s *control.PartnerSource) partnerSourceOut { return partnerSourceOut{Arn: s.ARN(), Name: s.Name} }), next}, nil
}

type listSourceAccountsIn struct {
	EventSourceName *string `v:"req,len=1:256,re=eventSourceName"`
	NextToken       *string `v:"len=1:2048"`
	Limit           *int32  `v:"range=1:100"`
}

type sourceAccountOut struct {
	Account        string
	CreationTime   epoch
	ExpirationTime epoch `json:",omitempty"`
	State          string
}

func (h *Handler) listPartnerEventSourceAccounts(ctx context.Context, sc control.Scope, in *listSourceAccountsIn) (any, error) {
	p, err := partnerOf(ctx, sc, "ListPartnerEventSourceAccounts")
	if err != nil {
		return nil, err
	}
	srcs, next, err := h.control.ListPartnerEventSourceAccounts(ctx, p, *in.EventSourceName, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	view := h.control.View()
	return struct {
		PartnerEventSourceAccounts []sourceAccountOut
		NextToken                  *string `json:",omitempty"`
	}{each(srcs, func(s *control.PartnerSource) sourceAccountOut {
		st, _ := view.SourceState(s)
		o := sourceAccountOut{Account: s.Account, CreationTime: toEpoch(s.CreationTime), State: st}
		if st == control.SourcePending {
			o.ExpirationTime = toEpoch(s.ExpirationTime())
		}
		return o
	}), next}, nil
}

type putPartnerEventsEntryIn struct {
	Time       *epoch
	Source     *string `v:"len=1:256,re=eventSourceName"`
	Resources  []string
	DetailType *string
	Detail     *string
}

type putPartnerEventsIn struct {
	Entries []putPartnerEventsEntryIn `v:"req,len=1:20"`
}

func (h *Handler) putPartnerEvents(ctx context.Context, sc control.Scope, in *putPartnerEventsIn) (any, error) {
	p, err := partnerOf(ctx, sc, "PutPartnerEvents")
	if err != nil {
		return nil, err
	}
	entries := make([]ingest.Entry, len(in.Entries))
	for i, e := range in.Entries {
		entries[i] = ingest.Entry{Source: e.Source, Resources: e.Resources, DetailType: e.DetailType, Detail: e.Detail}
		if e.Time != nil {
			t := e.Time.time()
			entries[i].Time = &t
		}
	}
	results, err := h.ingest.PutPartnerEvents(ctx, p, entries)
	if err != nil {
		return nil, err
	}
	failed := 0
	for _, r := range results {
		if r.ErrorCode != "" {
			failed++
		}
	}
	return struct {
		FailedEntryCount int
		Entries          []ingest.Result
	}{failed, results}, nil
}

type listEventSourcesIn struct {
	NamePrefix *string `v:"len=1:256,re=eventSourcePrefix"`
	NextToken  *string `v:"len=1:2048"`
	Limit      *int32  `v:"range=1:100"`
}

type eventSourceOut struct {
	Arn            string
	CreatedBy      string
	CreationTime   epoch
	ExpirationTime epoch `json:",omitempty"`
	Name           string
	State          string
}

func (h *Handler) eventSourceOut(s *control.PartnerSource) eventSourceOut {
	st, _ := h.control.View().SourceState(s)
	o := eventSourceOut{Arn: s.ARN(), CreatedBy: s.PartnerName, CreationTime: toEpoch(s.CreationTime), Name: s.Name, State: st}
	if st == control.SourcePending {
		o.ExpirationTime = toEpoch(s.ExpirationTime())
	}
	return o
}

func (h *Handler) listEventSources(ctx context.Context, sc control.Scope, in *listEventSourcesIn) (any, error) {
	srcs, next, err := h.control.ListEventSources(ctx, sc, deref(in.NamePrefix), in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		EventSources []eventSourceOut
		NextToken    *string `json:",omitempty"`
	}{each(srcs, h.eventSourceOut), next}, nil
}

func (h *Handler) describeEventSource(ctx context.Context, sc control.Scope, in *sourceNameIn) (any, error) {
	src, err := h.control.EventSource(ctx, sc, *in.Name)
	if err != nil {
		return nil, err
	}
	return h.eventSourceOut(src), nil
}

func (h *Handler) activateEventSource(ctx context.Context, sc control.Scope, in *sourceNameIn) (any, error) {
	return nil, h.control.ActivateEventSource(ctx, sc, *in.Name, true)
}

func (h *Handler) deactivateEventSource(ctx context.Context, sc control.Scope, in *sourceNameIn) (any, error) {
	return nil, h.control.ActivateEventSource(ctx, sc, *in.Name, false)
}

// The model's patterns of the partner operations' members
// (PartnerEventSourceNamePrefix, EventSourceNamePrefix, AccountId).
func init() {
	for name, p := range map[string]string{
		"partnerSourcePrefix": `aws\.partner/[\.\-_A-Za-z0-9]+/[/\.\-_A-Za-z0-9]*`,
		"eventSourcePrefix":   `[/\.\-_A-Za-z0-9]+`,
		"accountId":           `\d{12}`,
	} {
		patterns[name] = p
	}
}
