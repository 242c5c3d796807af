// Package tracing is Switchyard's OpenTelemetry tracing: the tracer
// provider and its OTLP exporter (Setup), the spans of the data path
// (PutEvents, each event's ingest and match, each delivery attempt and
// dead letter: spans.go), the mapping between W3C trace context and AWS
// X-Ray trace headers (xray.go), and the slog handler that puts an
// event's ids and the trace's on every log line about it (log.go).
//
// Tracing is off unless Setup turns it on; while it is off, Enabled is
// false and the data path creates no span and allocates nothing for
// tracing. Trace context crosses JetStream in the event's X-Ray trace
// header (ingest.HeaderTrace), which every message of an event carries
// already (events stream, delivery tasks, retry schedules, dead letters):
// an X-Ray header holds exactly what a W3C traceparent does (trace id,
// parent span id, sampled flag), so while tracing is on each step rewrites
// its Parent to its own span and the next step, in this process or another
// one of the cluster, starts its span as that span's child.
package tracing

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// instrumentation is the tracer's name, the instrumentation scope of every
// span Switchyard makes.
const instrumentation = "github.com/switchyard/switchyard"

var (
	enabled atomic.Bool
	// followParent is set when the sampler keeps its parent's decision
	// (see unsampled).
	followParent atomic.Bool
	tracer       trace.Tracer = noop.NewTracerProvider().Tracer(instrumentation)
)

// Enabled reports whether tracing is on. The data path checks it before
// anything else it does for tracing.
func Enabled() bool { return enabled.Load() }

// Propagator reads and writes both W3C trace context (traceparent,
// tracestate) and X-Ray's X-Amzn-Trace-Id. On extraction traceparent,
// applied last, wins over an X-Amzn-Trace-Id of another trace.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(xray.Propagator{}, propagation.TraceContext{})

// Config says whether to trace.
type Config struct {
	// On turns tracing on (the --otel flag), exporting with OTLP as the
	// OTEL_EXPORTER_OTLP_* environment variables say.
	On bool
	// Version is the service.version resource attribute.
	Version string
}

// Setup turns tracing on when cfg.On is set or OTEL_TRACES_EXPORTER is
// "otlp" (the OpenTelemetry SDK's environment variable; "none" or unset
// leaves it off, other exporters are refused). The exporter speaks
// OTLP/HTTP (protobuf), or OTLP/gRPC when OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
// or OTEL_EXPORTER_OTLP_PROTOCOL is "grpc", to the endpoint, headers,
// timeout and TLS settings of the OTEL_EXPORTER_OTLP_* variables, which the
// exporters read; the sampler is OTEL_TRACES_SAMPLER's (parent-based,
// always on, by default) and the batching OTEL_BSP_*'s. The resource is
// service.name "switchyard" unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise.
//
// shutdown flushes the spans not yet exported and stops the exporter; it
// is a no-op when tracing is off.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	none := func(context.Context) error { return nil }
	switch v := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); v {
	case "otlp":
		cfg.On = true
	case "", "none":
	default:
		return none, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (or none) is supported", v)
	}
	if !cfg.On {
		return none, nil
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp *otlptrace.Exporter
	switch proto {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return none, fmt.Errorf("OTLP protocol %q: http/protobuf or grpc are supported", proto)
	}
	if err != nil {
		return none, fmt.Errorf("otlp exporter: %w", err)
	}
	res, err := resource.Merge(resource.NewSchemaless(attribute.String("service.name", "switchyard"), attribute.String("service.version", cfg.Version)), resource.Environment())
	if err != nil {
		return none, fmt.Errorf("otel resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(idGenerator{xray.NewIDGenerator()}),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	tracer = tp.Tracer(instrumentation)
	sampler := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER"))
	followParent.Store(sampler == "" || strings.HasPrefix(sampler, "parentbased_"))
	enabled.Store(true)
	return func(ctx context.Context) error {
		enabled.Store(false)
		return tp.Shutdown(ctx)
	}, nil
}

// idGenerator makes X-Ray-compatible trace ids (the first 32 bits the
// time, so that every trace Switchyard starts is also a valid X-Ray trace),
// except for a span whose context names the trace it belongs to without a
// parent span (an X-Ray header with a Root and no Parent: see rootOnly),
// which keeps that trace id.
type idGenerator struct{ sdktrace.IDGenerator }

type traceIDKey struct{}

func (g idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if id, ok := ctx.Value(traceIDKey{}).(trace.TraceID); ok && id.IsValid() {
		return id, g.NewSpanID(ctx, id)
	}
	return g.IDGenerator.NewIDs(ctx)
}
