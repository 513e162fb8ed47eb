package transport

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/internal/redact"
)

// tokenTrace is the trace layer of NewTokenRequests
// (TokenRequestConfig.Trace): one client span per token request, a child
// of the span its context carries (the call span of the call that needed
// the token: the token source's context, detached from the attempt, keeps
// it, a background refresh's too), and one MetricRequestDuration
// measurement. Its telemetry shows no query value and no header: a token
// request's are the client's credentials.
type tokenTrace struct {
	next     http.RoundTripper
	tel      *telemetry
	bare     []trace.SpanStartOption
	duration metric.Float64Histogram
}

// newTokenTrace returns the token requests' trace layer over next, or nil
// when cfg's tracer provider is the no-op one and its meter provider the
// no-op one too: then nothing is recorded, and a token request costs
// nothing more.
func newTokenTrace(next http.RoundTripper, cfg TraceConfig) *tokenTrace {
	tel := newTelemetry(cfg)
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	_, meterOff := mp.(metricnoop.MeterProvider)
	if p, ok := mp.(*metricnoop.MeterProvider); ok && p != nil {
		meterOff = true
	}
	if tel.off && meterOff {
		return nil
	}
	// Never a query value nor a header, whatever cfg.Redaction shows of
	// the calls'.
	tel.policy, tel.reqHeaders, tel.respHeaders = (*redact.Policy)(nil), nil, nil
	t := &tokenTrace{next: next, tel: tel, bare: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}}
	t.duration = requestDuration(tel.meter)
	return t
}

func (t *tokenTrace) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	m := methodOf(req.Method)
	host, port := serverOf(req.URL)
	ctx := req.Context()
	var span trace.Span
	r := req
	rec := false
	var attrs []attribute.KeyValue
	returned, sending, recorded := false, false, false
	var resp *http.Response
	defer func() {
		if returned && !recorded {
			// The caller's meter panicked measuring the request (a bug
			// in its MeterProvider): the response is closed, the span
			// ends as for a panic below, and the panic goes on.
			closeResponse(resp)
			returned = false
		}
		if !returned { // a panic below: not recovered here, the span ends
			if !sending {
				// Before the hand-on (the caller's Tracer's Start or
				// Propagator's Inject): the body is closed, as
				// RoundTrip must on every path.
				closeBody(req)
			}
			if span == nil {
				return // Start panicked: no span to end
			}
			if rec {
				span.SetAttributes(append(attrs, semconv.ErrorTypeKey.String(ErrorTypeOther))...)
				span.SetStatus(codes.Error, panicStatus)
			}
			span.End()
			t.recordUnwinding(ctx, time.Since(start).Seconds(), m, host, port, 0, ErrorTypeOther)
		}
	}()
	if !t.tel.off {
		ctx, span = t.tel.tracer.Start(ctx, m.span, t.bare...)
		// The token endpoint gets the span's context, as every send of
		// a call gets its attempt's (NewAttemptTrace): on a copy, the
		// token source's request is not changed.
		r = req.WithContext(ctx)
		r.Header = req.Header.Clone()
		if r.Header == nil {
			r.Header = make(http.Header)
		}
		t.tel.prop.Inject(ctx, headerCarrier(r.Header))
	} else {
		span = noopSpan // metrics only: nothing recorded on the caller's span
	}
	rec = span.IsRecording()
	if rec {
		attrs = []attribute.KeyValue{m.attr, semconv.ServerAddress(host), semconv.ServerPort(port),
			semconv.URLFull(validUTF8(t.tel.policy.URL(req.URL)))}
		if m.other {
			attrs = append(attrs, semconv.HTTPRequestMethodOriginal(validUTF8(req.Method)))
		}
	}
	sending = true
	resp, err := t.next.RoundTrip(r)
	returned = true
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	secs := time.Since(start).Seconds()
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		et := errorTypeIn(ctx, err)
		t.record(ctx, secs, m, host, port, 0, et)
		recorded = true
		if rec {
			span.SetAttributes(append(attrs, semconv.ErrorTypeKey.String(et))...)
			span.SetStatus(codes.Error, validUTF8(t.tel.policy.Error(err).Error()))
		}
		span.End()
		return nil, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	status := resp.StatusCode
	et := statusErrorType(status)
	t.record(ctx, secs, m, host, port, metricStatus(status), et)
	recorded = true
	if !rec {
		span.End()
		return resp, nil
	}
	if validStatus(status) {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	}
	if v := protocolVersion(resp); v != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(v))
	}
	if et != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
		span.SetStatus(codes.Error, "")
	}
	span.SetAttributes(attrs...)
	if resp.Body == http.NoBody {
		span.End()
		return resp, nil
	}
	// The span ends with the answer's body: read to its end, failed or
	// closed (a read error is its error.type).
	resp.Body = new(tracedBody).wrap(ctx, resp.Body, span, t.tel)
	return resp, nil
}

// noopSpan is the span of a token request with tracing off.
var noopSpan = trace.SpanFromContext(context.Background())

// record adds one MetricRequestDuration measurement for a token request.
// recordUnwinding is record while a panic is on its way to the caller:
// the caller's meter panicking too (a bug in its MeterProvider) has its
// panic dropped, so that the caller sees the first.
func (t *tokenTrace) recordUnwinding(ctx context.Context, secs float64, m *method, host string, port, status int, et string) {
	defer func() { _ = recover() }()
	t.record(ctx, secs, m, host, port, status, et)
}

func (t *tokenTrace) record(ctx context.Context, secs float64, m *method, host string, port, status int, et string) {
	if !t.duration.Enabled(ctx) {
		return
	}
	kvs := make([]attribute.KeyValue, 0, 5)
	kvs = append(kvs, m.attr, semconv.ServerAddress(host), semconv.ServerPort(port))
	if status > 0 {
		kvs = append(kvs, semconv.HTTPResponseStatusCode(status))
	}
	if et != "" {
		kvs = append(kvs, semconv.ErrorTypeKey.String(et))
	}
	t.duration.Record(ctx, secs, metric.WithAttributes(kvs...))
}
