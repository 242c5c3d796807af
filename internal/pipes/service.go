package pipes

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
)

// Bucket is the JetStream key-value bucket of the pipes: their
// definitions, the leases of their pollers and their sources' checkpoints.
// It is part of the on-disk format.
const Bucket = "switchyard_pipes"

// Keys of the bucket: "p.<account>.<region>.<name>" a pipe,
// "l.<account>.<region>.<name>" the lease of its poller,
// "c.<generation>.<shard>" a checkpoint (see Pipe.Generation).
const (
	pipePrefix  = "p."
	leasePrefix = "l."
	ckptPrefix  = "c."
)

// OpenBucket creates (or opens) the pipes bucket in st.
func OpenBucket(ctx context.Context, st *store.Store, replicas int) (jetstream.KeyValue, error) {
	kv, err := store.EnsureKeyValue(ctx, st.JS, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "Switchyard EventBridge Pipes: pipes, their pollers' leases, their sources' checkpoints",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("pipes bucket: %w", err)
	}
	return kv, nil
}

func pipeKey(sc control.Scope, name string) string {
	return pipePrefix + sc.Account + "." + sc.Region + "." + store.Token(name)
}

func leaseKey(sc control.Scope, name string) string {
	return leasePrefix + sc.Account + "." + sc.Region + "." + store.Token(name)
}

func ckptKey(generation, shard string) string {
	return ckptPrefix + generation + "." + store.Token(shard)
}

// scopeOfKey reads the scope and name of a pipe key.
func scopeOfKey(key string) (control.Scope, string, bool) {
	rest, ok := strings.CutPrefix(key, pipePrefix)
	if !ok {
		return control.Scope{}, "", false
	}
	parts := strings.SplitN(rest, ".", 3)
	if len(parts) != 3 {
		return control.Scope{}, "", false
	}
	return control.Scope{Account: parts[0], Region: parts[1]}, store.Untoken(parts[2]), true
}

// API serves the Pipes API over its definitions in the bucket.
type API struct {
	kv  jetstream.KeyValue
	log *slog.Logger
	now func() time.Time
}

// NewAPI returns the API over the pipes bucket kv.
func NewAPI(kv jetstream.KeyValue, log *slog.Logger) *API {
	if log == nil {
		log = slog.Default()
	}
	return &API{kv: kv, log: log, now: time.Now}
}

// Register routes the ten operations of the Pipes API (2015-10-07) to svc.
func (a *API) Register(svc *restapi.Service) {
	byName := func(r *restapi.Request) string { return pipeArn(r.Scope, r.Path("Name")) }
	byArn := func(r *restapi.Request) string { return r.Path("resourceArn") }
	svc.Handle("CreatePipe", "POST /v1/pipes/{Name}", byName, a.validated(a.create))
	svc.Handle("DescribePipe", "GET /v1/pipes/{Name}", byName, a.validated(a.describe))
	svc.Handle("UpdatePipe", "PUT /v1/pipes/{Name}", byName, a.validated(a.update))
	svc.Handle("DeletePipe", "DELETE /v1/pipes/{Name}", byName, a.validated(a.delete))
	svc.Handle("ListPipes", "GET /v1/pipes", nil, a.validated(a.list))
	svc.Handle("StartPipe", "POST /v1/pipes/{Name}/start", byName, a.validated(a.start))
	svc.Handle("StopPipe", "POST /v1/pipes/{Name}/stop", byName, a.validated(a.stop))
	svc.Handle("TagResource", "POST /tags/{resourceArn}", byArn, a.validated(a.tag))
	svc.Handle("UntagResource", "DELETE /tags/{resourceArn}", byArn, a.validated(a.untag))
	svc.Handle("ListTagsForResource", "GET /tags/{resourceArn}", byArn, a.validated(a.listTags))
}

func (a *API) validated(fn restapi.HandlerFunc) restapi.HandlerFunc {
	return func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		if err := validateRequest(r); err != nil {
			return nil, err
		}
		return fn(ctx, r)
	}
}

func pipeArn(sc control.Scope, name string) string {
	return "arn:" + sc.Partition() + ":pipes:" + sc.Region + ":" + sc.Account + ":pipe/" + name
}

func notFound(name string) error {
	return &awserr.Error{Code: "NotFoundException", Message: fmt.Sprintf("Pipe %s does not exist.", name), Status: http.StatusNotFound}
}

func conflict(name, msg string) error {
	return &restapi.FieldError{Err: &awserr.Error{Code: "ConflictException", Message: msg, Status: http.StatusConflict},
		Fields: map[string]any{"resourceId": name, "resourceType": "pipe"}}
}

// get reads a pipe; nil if there is none.
func (a *API) get(ctx context.Context, sc control.Scope, name string) (*Pipe, error) {
	e, err := a.kv.Get(ctx, pipeKey(sc, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read pipe %s: %w", name, err)
	}
	p := &Pipe{}
	if err := json.Unmarshal(e.Value(), p); err != nil {
		return nil, fmt.Errorf("decode pipe %s: %w", name, err)
	}
	p.Scope, p.rev = sc, e.Revision()
	return p, nil
}

// change applies fn to the pipe name at its current revision, retrying a
// lost race with another writer (a poller recording the pipe's state).
func (a *API) change(ctx context.Context, sc control.Scope, name string, fn func(p *Pipe) error) (*Pipe, error) {
	for range 20 {
		p, err := a.get(ctx, sc, name)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, notFound(name)
		}
		if err := fn(p); err != nil {
			return nil, err
		}
		data, _ := json.Marshal(p)
		rev, err := store.Swap(ctx, a.kv, pipeKey(sc, name), data, p.rev)
		if store.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("write pipe %s: %w", name, err)
		}
		p.rev = rev
		return p, nil
	}
	return nil, awserr.New("ThrottlingException", "Pipe %s is changing too often; retry.", name)
}

type createRequest struct {
	Description          *string
	DesiredState         *string
	Source               string
	SourceParameters     json.RawMessage
	Enrichment           *string
	EnrichmentParameters json.RawMessage
	Target               string
	TargetParameters     json.RawMessage
	RoleArn              string
	Tags                 map[string]string
	LogConfiguration     json.RawMessage
	KmsKeyIdentifier     *string
}

func (a *API) create(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("Name")
	var in createRequest
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	now := a.now().UTC()
	p := &Pipe{
		Name: name, Arn: pipeArn(r.Scope, name), Description: deref(in.Description),
		DesiredState: StateRunning, CurrentState: StateCreating,
		Source: in.Source, SourceParameters: compact(in.SourceParameters),
		Enrichment: deref(in.Enrichment), EnrichmentParameters: compact(in.EnrichmentParameters),
		Target: in.Target, TargetParameters: compact(in.TargetParameters),
		RoleArn: in.RoleArn, Tags: in.Tags, LogConfiguration: compact(in.LogConfiguration),
		KmsKeyIdentifier: deref(in.KmsKeyIdentifier),
		CreationTime:     now, LastModifiedTime: now, Generation: uuid.NewString(), Version: 1,
	}
	if in.DesiredState != nil {
		p.DesiredState = *in.DesiredState
	}
	if err := checkPipe(p, r.Scope); err != nil {
		return nil, err
	}
	data, _ := json.Marshal(p)
	if _, err := a.kv.Create(ctx, pipeKey(r.Scope, name), data); err != nil {
		if store.IsConflict(err) {
			return nil, conflict(name, fmt.Sprintf("Pipe %s already exists.", name))
		}
		return nil, fmt.Errorf("create pipe %s: %w", name, err)
	}
	return restapi.OK(stateOf(p))
}

// pipeState is the answer of CreatePipe, UpdatePipe, DeletePipe,
// StartPipe and StopPipe.
type pipeState struct {
	Arn              string
	Name             string
	DesiredState     string
	CurrentState     string
	CreationTime     epoch
	LastModifiedTime epoch
}

func stateOf(p *Pipe) pipeState {
	return pipeState{Arn: p.Arn, Name: p.Name, DesiredState: p.DesiredState, CurrentState: p.CurrentState,
		CreationTime: epoch(p.CreationTime), LastModifiedTime: epoch(p.LastModifiedTime)}
}

type describeResponse struct {
	Arn                  string
	Name                 string
	Description          *string `json:",omitempty"`
	DesiredState         string
	CurrentState         string
	StateReason          *string `json:",omitempty"`
	Source               string
	SourceParameters     json.RawMessage `json:",omitempty"`
	Enrichment           *string         `json:",omitempty"`
	EnrichmentParameters json.RawMessage `json:",omitempty"`
	Target               string
	TargetParameters     json.RawMessage `json:",omitempty"`
	RoleArn              string
	Tags                 map[string]string
	CreationTime         epoch
	LastModifiedTime     epoch
	LogConfiguration     json.RawMessage `json:",omitempty"`
	KmsKeyIdentifier     *string         `json:",omitempty"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (a *API) describe(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("Name")
	p, err := a.get(ctx, r.Scope, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, notFound(name)
	}
	tags := p.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return restapi.OK(describeResponse{
		Arn: p.Arn, Name: p.Name, Description: optional(p.Description), DesiredState: p.DesiredState,
		CurrentState: p.CurrentState, StateReason: optional(p.StateReason), Source: p.Source,
		SourceParameters: p.SourceParameters, Enrichment: optional(p.Enrichment),
		EnrichmentParameters: p.EnrichmentParameters, Target: p.Target, TargetParameters: p.TargetParameters,
		RoleArn: p.RoleArn, Tags: tags, CreationTime: epoch(p.CreationTime), LastModifiedTime: epoch(p.LastModifiedTime),
		LogConfiguration: p.LogConfiguration, KmsKeyIdentifier: optional(p.KmsKeyIdentifier),
	})
}

type updateRequest struct {
	Description          *string
	DesiredState         *string
	SourceParameters     json.RawMessage
	Enrichment           *string
	EnrichmentParameters json.RawMessage
	Target               *string
	TargetParameters     json.RawMessage
	RoleArn              string
	LogConfiguration     json.RawMessage
	KmsKeyIdentifier     *string
}

// busy refuses a change to a pipe that is being deleted.
func busy(p *Pipe) error {
	if p.CurrentState == StateDeleting {
		return conflict(p.Name, fmt.Sprintf("Pipe %s is being deleted.", p.Name))
	}
	return nil
}

// update changes what the request names and keeps the rest. The objects
// of a service's parameters (SqsQueueParameters, HttpParameters, ...) are
// replaced as a whole: "EventBridge updates the fields in these objects
// atomically as one and overrides existing values" (UpdatePipe, EventBridge
// Pipes API Reference).
func (a *API) update(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("Name")
	var in updateRequest
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	p, err := a.change(ctx, r.Scope, name, func(p *Pipe) error {
		if err := busy(p); err != nil {
			return err
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.DesiredState != nil {
			p.DesiredState = *in.DesiredState
		}
		p.SourceParameters = mergeParams(p.SourceParameters, in.SourceParameters)
		if in.Enrichment != nil {
			p.Enrichment = *in.Enrichment
		}
		p.EnrichmentParameters = mergeParams(p.EnrichmentParameters, in.EnrichmentParameters)
		if in.Target != nil {
			p.Target = *in.Target
		}
		p.TargetParameters = mergeParams(p.TargetParameters, in.TargetParameters)
		p.RoleArn = in.RoleArn
		if len(in.LogConfiguration) > 0 {
			p.LogConfiguration = compact(in.LogConfiguration)
		}
		if in.KmsKeyIdentifier != nil {
			p.KmsKeyIdentifier = *in.KmsKeyIdentifier
		}
		if err := checkPipe(p, r.Scope); err != nil {
			return err
		}
		p.CurrentState, p.StateReason = StateUpdating, ""
		p.LastModifiedTime = a.now().UTC()
		p.Version++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(stateOf(p))
}

// mergeParams sets each member of upd in old.
func mergeParams(old, upd json.RawMessage) json.RawMessage {
	if len(upd) == 0 || string(upd) == "null" {
		return old
	}
	m := map[string]json.RawMessage{}
	if len(old) > 0 {
		_ = json.Unmarshal(old, &m)
	}
	var u map[string]json.RawMessage
	if err := json.Unmarshal(upd, &u); err != nil {
		return old
	}
	for k, v := range u {
		if string(v) == "null" {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	data, _ := json.Marshal(m)
	return data
}

func (a *API) delete(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("Name")
	p, err := a.change(ctx, r.Scope, name, func(p *Pipe) error {
		if err := busy(p); err != nil {
			return err
		}
		p.DesiredState, p.CurrentState, p.StateReason = desiredDeleted, StateDeleting, ""
		p.LastModifiedTime = a.now().UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(stateOf(p))
}

func (a *API) start(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	return a.setDesired(ctx, r, StateRunning, StateStarting)
}

func (a *API) stop(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	return a.setDesired(ctx, r, StateStopped, StateStopping)
}

func (a *API) setDesired(ctx context.Context, r *restapi.Request, desired, transition string) (*restapi.Response, error) {
	name := r.Path("Name")
	p, err := a.change(ctx, r.Scope, name, func(p *Pipe) error {
		if err := busy(p); err != nil {
			return err
		}
		if p.DesiredState == desired && p.CurrentState == desired {
			return nil
		}
		p.DesiredState, p.CurrentState, p.StateReason = desired, transition, ""
		p.LastModifiedTime = a.now().UTC()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(stateOf(p))
}

type listEntry struct {
	Name             string
	Arn              string
	DesiredState     string
	CurrentState     string
	StateReason      *string `json:",omitempty"`
	CreationTime     epoch
	LastModifiedTime epoch
	Source           string
	Target           string
	Enrichment       *string `json:",omitempty"`
}

// list answers ListPipes: the scope's pipes in name order, filtered, a
// page of Limit (at most 100; 100 without one) at a time. The NextToken
// is the last name of the page, so a page stays right when pipes are
// added or deleted between calls.
func (a *API) list(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	limit, ok, err := r.QueryInt("Limit")
	if err != nil {
		return nil, err
	}
	if !ok {
		limit = 100
	}
	after := ""
	if tok := r.Query("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !strings.HasPrefix(string(b), "v1:") {
			return nil, awserr.Validation("The nextToken is not valid.")
		}
		after = strings.TrimPrefix(string(b), "v1:")
	}
	all, err := a.scopePipes(ctx, r.Scope)
	if err != nil {
		return nil, err
	}
	namePrefix, srcPrefix, tgtPrefix := r.Query("NamePrefix"), r.Query("SourcePrefix"), r.Query("TargetPrefix")
	desired, current := r.Query("DesiredState"), r.Query("CurrentState")
	out := struct {
		Pipes     []listEntry
		NextToken *string `json:",omitempty"`
	}{Pipes: []listEntry{}}
	for _, p := range all {
		if p.Name <= after || !strings.HasPrefix(p.Name, namePrefix) || !strings.HasPrefix(p.Source, srcPrefix) ||
			!strings.HasPrefix(p.Target, tgtPrefix) || (desired != "" && p.DesiredState != desired) ||
			(current != "" && p.CurrentState != current) {
			continue
		}
		if len(out.Pipes) == limit {
			tok := base64.RawURLEncoding.EncodeToString([]byte("v1:" + out.Pipes[limit-1].Name))
			out.NextToken = &tok
			break
		}
		out.Pipes = append(out.Pipes, listEntry{Name: p.Name, Arn: p.Arn, DesiredState: p.DesiredState,
			CurrentState: p.CurrentState, StateReason: optional(p.StateReason), CreationTime: epoch(p.CreationTime),
			LastModifiedTime: epoch(p.LastModifiedTime), Source: p.Source, Target: p.Target, Enrichment: optional(p.Enrichment)})
	}
	return restapi.OK(out)
}

// scopePipes reads the pipes of sc, sorted by name.
func (a *API) scopePipes(ctx context.Context, sc control.Scope) ([]*Pipe, error) {
	lister, err := a.kv.ListKeysFiltered(ctx, pipePrefix+sc.Account+"."+sc.Region+".*")
	if err != nil {
		return nil, fmt.Errorf("list pipes: %w", err)
	}
	var out []*Pipe
	for key := range lister.Keys() {
		_, name, ok := scopeOfKey(key)
		if !ok {
			continue
		}
		p, err := a.get(ctx, sc, name)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// pipeOfArn finds the pipe a tag operation's ARN names, in the caller's
// scope: another scope's pipe does not exist for it.
func (a *API) pipeOfArn(r *restapi.Request) (string, error) {
	arn := r.Path("resourceArn")
	prefix := "arn:" + r.Scope.Partition() + ":pipes:" + r.Scope.Region + ":" + r.Scope.Account + ":pipe/"
	name, ok := strings.CutPrefix(arn, prefix)
	if !ok || name == "" {
		return "", &awserr.Error{Code: "NotFoundException", Message: fmt.Sprintf("Resource %s does not exist.", arn), Status: http.StatusNotFound}
	}
	return name, nil
}

func (a *API) tag(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name, err := a.pipeOfArn(r)
	if err != nil {
		return nil, err
	}
	var in struct{ Tags map[string]string }
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	_, err = a.change(ctx, r.Scope, name, func(p *Pipe) error {
		if p.Tags == nil {
			p.Tags = map[string]string{}
		}
		for k, v := range in.Tags {
			p.Tags[k] = v
		}
		if len(p.Tags) > 50 {
			return awserr.Validation("A pipe can have at most 50 tags.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(struct{}{})
}

func (a *API) untag(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name, err := a.pipeOfArn(r)
	if err != nil {
		return nil, err
	}
	keys := r.QueryList("tagKeys")
	_, err = a.change(ctx, r.Scope, name, func(p *Pipe) error {
		for _, k := range keys {
			delete(p.Tags, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(struct{}{})
}

func (a *API) listTags(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name, err := a.pipeOfArn(r)
	if err != nil {
		return nil, err
	}
	p, err := a.get(ctx, r.Scope, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, notFound(name)
	}
	tags := p.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return restapi.OK(struct {
		Tags map[string]string `json:"tags"`
	}{tags})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return json.RawMessage(b.Bytes())
}
