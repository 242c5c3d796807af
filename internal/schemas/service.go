// Package schemas is Switchyard's EventBridge Schema Registry: the Schemas
// API (service "schemas", API version 2019-12-02, REST-JSON) on the shared
// front of package restapi, its state in its own JetStream KV bucket
// (Bucket), scoped by account and region like everything else.
//
// Beside the API it has two hooks into the data path, called by package
// ingest for each accepted PutEvents entry (and, for discovery, each event
// an event-bus target forwards):
//
//   - Discovery (discovery.go): while a discoverer on a bus is STARTED, the
//     bus's events are sampled (at most SamplesPerSecond per source and
//     detail-type, cluster-wide) onto a work-queue stream, from which one
//     process at a time infers each sample's schema and merges it into
//     "source@DetailType" of the discovered-schemas registry, a new
//     version when the shape changed.
//   - Validation (validation.go), Switchyard's own and off by default: a
//     bus tagged ValidationTag has each entry checked against the schema
//     of its source and detail-type in the registry the tag names, and an
//     entry that does not conform is refused on its own.
//
// The schema engines (inference, checking, code generation) are packages
// schemainfer, schemacheck and codebind; this package stores and serves.
package schemas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
)

// Config is what a Service needs of its process.
type Config struct {
	JS       jetstream.JetStream
	Replicas int
	// View is the control plane's view, for the buses of discoverers and
	// their tags.
	View *control.View
	Log  *slog.Logger
	// Group runs background work (code generation, discovery); Ctx ends
	// it.
	Group *errgroup.Group
	Ctx   context.Context
	// SamplesPerSecond bounds the events discovery samples per second for
	// each account, region, bus, source and detail-type, across all
	// processes (DefaultSamplesPerSecond if 0).
	SamplesPerSecond int
}

// Service is the Schema Registry of one process; several processes on
// one NATS share its state.
type Service struct {
	cfg  Config
	db   db
	log  *slog.Logger
	now  func() time.Time
	disc *discovery
	val  *validation
}

// Open creates the service's bucket and stream, and starts its background
// work in cfg.Group.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.SamplesPerSecond <= 0 {
		cfg.SamplesPerSecond = DefaultSamplesPerSecond
	}
	kv, err := openBucket(ctx, cfg.JS, cfg.Replicas)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, db: db{kv}, log: cfg.Log, now: time.Now}
	if s.disc, err = newDiscovery(ctx, s); err != nil {
		return nil, err
	}
	s.val = newValidation(s)
	cfg.Group.Go(func() error { return s.disc.run(cfg.Ctx) })
	cfg.Group.Go(func() error { return s.val.run(cfg.Ctx) })
	return s, nil
}

// Register routes the API's 31 operations to s on api.
func (s *Service) Register(api *restapi.Service) {
	const reg = "/v1/registries/name/{registryName}"
	const sch = reg + "/schemas/name/{schemaName}"
	h := func(op, pattern string, res restapi.ResourceFunc, fn restapi.HandlerFunc) {
		api.Handle(op, pattern, res, s.guard(op, fn))
	}
	h("CreateRegistry", "POST "+reg, s.registryResource, s.createRegistry)
	h("DescribeRegistry", "GET "+reg, s.registryResource, s.describeRegistry)
	h("UpdateRegistry", "PUT "+reg, s.registryResource, s.updateRegistry)
	h("DeleteRegistry", "DELETE "+reg, s.registryResource, s.deleteRegistry)
	h("ListRegistries", "GET /v1/registries", nil, s.listRegistries)

	h("CreateSchema", "POST "+sch, s.schemaResource, s.createSchema)
	h("DescribeSchema", "GET "+sch, s.schemaResource, s.describeSchema)
	h("UpdateSchema", "PUT "+sch, s.schemaResource, s.updateSchema)
	h("DeleteSchema", "DELETE "+sch, s.schemaResource, s.deleteSchema)
	h("DeleteSchemaVersion", "DELETE "+sch+"/version/{schemaVersion}", s.schemaResource, s.deleteSchemaVersion)
	h("ListSchemas", "GET "+reg+"/schemas", s.registryResource, s.listSchemas)
	h("ListSchemaVersions", "GET "+sch+"/versions", s.schemaResource, s.listSchemaVersions)
	h("SearchSchemas", "GET "+reg+"/schemas/search", s.registryResource, s.searchSchemas)
	h("ExportSchema", "GET "+sch+"/export", s.schemaResource, s.exportSchema)

	h("PutCodeBinding", "POST "+sch+"/language/{language}", s.schemaResource, s.putCodeBinding)
	h("DescribeCodeBinding", "GET "+sch+"/language/{language}", s.schemaResource, s.describeCodeBinding)
	h("GetCodeBindingSource", "GET "+sch+"/language/{language}/source", s.schemaResource, s.getCodeBindingSource)
	h("GetDiscoveredSchema", "POST /v1/discover", nil, s.getDiscoveredSchema)

	h("PutResourcePolicy", "PUT /v1/policy", s.policyResource, s.putResourcePolicy)
	h("GetResourcePolicy", "GET /v1/policy", s.policyResource, s.getResourcePolicy)
	h("DeleteResourcePolicy", "DELETE /v1/policy", s.policyResource, s.deleteResourcePolicy)

	// The SDKs escape the ARN's slashes (a label, not a greedy one); a
	// hand-written request may not, so the label takes the rest of the
	// path.
	h("TagResource", "POST /tags/{resourceArn...}", tagsResource, s.tagResource)
	h("UntagResource", "DELETE /tags/{resourceArn...}", tagsResource, s.untagResource)
	h("ListTagsForResource", "GET /tags/{resourceArn...}", tagsResource, s.listTagsForResource)

	const dis = "/v1/discoverers/id/{discovererId}"
	h("CreateDiscoverer", "POST /v1/discoverers", nil, s.createDiscoverer)
	h("DescribeDiscoverer", "GET "+dis, s.discovererResource, s.describeDiscoverer)
	h("UpdateDiscoverer", "PUT "+dis, s.discovererResource, s.updateDiscoverer)
	h("DeleteDiscoverer", "DELETE "+dis, s.discovererResource, s.deleteDiscoverer)
	h("ListDiscoverers", "GET /v1/discoverers", nil, s.listDiscoverers)
	h("StartDiscoverer", "POST "+dis+"/start", s.discovererResource, s.startDiscoverer)
	h("StopDiscoverer", "POST "+dis+"/stop", s.discovererResource, s.stopDiscoverer)
}

// opTimeout bounds an operation's work on storage: a NATS that does not
// answer costs the caller a ServiceUnavailableException, not a hung call.
const opTimeout = 10 * time.Second

// guard gives an operation its deadline and turns the errors that are not
// the API's own into the model's: BadRequestException for a body that
// does not decode, ServiceUnavailableException (503) when
// storage cannot be reached or did not answer in time, else
// InternalServerErrorException (500), the Schemas model's names for them
// (restapi's default InternalServerException is EventBridge's).
func (s *Service) guard(op string, fn restapi.HandlerFunc) restapi.HandlerFunc {
	return func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		ctx, cancel := context.WithTimeout(ctx, opTimeout)
		defer cancel()
		out, err := fn(ctx, r)
		if err == nil {
			return out, nil
		}
		if ae, ok := awserr.As(err); ok {
			if ae.Code == awserr.CodeSerialization {
				// A body that is not JSON of the input's shape: the
				// Schemas model has no SerializationException, and AWS
				// answers BadRequestException.
				return nil, badRequest("%s", ae.Message)
			}
			return nil, err
		}
		if r.HTTP.Context().Err() != nil {
			return nil, context.Canceled // the caller went away
		}
		s.log.Error("schemas: operation failed", "op", op, "request", r.RequestID, "err", err)
		if storageDown(err) {
			return nil, unavailable()
		}
		return nil, apiErr(http.StatusInternalServerError, "InternalServerErrorException", "An internal error occurred. Please retry.")
	}
}

// storageDown reports whether err says that NATS could not be reached or
// did not answer.
func storageDown(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionClosed) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// ARNs of the service's resources ("Resource types defined by Amazon
// EventBridge Schemas", Service Authorization Reference).
func registryARN(sc control.Scope, name string) string {
	return fmt.Sprintf("arn:%s:schemas:%s:%s:registry/%s", sc.Partition(), sc.Region, sc.Account, name)
}

func schemaARN(sc control.Scope, registry, name string) string {
	return fmt.Sprintf("arn:%s:schemas:%s:%s:schema/%s/%s", sc.Partition(), sc.Region, sc.Account, registry, name)
}

func discovererARN(sc control.Scope, id string) string {
	return fmt.Sprintf("arn:%s:schemas:%s:%s:discoverer/%s", sc.Partition(), sc.Region, sc.Account, id)
}

func (s *Service) registryResource(r *restapi.Request) string {
	return registryARN(r.Scope, r.Path("registryName"))
}

func (s *Service) schemaResource(r *restapi.Request) string {
	return schemaARN(r.Scope, r.Path("registryName"), r.Path("schemaName"))
}

func (s *Service) discovererResource(r *restapi.Request) string {
	return discovererARN(r.Scope, r.Path("discovererId"))
}

func (s *Service) policyResource(r *restapi.Request) string {
	if n := r.Query("registryName"); n != "" {
		return registryARN(r.Scope, n)
	}
	return ""
}

func tagsResource(r *restapi.Request) string { return r.Path("resourceArn") }

// Names. The model gives no patterns; these are the characters the
// console and CloudFormation allow (AWS::EventBridge::Schemas::Registry
// RegistryName, AWS::EventBridge::Schemas::Schema SchemaName), and the
// lengths the Schemas quotas give: registry names up to 64 characters,
// schema names up to 385.
var (
	registryNameRE = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)
	schemaNameRE   = regexp.MustCompile(`^[.\-_A-Za-z0-9@]{1,385}$`)
)

func checkRegistryName(n string) error {
	if !registryNameRE.MatchString(n) {
		return badRequest("Invalid RegistryName '%s'. It must be 1 to 64 characters of letters, digits, '.', '-' and '_'.", n)
	}
	return nil
}

func checkSchemaName(n string) error {
	if !schemaNameRE.MatchString(n) {
		return badRequest("Invalid SchemaName '%s'. It must be 1 to 385 characters of letters, digits, '.', '-', '_' and '@'.", n)
	}
	return nil
}

// Limits of the model (schemas 2019-12-02): descriptions __stringMin0Max256,
// contents __stringMin1Max100000 (characters, as the model counts).
const (
	maxDescription = 256
	maxContent     = 100000
)

func checkDescription(d *string) error {
	if d != nil && utf8.RuneCountInString(*d) > maxDescription {
		return badRequest("Description must be at most %d characters long.", maxDescription)
	}
	return nil
}

// Tags: at most 50, keys of 1 to 128 characters not starting with "aws:",
// values of at most 256 ("Tagging your AWS resources", Tag naming limits).
func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return badRequest("A resource can have at most 50 tags.")
	}
	for k, v := range tags {
		switch {
		case k == "" || utf8.RuneCountInString(k) > 128:
			return badRequest("Tag keys must be 1 to 128 characters long: '%s'.", k)
		case utf8.RuneCountInString(v) > 256:
			return badRequest("Tag values must be at most 256 characters long (key '%s').", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return badRequest("Tag keys starting with 'aws:' are reserved for AWS use: '%s'.", k)
		}
	}
	return nil
}

// Types of schema content.
const (
	TypeOpenAPI3 = "OpenApi3"
	TypeDraft4   = "JSONSchemaDraft4"
)

func checkType(t string) error {
	if t != TypeOpenAPI3 && t != TypeDraft4 {
		return badRequest("Invalid Type '%s'. Valid values are OpenApi3 and JSONSchemaDraft4.", t)
	}
	return nil
}

// timestamp is how the API's __timestampIso8601 members are written.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func created(body any) (*restapi.Response, error) {
	return &restapi.Response{Status: http.StatusCreated, Body: body}, nil
}

func noContent() (*restapi.Response, error) {
	return &restapi.Response{Status: http.StatusNoContent, Body: []byte{}, ContentType: "application/json"}, nil
}

// tagsOut is a resource's tags as the API gives them: always a map, in
// the body member "tags" (the model's one lower-case member name).
func tagsOut(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Check is called by ingest for each PutEvents entry that passed AWS's
// checks, before it is stored: the ErrorCode and ErrorMessage of its
// refusal, or "" to store it. Only buses tagged ValidationTag refuse any.
// Watches is called by ingest before Check and Stored: entries of a bus
// neither validated nor being discovered cost a view lookup and a map
// lookup, and nothing is built for them.
func (s *Service) Watches(sender, target control.Scope, bus string) (check, stored bool) {
	return s.val.watches(target, bus), s.disc.watches(sender, target, bus)
}

func (s *Service) Check(ctx context.Context, target control.Scope, bus, source, detailType string, event func() []byte) (code, message string) {
	if msg := s.val.Check(ctx, target, bus, source, detailType, event); msg != "" {
		return ValidationErrorCode, msg
	}
	return "", ""
}

// Forwarded is called by ingest for each event an event-bus target
// stored: it may be sampled for discovery too (validation is for
// PutEvents entries only, which can be refused one by one).
func (s *Service) Forwarded(sender, target control.Scope, bus string, event []byte) {
	s.disc.SampleEvent(sender, target, bus, event)
}

// Stored is called by ingest for each stored PutEvents entry, sent by
// sender to bus of target: it may be sampled for discovery.
func (s *Service) Stored(sender, target control.Scope, bus, source, detailType string, event func() []byte) {
	s.disc.Sample(sender, target, bus, source, detailType, event)
}
