package control

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/store"
)

// Partner event sources ("Receiving events from a SaaS partner with Amazon
// EventBridge", EventBridge User Guide; CreatePartnerEventSource in the API
// Reference). A SaaS partner offers a source, named
// aws.partner/<partner>/<namespace>/<name>, to one customer account in its
// own region; the customer sees it (ListEventSources), and creates a
// partner event bus of the same name with CreateEventBus's EventSourceName
// to receive what the partner sends with PutPartnerEvents.
//
// A source is one record per customer account and region
// (psrc.<account>.<region>.<name>), so it lives in the customer's scope
// like every other resource, and the partner's operations read the records
// its own account created. The state AWS reports is derived rather than
// stored, so that it can never disagree with the bus it describes:
//
//   - ACTIVE: the customer has the matching bus and has not deactivated it;
//   - PENDING: no matching bus yet, or DeactivateEventSource;
//   - DELETED: the partner deleted the source while the bus exists. Once
//     that bus is deleted too, the source is gone.

// Partner event source states (EventSourceState in the API model).
const (
	SourcePending = "PENDING"
	SourceActive  = "ACTIVE"
	SourceDeleted = "DELETED"
)

// PartnerSourcePrefix starts the name of every partner event source, and of
// the partner event buses that receive from them.
const PartnerSourcePrefix = "aws.partner/"

// SourcePendingExpiry is how long a source may stay PENDING before AWS
// deletes it ("If it remains in PENDING state for more than two weeks, it
// is deleted", DeactivateEventSource, EventBridge API Reference): the
// ExpirationTime Switchyard reports. Switchyard reports it but does not
// delete expired sources.
const SourcePendingExpiry = 14 * 24 * time.Hour

const partnerSourcePrefix = "psrc"

// PartnerSource is a partner event source offered to one account.
type PartnerSource struct {
	// Scope is the customer's account and the region the partner created
	// the source in.
	Scope
	Name string
	// PartnerAccount created the source; PartnerName is the partner's
	// registered name (the source name's second part), AWS's CreatedBy.
	PartnerAccount string
	PartnerName    string
	CreationTime   time.Time
	// Deactivated is set by DeactivateEventSource, cleared by
	// ActivateEventSource.
	Deactivated bool `json:",omitempty"`
	// Deleted is set by DeletePartnerEventSource while the customer's bus
	// exists.
	Deleted bool `json:",omitempty"`
}

// ARN is the source's ARN, which names no account
// (arn:aws:events:<region>::event-source/<name>: the event-source resource
// type of "Actions, resources, and condition keys for Amazon EventBridge",
// Service Authorization Reference).
func (p *PartnerSource) ARN() string {
	return fmt.Sprintf("arn:%s:events:%s::event-source/%s", p.Partition(), p.Region, p.Name)
}

// ExpirationTime is when a source left PENDING would expire.
func (p *PartnerSource) ExpirationTime() time.Time { return p.CreationTime.Add(SourcePendingExpiry) }

// PartnerOf returns the partner name of a partner event source name
// (aws.partner/<partner>/...), ok false if name is not one.
func PartnerOf(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, PartnerSourcePrefix)
	if !ok {
		return "", false
	}
	partner, _, ok := strings.Cut(rest, "/")
	return partner, ok && partner != ""
}

func partnerSourceKey(sc Scope, name string) string {
	return partnerSourcePrefix + "." + sc.Account + "." + sc.Region + "." + store.Token(name)
}

// applyPartnerSource applies a psrc record; v.mu is held.
func (v *View) applyPartnerSource(parts []string, e jetstream.KeyValueEntry, deleted bool) {
	applyRecord(v, &v.psources, "partner event source", nameKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}, e, deleted)
}

// PartnerSource returns the source name offered to scope s, or nil.
func (v *View) PartnerSource(s Scope, name string) (*PartnerSource, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.psources[nameKey{s, name}].get()
}

// PartnerSources returns the sources that ok accepts, by name, then
// account.
func (v *View) PartnerSources(ok func(*PartnerSource) bool) []*PartnerSource {
	v.mu.RLock()
	var out []*PartnerSource
	for _, r := range v.psources {
		if ok(r.val) {
			out = append(out, r.val)
		}
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Account < out[j].Account
	})
	return out
}

// SourceState is the state AWS reports for p (see the package comment
// above): derived from the record and the customer's matching bus. gone is
// set for a deleted source whose bus is gone too, which no longer exists.
func (v *View) SourceState(p *PartnerSource) (state string, gone bool) {
	b, _ := v.Bus(p.Scope, p.Name)
	switch {
	case p.Deleted && b == nil:
		return SourceDeleted, true
	case p.Deleted:
		return SourceDeleted, false
	case b != nil && !p.Deactivated:
		return SourceActive, false
	}
	return SourcePending, false
}

func sourceNotFound(name string) error {
	return awserr.NotFound("Event source %s does not exist.", name)
}

// Partner is who acts on the partner side: the partner's account and
// region, and the partner name it is registered under ("" lets the name of
// each source say it, as under --auth none).
type Partner struct {
	Scope
	Name string
}

// may reports whether partner p may act on the source named name.
func (p Partner) may(name string) bool {
	partner, ok := PartnerOf(name)
	return ok && (p.Name == "" || p.Name == partner)
}

// notPartnerOf is the refusal of a partner acting on another's source.
func notPartnerOf(p Partner, name string) error {
	return awserr.New("AccessDeniedException", "Partner %s is not authorized to act on event source %s.", p.Name, name)
}

// CreatePartnerEventSource offers the source name to account, in the
// partner's region. The source starts PENDING (ACTIVE at once if the
// account already has the matching bus, as after a deletion and a new
// offer).
func (s *Service) CreatePartnerEventSource(ctx context.Context, p Partner, name, account string) (*PartnerSource, error) {
	if !p.may(name) {
		return nil, notPartnerOf(p, name)
	}
	partner, _ := PartnerOf(name)
	sc := Scope{Account: account, Region: p.Region}
	exists := awserr.New(awserr.CodeResourceAlreadyExists, "Event source %s already exists.", name)
	var out *PartnerSource
	err := retry(ctx, func() error {
		old, rev := s.view.PartnerSource(sc, name)
		if old != nil {
			if _, gone := s.view.SourceState(old); !gone && !old.Deleted {
				return exists
			}
		}
		src := &PartnerSource{Scope: sc, Name: name, PartnerAccount: p.Account, PartnerName: partner, CreationTime: s.now().UTC()}
		out = src
		return s.write(ctx, partnerSourceKey(sc, name), src, rev)
	})
	return out, err
}

// DeletePartnerEventSource withdraws the source offered to account. While
// the account has the matching bus, the source stays, DELETED; otherwise it
// is gone. Deleting a source that does not exist succeeds, as the API
// model gives the operation no not-found error.
func (s *Service) DeletePartnerEventSource(ctx context.Context, p Partner, name, account string) error {
	if !p.may(name) {
		return notPartnerOf(p, name)
	}
	sc := Scope{Account: account, Region: p.Region}
	return retry(ctx, func() error {
		old, rev := s.view.PartnerSource(sc, name)
		if old == nil || (p.Name != "" && old.PartnerAccount != p.Account) {
			return nil
		}
		if b, _ := s.view.Bus(sc, name); b == nil {
			return s.remove(ctx, partnerSourceKey(sc, name), rev)
		}
		if old.Deleted {
			return nil
		}
		nsrc := *old
		nsrc.Deleted = true
		return s.write(ctx, partnerSourceKey(sc, name), &nsrc, rev)
	})
}

// partnerSources returns the live sources partner p created in its region
// whose names ok accepts.
func (s *Service) partnerSources(p Partner, ok func(name string) bool) []*PartnerSource {
	return s.view.PartnerSources(func(src *PartnerSource) bool {
		if src.Region != p.Region || !p.may(src.Name) || (p.Name != "" && src.PartnerAccount != p.Account) || !ok(src.Name) {
			return false
		}
		_, gone := s.view.SourceState(src)
		return !gone
	})
}

// DescribePartnerEventSource returns a source partner p created, offered to
// any account.
func (s *Service) DescribePartnerEventSource(ctx context.Context, p Partner, name string) (*PartnerSource, error) {
	if !p.may(name) {
		return nil, notPartnerOf(p, name)
	}
	srcs := s.partnerSources(p, func(n string) bool { return n == name })
	if len(srcs) == 0 {
		return nil, sourceNotFound(name)
	}
	return srcs[0], nil
}

// ListPartnerEventSources lists the names of the sources partner p created
// that start with prefix, once each however many accounts they are offered
// to.
func (s *Service) ListPartnerEventSources(ctx context.Context, p Partner, prefix string, limit *int32, token *string) ([]*PartnerSource, *string, error) {
	if !p.may(prefix) {
		return nil, nil, notPartnerOf(p, prefix)
	}
	var names []*PartnerSource
	for _, src := range s.partnerSources(p, func(n string) bool { return strings.HasPrefix(n, prefix) }) {
		if len(names) == 0 || names[len(names)-1].Name != src.Name {
			names = append(names, src)
		}
	}
	return page(names, func(src *PartnerSource) string { return src.Name }, prefix, limit, token)
}

// ListPartnerEventSourceAccounts lists the accounts the source is offered
// to.
func (s *Service) ListPartnerEventSourceAccounts(ctx context.Context, p Partner, name string, limit *int32, token *string) ([]*PartnerSource, *string, error) {
	if !p.may(name) {
		return nil, nil, notPartnerOf(p, name)
	}
	srcs := s.partnerSources(p, func(n string) bool { return n == name })
	if len(srcs) == 0 {
		return nil, nil, sourceNotFound(name)
	}
	return page(srcs, func(src *PartnerSource) string { return src.Account }, "", limit, token)
}

// EventSource returns the source name offered to scope sc.
func (s *Service) EventSource(ctx context.Context, sc Scope, name string) (*PartnerSource, error) {
	src, _ := s.view.PartnerSource(sc, name)
	if src == nil {
		return nil, sourceNotFound(name)
	}
	if _, gone := s.view.SourceState(src); gone {
		return nil, sourceNotFound(name)
	}
	return src, nil
}

// ListEventSources lists the sources offered to scope sc whose names start
// with prefix.
func (s *Service) ListEventSources(ctx context.Context, sc Scope, prefix string, limit *int32, token *string) ([]*PartnerSource, *string, error) {
	srcs := s.view.PartnerSources(func(src *PartnerSource) bool {
		if src.Scope != sc {
			return false
		}
		_, gone := s.view.SourceState(src)
		return !gone
	})
	return page(srcs, func(src *PartnerSource) string { return src.Name }, prefix, limit, token)
}

// ActivateEventSource resumes a deactivated source; DeactivateEventSource
// (activate false) stops the source's events reaching the customer's bus,
// which stays. A DELETED source can do neither (InvalidStateException).
func (s *Service) ActivateEventSource(ctx context.Context, sc Scope, name string, activate bool) error {
	return retry(ctx, func() error {
		src, rev := s.view.PartnerSource(sc, name)
		if src == nil {
			return sourceNotFound(name)
		}
		if st, gone := s.view.SourceState(src); gone {
			return sourceNotFound(name)
		} else if st == SourceDeleted {
			return awserr.New(awserr.CodeInvalidState, "Event source %s is in state %s.", name, st)
		}
		if src.Deactivated == !activate {
			return nil
		}
		nsrc := *src
		nsrc.Deactivated = !activate
		return s.write(ctx, partnerSourceKey(sc, name), &nsrc, rev)
	})
}

// ActiveSources returns, for PutPartnerEvents, the ACTIVE sources named
// name that partner p created in its region: the customers' buses its
// events go to.
func (s *Service) ActiveSources(p Partner, name string) []*PartnerSource {
	return s.view.PartnerSources(func(src *PartnerSource) bool {
		if src.Name != name || src.Region != p.Region || (p.Name != "" && src.PartnerAccount != p.Account) {
			return false
		}
		st, _ := s.view.SourceState(src)
		return st == SourceActive
	})
}

// checkPartnerBus checks CreateEventBus's EventSourceName: the source must
// be offered to sc and not deleted, and the bus must be named as it is
// ("the name of the partner event bus must match the name of the partner
// event source", CreateEventBus, EventBridge API Reference).
func (s *Service) checkPartnerBus(sc Scope, busName, source string) error {
	src, _ := s.view.PartnerSource(sc, source)
	if src == nil || src.Deleted {
		return sourceNotFound(source)
	}
	if busName != source {
		return awserr.Validation("Event bus name must match event source name.")
	}
	return nil
}
