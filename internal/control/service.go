package control

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
)

// maxPatternLength is the longest pattern the view will compile; the
// configured (smaller or equal) limit is enforced when rules are written.
const maxPatternLength = 4096

// Limits are the per-resource quotas, configurable as AWS's are adjustable.
type Limits struct {
	RulesPerBus      int // AWS default 300
	TargetsPerRule   int // AWS: 5
	PatternMaxLength int // 2048 by default, up to 4096
	BusesPerScope    int // AWS default 100
	TagsPerResource  int // AWS: 50
}

// DefaultLimits are AWS's default quotas.
func DefaultLimits() Limits {
	return Limits{RulesPerBus: 300, TargetsPerRule: 5, PatternMaxLength: 2048, BusesPerScope: 100, TagsPerResource: 50}
}

// Service performs control-plane operations against the bucket and reads
// from the View.
type Service struct {
	kv     jetstream.KeyValue
	view   *View
	limits Limits
	log    *slog.Logger
	now    func() time.Time
	// ScheduleValid validates a ScheduleExpression; nil accepts none.
	ScheduleValid func(expr string) error
	// KeyCheck, if set, validates the KmsKeyIdentifier that
	// CreateEventBus, UpdateEventBus, CreateArchive and UpdateArchive are
	// given in scope sc, returning the AWS error to answer.
	KeyCheck func(ctx context.Context, sc Scope, keyID string) error
	// Secrets seals connection credentials before they are stored.
	Secrets *secretbox.Box
	// ArchiveStorage holds archived events (package archive).
	ArchiveStorage ArchiveStorage
	// TargetGuard denies the addresses that URL targets, API destination
	// endpoints and OAuth authorization endpoints may not be; nil denies
	// none. Only literal addresses are judged here (checkAddress).
	TargetGuard *netguard.Guard
}

// NewService returns a control-plane service writing to kv and reading view.
func NewService(kv jetstream.KeyValue, view *View, limits Limits, log *slog.Logger) *Service {
	return &Service{kv: kv, view: view, limits: limits, log: log, now: time.Now}
}

// View returns the service's view.
func (s *Service) View() *View { return s.view }

// Limits returns the configured quotas.
func (s *Service) Limits() Limits { return s.limits }

func busKeyName(sc Scope, bus string) string {
	return "bus." + sc.Account + "." + sc.Region + "." + store.Token(bus)
}

func ruleKeyName(sc Scope, bus, rule string) string {
	return "rule." + sc.Account + "." + sc.Region + "." + store.Token(bus) + "." + store.Token(rule)
}

// errConflict reports a lost optimistic-concurrency race.
var errConflict = errors.New("concurrent modification")

// write stores v under key: created when rev is 0 (failing with errExists if
// the key is present), else updated from revision rev. It returns once this
// process's view has applied the write.
func (s *Service) write(ctx context.Context, key string, v any, rev uint64) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	nrev, err := store.Swap(ctx, s.kv, key, data, rev)
	switch {
	case store.IsConflict(err):
		return errConflict
	case err != nil:
		return fmt.Errorf("store %s: %w", key, err)
	}
	return s.view.WaitRev(ctx, nrev)
}

// remove deletes key if it still has revision rev and waits for the view.
func (s *Service) remove(ctx context.Context, key string, rev uint64) error {
	err := s.kv.Delete(ctx, key, jetstream.LastRevision(rev))
	if err != nil && store.IsConflict(err) {
		return errConflict
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	st, err := s.kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("control status: %w", err)
	}
	return s.view.WaitRev(ctx, st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq)
}

// retry runs a read-modify-write step until it does not conflict.
func retry(ctx context.Context, step func() error) error {
	for i := 0; ; i++ {
		err := step()
		if !errors.Is(err, errConflict) {
			return err
		}
		if i == 20 {
			return awserr.New(awserr.CodeConcurrentModification, "Another process is modifying the resource. Try again.")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * time.Millisecond):
		}
	}
}

// EnsureDefaultBus makes sure scope sc has its default bus record. Scopes
// come into existence on first use, as an AWS account's region does.
func (s *Service) EnsureDefaultBus(ctx context.Context, sc Scope) error {
	if b, _ := s.view.Bus(sc, DefaultBus); b != nil {
		return nil
	}
	now := s.now().UTC()
	err := s.write(ctx, busKeyName(sc, DefaultBus), &Bus{Scope: sc, Name: DefaultBus, CreationTime: now, LastModifiedTime: now}, 0)
	if errors.Is(err, errConflict) { // created meanwhile, by this or another process
		return nil
	}
	return err
}

// ResolveBus turns an EventBusName (a name or an ARN; empty means default)
// into the bus name within sc.
func ResolveBus(sc Scope, nameOrARN string) (string, error) {
	if nameOrARN == "" {
		return DefaultBus, nil
	}
	if !strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	// arn:partition:events:region:account:event-bus/name
	parts := strings.SplitN(nameOrARN, ":", 6)
	name := strings.TrimPrefix(parts[5], "event-bus/")
	if parts[3] != sc.Region || parts[4] != sc.Account {
		return "", awserr.NotFound("Event bus %s does not exist.", name)
	}
	return name, nil
}

// ParseBusARN reads an event bus ARN
// (arn:partition:events:region:account:event-bus/name) as the bus's scope
// and name; ok is false for anything else, a name among them.
func ParseBusARN(s string) (Scope, string, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "events" || !strings.HasPrefix(parts[5], "event-bus/") {
		return Scope{}, "", false
	}
	name := parts[5][len("event-bus/"):]
	if name == "" || parts[3] == "" || parts[4] == "" {
		return Scope{}, "", false
	}
	return Scope{Account: parts[4], Region: parts[3]}, name, true
}

// pageToken encodes the position after name for NextToken.
func pageToken(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func parsePageToken(tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || len(b) == 0 {
		return "", awserr.Validation("The nextToken provided is invalid.")
	}
	return string(b), nil
}

// pageOf reads a List request's Limit and NextToken: the page's size and
// the name (or id) after which it starts.
func pageOf(limit *int32, token *string) (n int, after string, err error) {
	after, err = parsePageToken(token)
	if err != nil {
		return 0, "", err
	}
	n = 100
	if limit != nil {
		n = int(*limit)
	}
	return n, after, nil
}

// page selects up to limit names after the token's position.
func page[T any](items []T, name func(T) string, prefix string, limit *int32, token *string) ([]T, *string, error) {
	n, after, err := pageOf(limit, token)
	if err != nil {
		return nil, nil, err
	}
	var out []T
	for _, it := range items {
		nm := name(it)
		if !strings.HasPrefix(nm, prefix) || (after != "" && nm <= after) {
			continue
		}
		if len(out) == n {
			t := pageToken(name(out[len(out)-1]))
			return out, &t, nil
		}
		out = append(out, it)
	}
	return out, nil, nil
}
