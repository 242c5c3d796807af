package schedules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
)

// Bucket is the JetStream KV bucket of EventBridge Scheduler. Its keys:
//
//	g.<account>.<region>.<group>          a schedule group (Group)
//	s.<account>.<region>.<group>.<name>   a schedule (Schedule)
//	f.<account>.<region>.<group>.<name>   the last occurrence of the schedule fired (RFC 3339)
//
// names encoded with store.Token. The name is part of the on-disk format.
const Bucket = "switchyard_scheduler"

// openBucket creates (or opens) the bucket.
func openBucket(ctx context.Context, st *store.Store, replicas int) (jetstream.KeyValue, error) {
	kv, err := store.EnsureKeyValue(ctx, st.JS, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Switchyard EventBridge Scheduler: schedule groups, schedules, and the last occurrence fired of each",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler bucket: %w", err)
	}
	return kv, nil
}

func scopeKey(kind string, sc control.Scope) string { return kind + "." + sc.Account + "." + sc.Region }

func groupKey(sc control.Scope, group string) string {
	return scopeKey("g", sc) + "." + store.Token(group)
}

func scheduleKey(sc control.Scope, group, name string) string {
	return scopeKey("s", sc) + "." + store.Token(group) + "." + store.Token(name)
}

// ledgerKey is the fire record's key of the schedule with key k.
func ledgerKey(k string) string { return "f" + strings.TrimPrefix(k, "s") }

// parseScheduleKey splits a schedule key.
func parseScheduleKey(k string) (sc control.Scope, group, name string, ok bool) {
	p := strings.Split(k, ".")
	if len(p) != 5 || p[0] != "s" {
		return control.Scope{}, "", "", false
	}
	return control.Scope{Account: p[1], Region: p[2]}, store.Untoken(p[3]), store.Untoken(p[4]), true
}

// partition is the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ScheduleArn is the ARN of a schedule.
func ScheduleArn(sc control.Scope, group, name string) string {
	return "arn:" + partition(sc.Region) + ":scheduler:" + sc.Region + ":" + sc.Account + ":schedule/" + group + "/" + name
}

// GroupArn is the ARN of a schedule group.
func GroupArn(sc control.Scope, group string) string {
	return "arn:" + partition(sc.Region) + ":scheduler:" + sc.Region + ":" + sc.Account + ":schedule-group/" + group
}

// DefaultGroup is the group of every account and region.
const DefaultGroup = "default"

// repo reads and writes the bucket.
type repo struct{ kv jetstream.KeyValue }

func (r *repo) getGroup(ctx context.Context, sc control.Scope, name string) (*Group, uint64, error) {
	e, err := r.kv.Get(ctx, groupKey(sc, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if name == DefaultGroup {
			return r.ensureDefault(ctx, sc)
		}
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get group: %w", err)
	}
	var g Group
	if err := json.Unmarshal(e.Value(), &g); err != nil {
		return nil, 0, fmt.Errorf("group %s: %w", e.Key(), err)
	}
	return &g, e.Revision(), nil
}

// ensureDefault stores the default group of a scope on its first use: it
// exists in every account and region, as in AWS.
func (r *repo) ensureDefault(ctx context.Context, sc control.Scope) (*Group, uint64, error) {
	t := now()
	g := &Group{Name: DefaultGroup, State: "ACTIVE", CreationDate: t, LastModificationDate: t}
	b, _ := json.Marshal(g)
	rev, err := r.kv.Create(ctx, groupKey(sc, DefaultGroup), b)
	if err == nil {
		return g, rev, nil
	}
	if !store.IsConflict(err) {
		return nil, 0, fmt.Errorf("create default group: %w", err)
	}
	e, err := r.kv.Get(ctx, groupKey(sc, DefaultGroup))
	if err != nil {
		return nil, 0, fmt.Errorf("get default group: %w", err)
	}
	if err := json.Unmarshal(e.Value(), g); err != nil {
		return nil, 0, err
	}
	return g, e.Revision(), nil
}

func (r *repo) getSchedule(ctx context.Context, sc control.Scope, group, name string) (*Schedule, uint64, error) {
	return r.getScheduleKey(ctx, scheduleKey(sc, group, name))
}

func (r *repo) getScheduleKey(ctx context.Context, key string) (*Schedule, uint64, error) {
	e, err := r.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get schedule: %w", err)
	}
	s, err := decodeSchedule(e.Key(), e.Value())
	if err != nil {
		return nil, 0, err
	}
	return s, e.Revision(), nil
}

func decodeSchedule(key string, b []byte) (*Schedule, error) {
	var s Schedule
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("schedule %s: %w", key, err)
	}
	if sc, group, name, ok := parseScheduleKey(key); ok {
		s.Arn = ScheduleArn(sc, group, name)
	}
	return &s, nil
}

// keys lists the keys matching filter (a KV wildcard filter), sorted.
func (r *repo) keys(ctx context.Context, filter string) ([]string, error) {
	l, err := r.kv.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// lastFired reads a schedule's fire record: the last occurrence fired and
// the record's revision (0: none).
func (r *repo) lastFired(ctx context.Context, key string) (time.Time, uint64, error) {
	e, err := r.kv.Get(ctx, ledgerKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return time.Time{}, 0, nil
	}
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("get fire record: %w", err)
	}
	t, _ := time.Parse(time.RFC3339Nano, string(e.Value())) // unreadable: overwritten
	return t, e.Revision(), nil
}
