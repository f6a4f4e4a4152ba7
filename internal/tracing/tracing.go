// Package tracing is Tessera's OpenTelemetry tracing: on when the
// standard OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) variable
// names a collector, off otherwise. Spans follow a request through its
// grant, the store and the signature; a W3C traceparent a caller sends is
// continued, and the trace id is the one the response reports.
//
// No tracer is installed globally. The request's span travels in its
// context, and Start opens a child only when that span records: with
// tracing off a step costs one context lookup, and the token path
// allocates nothing for it.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation names Tessera's spans' tracer.
const instrumentation = "github.com/tessera-id/tessera"

// Tracer starts request spans; nil is tracing off.
type Tracer struct {
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint is named and OTEL_TRACES_EXPORTER (or OTEL_SDK_DISABLED) does
// not turn them off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	if e := getenv("OTEL_TRACES_EXPORTER"); e != "" && e != "otlp" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// FromEnv returns a Tracer exporting over OTLP/HTTP as the OTEL_*
// variables say (endpoint, headers, timeout, sampler…), or nil when they
// do not ask for traces.
func FromEnv(ctx context.Context, version string) (*Tracer, error) {
	if !Enabled(os.Getenv) {
		return nil, nil
	}
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		semconv.ServiceName(serviceName()), semconv.ServiceVersion(version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// The SDK reads OTEL_TRACES_SAMPLER and its argument itself; its
	// default is parent-based always-on.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return &Tracer{
		provider:   tp,
		tracer:     tp.Tracer(instrumentation),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}, nil
}

// serviceName is OTEL_SERVICE_NAME, "tessera" unless set (the resource
// detector reads OTEL_RESOURCE_ATTRIBUTES beside it).
func serviceName() string {
	if n := os.Getenv("OTEL_SERVICE_NAME"); n != "" {
		return n
	}
	return "tessera"
}

// Shutdown flushes the spans not yet exported.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flush: %w", err)
	}
	return nil
}

// StartRequest begins the server span of an HTTP request, continuing the
// caller's trace when it sent a traceparent. It returns the trace id
// (32 hex digits), which the response and the log report, and the func
// that ends the span with the response's status.
func (t *Tracer) StartRequest(r *http.Request) (context.Context, string, func(status int, route string)) {
	ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPath(r.URL.Path)))
	return ctx, span.SpanContext().TraceID().String(), func(status int, route string) {
		if route != "" {
			span.SetName(r.Method + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

// Start opens a child span of the request's, named name, when the
// request is traced; otherwise it returns ctx and a func that does
// nothing.
func Start(ctx context.Context, name string) (context.Context, func()) {
	return StartAttr(ctx, name, "", "")
}

// StartAttr is Start with one string attribute (none when key is ""). It
// takes the attribute as strings, not a variadic list, so that a call
// with tracing off allocates nothing.
func StartAttr(ctx context.Context, name, key, value string) (context.Context, func()) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noop
	}
	var opts []trace.SpanStartOption
	if key != "" {
		opts = append(opts, trace.WithAttributes(attribute.String(key, value)))
	}
	ctx, span := parent.TracerProvider().Tracer(instrumentation).Start(ctx, name, opts...)
	return ctx, func() { span.End() }
}

// Fail marks the current span failed with err, when it records.
func Fail(ctx context.Context, err error) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() && err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}

func noop() {}
