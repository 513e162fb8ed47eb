package transport

import (
	"context"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/internal/stackhook"
)

// RedactionPolicy is the allowlist of TraceConfig.Redaction: the query
// keys (QueryKeys) and header names (Headers) whose values may appear in
// telemetry. The zero value shows none; credential headers (Authorization,
// Cookie, X-Api-Key...) are never shown.
type RedactionPolicy = redact.Policy

// TraceConfig configures NewCallTrace and NewAttemptTrace; a stack passes
// the same value to both. The zero value uses the global OTel providers and
// propagator and shows no query value and no header.
type TraceConfig struct {
	// TracerProvider creates the spans. nil: otel.GetTracerProvider() at
	// construction (the global provider, which forwards to whatever is
	// installed later with otel.SetTracerProvider). One whose tracer's
	// Start panics (a bug in it) has the request's body closed, and its
	// panic goes on (a call span started above such an attempt ends).
	TracerProvider trace.TracerProvider
	// MeterProvider creates the instruments. nil: otel.GetMeterProvider().
	// One whose instruments panic (a bug in it) has the body in hand
	// closed and the span ended (as for a panic below), and its panic
	// goes on; one that panics while another panic is on its way has its
	// own dropped, so the caller sees the first.
	MeterProvider metric.MeterProvider
	// Propagator injects the attempt span's context into the outgoing
	// request headers. nil: otel.GetTextMapPropagator(). One whose Inject
	// panics (a bug in it) has the request's body closed and the attempt
	// span (a token request's: see TokenRequestConfig.Trace) ended, and
	// its panic goes on.
	Propagator propagation.TextMapPropagator
	// Redaction decides which query values (url.full) and which header
	// values (http.request.header.*, http.response.header.*) may appear in
	// telemetry, and rewrites the URLs in returned errors. nil: show none.
	// It is copied at construction: changing it afterwards does not change
	// the layer.
	Redaction *redact.Policy
	// CallSpanKind is the kind of the logical call span. Zero:
	// trace.SpanKindClient: the call span then also reports the call's
	// first send (its traceparent goes to the server, it carries the
	// send's protocol version and allowlisted headers), so a call answered
	// at the first try costs one span; each resend (and the auth layer's
	// replay) gets a client span of its own, a child of the call span. Set
	// trace.SpanKindInternal for a strict two-level tree, one internal span
	// per call and one client span per physical send, the first included
	// (what a backend that derives request counts from client spans wants);
	// it costs one more span per call.
	CallSpanKind trace.SpanKind
	// StartAttributes gives http.request.method, server.address and
	// server.port to the span at its start, where a sampler that decides
	// on attributes can see them, as the semantic conventions recommend.
	// It costs two allocations per span, so by default (false) they are
	// set with the other attributes when the response arrives; samplers
	// that look only at the parent and the trace ID (the SDK default,
	// ParentBased, TraceIDRatioBased) are unaffected.
	StartAttributes bool
}

// Names of the instruments, and of the attributes that are not in the OTel
// semantic conventions, that the trace layers record.
const (
	// MetricRequestDuration is the histogram NewCallTrace records once per
	// call, and NewTokenRequests once per token request
	// (TokenRequestConfig.Trace), in seconds (unit "s"), from the start of the call until the
	// response headers arrived or the call failed, across all its attempts
	// and waits. Buckets: the semantic-convention advice, 5 ms to 10 s.
	// Attributes: http.request.method, server.address, server.port,
	// http.response.status_code (when a response came with a valid status,
	// 100-599), error.type (when the call failed, the status is 400 or
	// more, or the status is invalid: ErrorTypeOther, so that a server
	// cannot create a series per response).
	MetricRequestDuration = "http.client.request.duration"
	// MetricAttempts is the counter NewAttemptTrace adds 1 to per physical
	// send (unit "{attempt}"). Attributes: http.request.method,
	// server.address and securecall.outcome.
	MetricAttempts = "securecall.client.attempts"

	// AttemptCountKey is the call span's count of physical sends.
	AttemptCountKey = attribute.Key("securecall.attempt_count")
	// OutcomeKey is the attempt counter's outcome: OutcomeOK for a response
	// with a valid status below 400, else the attempt's error.type (the
	// status code; ErrorTypeOther for a status outside 100-599; ErrorType
	// of the error).
	OutcomeKey = attribute.Key("securecall.outcome")
	// OutcomeOK is the outcome of an attempt that got a status below 400.
	OutcomeOK = "ok"
)

// durationBuckets are the semantic-convention bucket boundaries of
// http.client.request.duration, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// NewCallTrace returns the outermost layer of a stack: one logical span per
// call (kind client unless TraceConfig.CallSpanKind says otherwise, named
// after the method as the semantic conventions name HTTP client spans:
// "GET", or "HTTP" for a method outside the known set), parent of the
// attempt spans, and one MetricRequestDuration measurement per call.
//
// The span carries http.request.method (an unknown method becomes _OTHER,
// with http.request.method_original), server.address (the host name
// lower-case, without a trailing dot, in punycode, an IP address in its
// standard form, as HostKey names it),
// server.port, url.full
// (redacted), http.response.status_code, AttemptCountKey (read from a
// per-call counter NewAttemptTrace increments; see CallAttempts) and, on
// failure, error.type (see ErrorType) and status Error with the redacted
// error message (no message for a status of 400 or more, or outside
// 100-599, which the status code explains). It ends when the response body is read to EOF, fails or
// is closed, so it covers reading the body; a response with http.NoBody
// ends it at once. A panic of the layers below (not recovered here: it goes
// on) ends the span too, with status Error and error.type ErrorTypeOther,
// and is recorded as a failed call. Errors are returned with their URLs redacted
// (TraceConfig.Redaction.Error), and so are the errors of the reads of a
// response body the layer wraps (a trailer line net/http cannot parse,
// which its error quotes).
//
// The end (io.EOF) of an HTTP/1 body of unknown length (chunked) that the
// layer wraps (its span is recording, or the layer tops a client.New
// stack), read once the caller's context has ended, is that context's
// error: it may be the server's reaction to the cancellation, not the
// body's end (see BodyTimeoutError for the timeouts' own).
//
// A nil next means http.DefaultTransport. The layer never modifies the
// caller's request: it sends a shallow copy carrying the span's context.
func NewCallTrace(next http.RoundTripper, cfg TraceConfig) http.RoundTripper {
	if err := cfg.checkProviders(""); err != nil {
		return refuseAll{err}
	}
	c := &callTrace{next: orDefault(next), tel: newTelemetry(cfg)}
	kind := cfg.CallSpanKind
	if kind == trace.SpanKindUnspecified {
		kind = trace.SpanKindClient
	}
	c.bare = []trace.SpanStartOption{trace.WithSpanKind(kind)}
	c.client = kind == trace.SpanKindClient
	c.duration = requestDuration(c.tel.meter)
	return c
}

// checkProviders refuses a provider of c holding a nil pointer (a
// *sdktrace.TracerProvider variable never assigned, which is no nil
// interface and would panic on its first use): a *ConfigError naming its
// field after prefix. NewCallTrace and NewAttemptTrace, which return no
// error, give a layer refusing every call with it.
func (c TraceConfig) checkProviders(prefix string) error {
	for _, f := range [...]struct {
		field string
		v     any
	}{{"TracerProvider", c.TracerProvider}, {"MeterProvider", c.MeterProvider}, {"Propagator", c.Propagator}} {
		if err := typedNil(prefix+f.field, f.v); err != nil {
			return err
		}
	}
	return nil
}

// requestDuration creates meter's MetricRequestDuration histogram; a
// failure is handed to otel.Handle and gives a no-op histogram.
func requestDuration(meter metric.Meter) metric.Float64Histogram {
	h, err := meter.Float64Histogram(MetricRequestDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	if h == nil {
		return metricnoop.Float64Histogram{}
	}
	return h
}

// NewAttemptTrace returns the innermost layer of a stack, just above the
// base transport: one span per physical send (kind client, child of the
// call span; a call's first send reports on the call span itself when that
// is a client span, see TraceConfig.CallSpanKind), with the attributes of
// the OTel HTTP client conventions:
// http.request.method (and http.request.method_original), server.address,
// server.port, url.full (redacted), http.request.resend_count (the
// attempt's number from AttemptFrom, only when above 0),
// http.response.status_code, network.protocol.version, error.type (the
// status code as a string from 400 up; ErrorTypeOther for a status outside
// 100-599, which RFC 9110 makes invalid; ErrorType of an error), the
// allowlisted request and response headers as http.request.header.<name>
// and http.response.header.<name>, and status Error for a status of 400 or
// more, an invalid status, or an error (with the redacted error message). It injects the span's
// context into the request headers with the propagator, on the attempt's own
// request (Own: free inside a stack, a clone when used alone), after any
// signing layer above it; a traceparent it sets replaces the request's under
// any spelling, and the request's tracestate with it (dropped when the span
// context has none: it qualified the caller's traceparent). The span ends when the response body is read to
// EOF, fails or is closed, or, with status Error and error.type
// ErrorTypeOther, when the layers below panic. Each send adds 1 to
// MetricAttempts.
//
// A nil next means http.DefaultTransport.
func NewAttemptTrace(next http.RoundTripper, cfg TraceConfig) http.RoundTripper {
	if err := cfg.checkProviders(""); err != nil {
		return refuseAll{err}
	}
	a := &attemptTrace{next: orDefault(next), tel: newTelemetry(cfg)}
	a.bare = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	cnt, err := a.tel.meter.Int64Counter(MetricAttempts,
		metric.WithUnit("{attempt}"),
		metric.WithDescription("Physical HTTP sends, one per attempt of a call."))
	if err != nil {
		otel.Handle(err)
	}
	if cnt == nil {
		cnt = metricnoop.Int64Counter{}
	}
	a.attempts = cnt
	return a
}

// telemetry is what both layers resolve from a TraceConfig.
type telemetry struct {
	off         bool // the tracer provider is the no-op one: no spans at all
	startAttrs  bool
	tracer      trace.Tracer
	meter       metric.Meter
	prop        propagation.TextMapPropagator
	policy      *redact.Policy
	reqHeaders  []headerAttr
	respHeaders []headerAttr
	// end: what a call does when it ends; set on a call trace's only
	// (stackhook.CloseAfterCalls).
	end *callEnd
}

// callEnd closes the base transport's idle connections when a call ends
// after its client was closed (stackhook.CloseAfterCalls): the connection
// that carried the call has gone back to the pool, where nothing else
// would close it before the idle timeout. One atomic load of a flag that
// is written once: no shared write on the hot path.
type callEnd struct {
	closed *atomic.Bool
	idle   interface{ CloseIdleConnections() }
}

// ended is called once a call has ended: its response body closed, or the
// call failed. Safe on a nil *callEnd.
//
// Over HTTP/2, a response without a body (END_STREAM on its headers) to a
// request with one can reach the caller before net/http has removed the
// stream from its connection (it waits for that only when the request
// had no body either): the connection is not idle yet, and
// CloseIdleConnections skips it. So, once closed, ended looks again a
// little later (closeRechecks), on a timer: only calls that end after
// Close pay for it.
func (e *callEnd) ended() {
	if e != nil && e.closed.Load() {
		closeIdleSoon(e.idle)
	}
}

// closeIdleSoon closes idle's idle connections now and again after each
// of closeRechecks (stackhook.CloseIdleSoon).
func closeIdleSoon(idle interface{ CloseIdleConnections() }) {
	idle.CloseIdleConnections()
	for _, d := range closeRechecks {
		time.AfterFunc(d, idle.CloseIdleConnections)
	}
}

// closeRechecks are the delays after which a call that ended after its
// client was closed closes the idle connections again (callEnd.ended).
var closeRechecks = [...]time.Duration{50 * time.Millisecond, time.Second}

func init() {
	stackhook.CloseIdleSoon = closeIdleSoon
	stackhook.CloseAfterCalls = func(rt http.RoundTripper, closed *atomic.Bool, idle interface{ CloseIdleConnections() }) bool {
		c, ok := rt.(*callTrace)
		if ok && closed != nil && idle != nil {
			c.tel.end = &callEnd{closed: closed, idle: idle}
		}
		return ok
	}
}

// headerAttr is an allowlisted header and its precomputed attribute key.
type headerAttr struct {
	name string // canonical
	key  attribute.Key
	url  bool // the value is a URL: redacted as url.full is
}

// urlHeaders are the visible headers whose values are URLs (Link: URLs in
// angle brackets; Refresh: a delay, then the URL), which may carry a
// secret in their query or userinfo like any URL.
var urlHeaders = []string{"Location", "Content-Location", "Referer", "Origin", "Link", "Refresh"}

func newTelemetry(cfg TraceConfig) *telemetry {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	prop := cfg.Propagator
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	_, off := tp.(tracenoop.TracerProvider)
	if p, ok := tp.(*tracenoop.TracerProvider); ok && p != nil {
		off = true
	}
	t := &telemetry{
		off:        off && otelSpanKey != nil,
		startAttrs: cfg.StartAttributes,
		tracer:     tp.Tracer(meterName, trace.WithSchemaURL(semconv.SchemaURL)),
		meter:      mp.Meter(meterName, metric.WithSchemaURL(semconv.SchemaURL)),
		prop:       prop,
		policy:     cfg.Redaction.Clone(), // not the caller's, which it may change
	}
	for _, h := range t.policy.VisibleHeaders() {
		lower := strings.ToLower(h)
		isURL := slices.Contains(urlHeaders, h)
		t.reqHeaders = append(t.reqHeaders, headerAttr{h, attribute.Key("http.request.header." + lower), isURL})
		t.respHeaders = append(t.respHeaders, headerAttr{h, attribute.Key("http.response.header." + lower), isURL})
	}
	return t
}

// appendHeaders appends the allowlisted headers present in h, the URLs
// among them redacted by p.
func appendHeaders(attrs []attribute.KeyValue, h http.Header, list []headerAttr, p *redact.Policy) []attribute.KeyValue {
	for _, ha := range list {
		v := h[ha.name]
		if len(v) == 0 {
			continue
		}
		if ha.url {
			red := make([]string, len(v))
			for i, s := range v {
				switch ha.name {
				case "Link":
					red[i] = redactLinks(s, p)
				case "Refresh":
					red[i] = redactRefresh(s, p)
				default:
					red[i] = p.URLString(s)
				}
			}
			v = red
		}
		for i, s := range v {
			if !utf8.ValidString(s) { // obs-text bytes of the server's
				v = slices.Clone(v)
				for j := i; j < len(v); j++ {
					v[j] = validUTF8(v[j])
				}
				break
			}
		}
		attrs = append(attrs, ha.key.StringSlice(v))
	}
	return attrs
}

// redactRefresh redacts, with p, the URL of a Refresh field value (the
// HTML standard's shared declarative refresh steps: a delay of digits and
// dots, then ";" or "," or whitespace, then the URL, which "url=" in any
// case may precede and a ' or " may quote), as a redirect's Location is. The
// delay and the spelling before the URL are kept; what follows a closing
// quote, which a client ignores, is replaced with Redacted; anything that
// is not a delay followed by that is redacted as a URL.
func redactRefresh(v string, p *redact.Policy) string {
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.' || v[i] == ' ' || v[i] == '\t') {
		i++
	}
	for i < len(v) && (v[i] == ';' || v[i] == ',' || v[i] == ' ' || v[i] == '\t') {
		i++
	}
	if len(v)-i >= 3 && strings.EqualFold(v[i:i+3], "url") {
		k := i + 3
		for k < len(v) && (v[k] == ' ' || v[k] == '\t') {
			k++
		}
		if k < len(v) && v[k] == '=' {
			k++
			for k < len(v) && (v[k] == ' ' || v[k] == '\t') {
				k++
			}
			i = k
		}
	}
	head, rest := v[:i], v[i:]
	if rest == "" {
		return v
	}
	if q := rest[0]; q == '\'' || q == '"' {
		end := strings.IndexByte(rest[1:], q)
		if end < 0 {
			return head + rest[:1] + p.URLString(rest[1:])
		}
		tail := ""
		if end+2 < len(rest) {
			tail = redact.Redacted
		}
		return head + rest[:1] + p.URLString(rest[1:1+end]) + rest[:1] + tail
	}
	return head + p.URLString(rest)
}

// redactLinks redacts, with p, every URL of a Link field value (RFC 8288:
// `<url>; rel="next", <url>; rel="prev"`): the target in angle brackets of
// every link and the value of every anchor parameter (§3.2: a URI
// reference, which may carry a secret as the link's own may). The value is
// split as Appendix B.2 reads it: a "<", ">", "," or ";" inside a quoted
// string is text, a quoted string ends at a DQUOTE no backslash escapes,
// and an unquoted parameter value runs to the next ";" or ",", whitespace
// included. A bracket or quoted anchor left open redacts the rest of the
// value as a URL, another quoted value left open is replaced with
// Redacted; from where the field stops being a link list (text
// where a link, a ";" or a "," belongs, or a parameter name that is not a
// token), which a client stops reading at, the rest is replaced with
// Redacted.
func redactLinks(v string, p *redact.Policy) string {
	var b strings.Builder
	b.Grow(len(v))
	inLink := false // past a link's target: a ";" or "," comes next
	for v != "" {
		switch c := v[0]; {
		case c == ' ' || c == '\t' || c == ',':
			if c == ',' {
				inLink = false
			}
			b.WriteByte(c)
			v = v[1:]
		case c == '<' && !inLink:
			b.WriteByte('<')
			end := strings.IndexByte(v, '>')
			if end < 0 {
				b.WriteString(p.URLString(v[1:]))
				return b.String()
			}
			b.WriteString(p.URLString(v[1:end]))
			b.WriteByte('>')
			v = v[end+1:]
			inLink = true
		case c == ';' && inLink:
			b.WriteByte(';')
			var ok bool
			if v, ok = writeLinkParam(&b, v[1:], p); !ok {
				b.WriteString(redact.Redacted)
				return b.String()
			}
		default:
			b.WriteString(redact.Redacted)
			return b.String()
		}
	}
	return b.String()
}

// writeLinkParam writes the link-param at the start of s (the text past a
// ";" of a Link field value), the value of an anchor parameter redacted as
// a URL, and returns the rest of s, or false, having written nothing of it,
// when the parameter's name is not a token.
func writeLinkParam(b *strings.Builder, s string, p *redact.Policy) (string, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	k := i
	for k < len(s) && s[k] != '=' && s[k] != ';' && s[k] != ',' {
		k++
	}
	name := strings.TrimRight(s[i:k], " \t")
	if name == "" && (k == len(s) || s[k] != '=') {
		b.WriteString(s[:k]) // an empty parameter ("<u>;;", "<u>; ,")
		return s[k:], true
	}
	if !isLinkToken(name) {
		return s, false
	}
	b.WriteString(s[:k])
	s = s[k:]
	if s == "" || s[0] != '=' {
		return s, true
	}
	k = 1
	for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
		k++
	}
	b.WriteString(s[:k])
	s = s[k:]
	anchor := strings.EqualFold(name, "anchor")
	if s != "" && s[0] == '"' {
		end, val := 1, []byte(nil)
		for ; end < len(s) && s[end] != '"'; end++ {
			if s[end] == '\\' && end+1 < len(s) {
				end++
			}
			val = append(val, s[end])
		}
		closed := end < len(s)
		if !anchor {
			if !closed {
				// No link list from the open quote on: what follows,
				// a link the server meant to send after it included,
				// is no text a client reads.
				b.WriteString(redact.Redacted)
				return "", true
			}
			end++
			b.WriteString(s[:end])
			return s[end:], true
		}
		b.WriteByte('"')
		red := p.URLString(string(val))
		for j := 0; j < len(red); j++ {
			if red[j] == '"' || red[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(red[j])
		}
		if !closed {
			return "", true
		}
		b.WriteByte('"')
		return s[end+1:], true
	}
	end := strings.IndexAny(s, ";,")
	if end < 0 {
		end = len(s)
	}
	if !anchor {
		b.WriteString(s[:end])
		return s[end:], true
	}
	val := strings.TrimRight(s[:end], " \t")
	b.WriteString(p.URLString(val))
	b.WriteString(s[len(val):end])
	return s[end:], true
}

// isLinkToken reports whether s is an RFC 9110 token (a link-param name,
// "title*" included).
func isLinkToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validUTF8 returns s, its bytes that are not UTF-8 replaced by U+FFFD.
// Every string the trace layers give a span (attribute, status) or a
// metric attribute passes through it when it may come from outside: a
// host url.Parse took as it is ("http://a\xffb.example/", a user's
// webhook URL), a method, a server's header value (obs-text), an error
// quoting them. OTLP encodes attribute values as protobuf strings and
// refuses a batch holding one that is not UTF-8: a span would lose its
// whole export batch, and a metric series, kept by a cumulative
// aggregation, every export after it.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// method is a request method as the semantic conventions name it.
type method struct {
	span  string             // span name
	attr  attribute.KeyValue // http.request.method
	other bool               // not a known method: _OTHER
}

var (
	methodGet     = &method{"GET", semconv.HTTPRequestMethodGet, false}
	methodHead    = &method{"HEAD", semconv.HTTPRequestMethodHead, false}
	methodPost    = &method{"POST", semconv.HTTPRequestMethodPost, false}
	methodPut     = &method{"PUT", semconv.HTTPRequestMethodPut, false}
	methodDelete  = &method{"DELETE", semconv.HTTPRequestMethodDelete, false}
	methodPatch   = &method{"PATCH", semconv.HTTPRequestMethodPatch, false}
	methodOptions = &method{"OPTIONS", semconv.HTTPRequestMethodOptions, false}
	methodConnect = &method{"CONNECT", semconv.HTTPRequestMethodConnect, false}
	methodTrace   = &method{"TRACE", semconv.HTTPRequestMethodTrace, false}
	methodQuery   = &method{"QUERY", semconv.HTTPRequestMethodQuery, false}
	methodOther   = &method{"HTTP", semconv.HTTPRequestMethodOther, true}
)

// methodOf normalises m ("" is GET in net/http; methods are
// case-sensitive, so "get" is _OTHER).
func methodOf(m string) *method {
	switch m {
	case "", "GET":
		return methodGet
	case "HEAD":
		return methodHead
	case "POST":
		return methodPost
	case "PUT":
		return methodPut
	case "DELETE":
		return methodDelete
	case "PATCH":
		return methodPatch
	case "OPTIONS":
		return methodOptions
	case "CONNECT":
		return methodConnect
	case "TRACE":
		return methodTrace
	case "QUERY":
		return methodQuery
	}
	return methodOther
}

// serverOf returns server.address and server.port of u; the port defaults
// by scheme. Userinfo in a Host built by hand ("user:pass@host", which
// url.Parse would have put in User) is dropped: the address names the
// span and is a metric attribute. A host name is given as the inventory,
// the audit log and the resilience layers' metrics name it (HostKey's
// host): lower-case, without one trailing dot, an internationalised name
// in its punycode form ("api.example.com" for "API.Example.com.",
// "xn--bcher-kva.example" for "bücher.example"), so that one server is
// one server.address; an IP address as HostKey gives it too, an IPv6
// literal without its brackets: in its RFC 5952 form with its zone as
// written ("fe80::1%ETH0" for "[FE80:0::1%25ETH0]"), an IPv4-mapped one
// and an IPv4 address in a legacy form in dotted-decimal ("127.0.0.1" for
// "[::ffff:7f00:1]" and "127.1"). A host longer than a DNS name (253
// bytes) is "_invalid".
//
// Called by the call and attempt traces (once a Host for the http and
// https schemes, see serverCache; per call otherwise), it splits Host in one
// backward pass instead of four (the last '@', url.URL's Hostname and
// Port, utf8.ValidString), which also tells whether the name is already
// in its normal form (lower-case ASCII: only a trailing dot to drop, at
// no allocation); the result is Hostname and Port's of Host after its
// last '@', the name normalised as originHost and ipv4Key do (an IP
// literal as ipLiteralKey does, without brackets), with invalid UTF-8
// replaced.
func serverOf(u *url.URL) (string, int) {
	hp := u.Host
	at, colon, plain, upper := -1, -1, true, false
	for i := len(hp) - 1; i >= 0; i-- {
		c := hp[i]
		if c == '@' {
			at = i
			break
		}
		if c == ':' && colon < 0 {
			colon = i
		}
		if c >= utf8.RuneSelf {
			plain = false
		} else if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if at >= 0 {
		hp = hp[at+1:]
		if colon >= 0 {
			colon -= at + 1
		}
	}
	// url.URL's splitHostPort: a port after the last ':' when it is all
	// digits (or empty), then the brackets of an IPv6 literal.
	host, port := hp, ""
	if colon >= 0 && ascii.AllDigits(hp[colon+1:]) {
		host, port = hp[:colon], hp[colon+1:]
	}
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		// HostKey's form: RFC 5952, the zone as written, an IPv4-mapped
		// address as IPv4 (no allocation for a canonical literal).
		if k, ok := ipLiteralKey(host); ok {
			host = k
		}
		if len(host) >= 2 && host[0] == '[' {
			host = host[1 : len(host)-1]
		}
	} else {
		if !plain || upper {
			host, _ = originHostSlow(host)
		} else if host != "" && host[len(host)-1] == '.' {
			host = host[:len(host)-1]
		}
		if n := len(host); n > 0 && (ascii.IsHex(host[n-1]) || host[n-1] == 'x' || host[n-1] == 'X') {
			// "127.1" is 127.0.0.1, as HostKey says. Only a name ending
			// in a (hex) digit, or in the "0x" of a hex zero ("127.0x"
			// is 127.0.0.0), can be an IPv4 address in any form: a DNS
			// name's last label ("com", "test") seldom does.
			host = ipv4Key(host)
		}
	}
	if !plain {
		host = validUTF8(host)
	}
	if len(host) > maxHostLen {
		// Longer than a DNS name: nothing can dial it, and url.Parse
		// bounds no host; a metric series would keep it for good.
		host = invalidHostKey
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err == nil {
			return host, p
		}
		return host, 0
	}
	switch u.Scheme {
	case "https":
		return host, 443
	case "http":
		return host, 80
	}
	return host, 0
}

// statusStrings holds the decimal form of the status codes 100..599, for
// error.type without an allocation per request.
var statusStrings = sync.OnceValue(func() *[500]string {
	var s [500]string
	for i := range s {
		s[i] = strconv.Itoa(100 + i)
	}
	return &s
})

func statusString(code int) string {
	if validStatus(code) {
		return statusStrings()[code-100]
	}
	return strconv.Itoa(code)
}

// validStatus reports whether code is in 100-599. RFC 9110 §15 makes any
// other code invalid, to be treated by a client as a 5xx; net/http hands
// them on all the same (any three digits over HTTP/1.1, any integer in an
// HTTP/2 :status).
func validStatus(code int) bool { return code >= 100 && code < 600 }

// statusErrorType returns error.type for a response with status code: ""
// below 400, the code from 400 to 599, and ErrorTypeOther for an invalid
// code, which is an error too but must not become an attribute value of a
// metric: a server could then create a series per response.
func statusErrorType(code int) string {
	switch {
	case !validStatus(code):
		return ErrorTypeOther
	case code >= 400:
		return statusString(code)
	}
	return ""
}

// metricStatus is http.response.status_code for a metric: code, or 0
// (none) for an invalid code, which error.type reports.
func metricStatus(code int) int {
	if validStatus(code) {
		return code
	}
	return 0
}

// protocolVersion returns network.protocol.version of resp.
func protocolVersion(resp *http.Response) string {
	return protocolNames[protocolCode(resp)]
}

// protocolNames are the network.protocol.version values by protocolCode.
var protocolNames = [...]string{"", "1.1", "2", "1.0", "3"}

// protocolCode returns the index of resp's protocol in protocolNames (0:
// none known).
func protocolCode(resp *http.Response) uint32 {
	switch {
	case resp.ProtoMajor == 1 && resp.ProtoMinor == 1:
		return 1
	case resp.ProtoMajor == 2:
		return 2
	case resp.ProtoMajor == 1 && resp.ProtoMinor == 0:
		return 3
	case resp.ProtoMajor == 3:
		return 4
	}
	return 0
}

// maxCacheEntries bounds each attribute cache: past it (a client talking
// to hundreds of hosts), options are built per request instead.
const maxCacheEntries = 256

// optCache is a bounded copy-on-write map from a small key to precomputed
// options: reads are lock-free, writes (once per key) copy. The first
// optFew keys stored are also kept in a slice that a read scans before
// the map: a key of several fields (a durKey, a countKey) compares in a
// few instructions, where the map hashes every field (~250 instructions
// a lookup, twice a call), and a client's calls mostly come back with the
// few sets of attributes it met first. Nothing is written on a read.
type optCache[K comparable, V any] struct {
	few atomic.Pointer[[]optEntry[K, V]]
	m   atomic.Pointer[map[K]V]
	mu  sync.Mutex
}

// optEntry is one key of an optCache's scanned prefix and its value.
type optEntry[K comparable, V any] struct {
	k K
	v V
}

// optFew is how many keys an optCache scans before its map.
const optFew = 8

func (c *optCache[K, V]) load(k K) (V, bool) {
	if f := c.few.Load(); f != nil {
		for i := range *f {
			if e := &(*f)[i]; e.k == k {
				return e.v, true
			}
		}
		if len(*f) < optFew {
			var zero V
			return zero, false // every key is in the slice
		}
	}
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

func (c *optCache[K, V]) store(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	var n map[K]V
	if old == nil {
		n = make(map[K]V, 4)
	} else {
		if len(*old) >= maxCacheEntries {
			return
		}
		if _, ok := (*old)[k]; ok {
			return // stored by another caller since its load
		}
		n = make(map[K]V, len(*old)+1)
		for ok, ov := range *old {
			n[ok] = ov
		}
	}
	n[k] = v
	if f := c.few.Load(); f == nil || len(*f) < optFew {
		var nf []optEntry[K, V]
		if f != nil {
			nf = make([]optEntry[K, V], len(*f), len(*f)+1)
			copy(nf, *f)
		}
		nf = append(nf, optEntry[K, V]{k, v})
		c.few.Store(&nf)
	}
	c.m.Store(&n)
}

// server is server.address and server.port of a URL, as serverOf gives
// them.
type server struct {
	host string
	port int
}

// serverCache holds serverOf's answers by a URL's Host as written, for the
// http and https schemes, so that a layer works them out once a Host, not
// once a request.
type serverCache struct {
	http, https optCache[string, *server]
}

// maxServerKey bounds the Host a serverCache keeps: a longer one (server.address
// "_invalid") is worked out per request.
const maxServerKey = maxHostLen + 16

// of returns server.address and server.port of u, and the cached *server
// they come from (nil when u's are not cached: another scheme, userinfo in
// the Host, which the cache must not keep, a Host too long, the cache
// full).
func (c *serverCache) of(u *url.URL) (*server, string, int) {
	var oc *optCache[string, *server]
	switch u.Scheme {
	case "https":
		oc = &c.https
	case "http":
		oc = &c.http
	default:
		h, p := serverOf(u)
		return nil, h, p
	}
	m := oc.m.Load()
	if m != nil {
		if s, ok := (*m)[u.Host]; ok {
			return s, s.host, s.port
		}
	}
	h, p := serverOf(u)
	if (m != nil && len(*m) >= maxCacheEntries) || len(u.Host) > maxServerKey || strings.IndexByte(u.Host, '@') >= 0 {
		return nil, h, p
	}
	s := &server{h, p}
	// A copy: u.Host is often a piece of the whole URL, query included.
	oc.store(strings.Clone(u.Host), s)
	return s, h, p
}

// spanKey selects the precomputed start options of a span.
type spanKey struct {
	m    *method
	host string
	port int
}

// spanOptions returns the start options for k: bare (the kind alone), or,
// with TraceConfig.StartAttributes, the kind and the method, server.address
// and server.port attributes, cached.
func (t *telemetry) spanOptions(c *optCache[spanKey, []trace.SpanStartOption], bare []trace.SpanStartOption, k spanKey) []trace.SpanStartOption {
	if !t.startAttrs {
		return bare
	}
	kind := bare[0]
	if o, ok := c.load(k); ok {
		return o
	}
	o := []trace.SpanStartOption{kind, trace.WithAttributes(
		k.m.attr, semconv.ServerAddress(k.host), semconv.ServerPort(k.port))}
	c.store(k, o)
	return o
}

// appendStart appends the attributes spanOptions did not give at the
// start.
func (t *telemetry) appendStart(attrs []attribute.KeyValue, k spanKey) []attribute.KeyValue {
	if t.startAttrs {
		return attrs
	}
	return append(attrs, k.m.attr, semconv.ServerAddress(k.host), semconv.ServerPort(k.port))
}

// callTrace is the layer of NewCallTrace.
type callTrace struct {
	next     http.RoundTripper
	tel      *telemetry
	client   bool // the call span is a client span: it may stand for the first send
	bare     []trace.SpanStartOption
	duration metric.Float64Histogram
	spans    optCache[spanKey, []trace.SpanStartOption]
	durs     optCache[durKey, []metric.RecordOption]
	servers  serverCache
}

// durKey selects the attribute set of a duration measurement.
type durKey struct {
	m       *method
	host    string
	port    int
	status  int
	errType string
}

// callState is what a call shares with the layers inside it.
type callState struct {
	attempts atomic.Int32
	// proto is the protocolCode of the first send's response when that
	// send reports on the call span and left its one attribute,
	// network.protocol.version, to the call trace (one SetAttributes on
	// the span instead of two).
	proto   atomic.Uint32
	src     *url.URL // the caller's URL, which urlFull renders
	urlFull string   // redacted url.full; "" when the span is not recording
}

type callKey struct{}

// noopTracer is the no-op tracer, whose spans the tracing-off path hands out.
var noopTracer = tracenoop.NewTracerProvider().Tracer("")

// attrBuf is a scratch buffer for the attributes a layer sets on a span in
// one SetAttributes call (the SDK copies them). Pooled: a buffer on the
// stack would escape through the interface call and cost an allocation.
type attrBuf [16]attribute.KeyValue

var attrBufs = sync.Pool{New: func() any { return new(attrBuf) }}

func getAttrBuf() *attrBuf { return attrBufs.Get().(*attrBuf) }

// putAttrBuf clears the buffer (it must not keep url.full or header values
// alive) and returns it to the pool. attrs is the last slice built on b
// (from b[:0], by appends): what it holds of b is all that was written
// there (all of b when attrs outgrew it), and only that is cleared, not
// the whole KiB (~130 instructions a call when a call span's 9 of 16 are
// set, nothing for a merged send's none). A pooled buffer is all zero.
func putAttrBuf(b *attrBuf, attrs []attribute.KeyValue) {
	clear(b[:min(len(attrs), len(b))])
	attrBufs.Put(b)
}

func callStateFrom(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	return cs
}

func (c *callTrace) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	m := methodOf(req.Method)
	// server.address and server.port name the span and the duration's
	// series: with tracing off and the duration not recorded (a no-op
	// meter) nothing reads them, and they are not worked out (record
	// does if its instrument turns on during the call).
	u := req.URL // the call's, whatever the layers below do with req
	sk := spanKey{m, "", portUnknown}
	cc := &callScope{start: start}
	var ctx context.Context
	var span trace.Span
	rec, returned, sending, recorded := false, false, false, false
	var resp *http.Response
	defer func() {
		if !returned { // a panic (or runtime.Goexit) below: not recovered here
			if !sending {
				// Before the hand-on (the caller's Tracer's Start, its
				// meter's Enabled): the body is closed, as RoundTrip
				// must on every path.
				closeBody(req)
			}
			if span != nil { // else no span started, nothing to measure
				c.panicked(ctx, cc, span, rec, sk, req.Method, u, start)
			}
		} else if !recorded {
			// The caller's meter panicked measuring the call (a bug in
			// its MeterProvider): the response is closed, the span ends
			// as for a panic below, and the panic goes on.
			closeResponse(resp)
			c.panicked(ctx, cc, span, rec, sk, req.Method, u, start)
		}
	}()
	if !c.tel.off || c.duration.Enabled(req.Context()) {
		_, sk.host, sk.port = c.servers.of(u)
	}
	if c.tel.off {
		// Tracing is off: no span is started (the no-op tracer's Start
		// would still cost a context), the scope answers with the span
		// the no-op tracer would have put there.
		ctx = req.Context()
		span = trace.SpanFromContext(ctx)
		if span.IsRecording() {
			// A recording span of another provider: what the no-op tracer
			// hands out, a non-recording span with its span context (so
			// the caller's trace is still propagated, and nothing is
			// recorded on the caller's span). Costs the no-op tracer's
			// context, in this case only.
			_, span = noopTracer.Start(ctx, "")
		}
		cc.span = span
	} else {
		ctx, span = c.tel.tracer.Start(req.Context(), m.span, c.tel.spanOptions(&c.spans, c.bare, sk)...)
		if c.client {
			cc.firstSend = span // the first send reports on the call span
		}
	}
	cc.Context = ctx
	rec = span.IsRecording()
	if rec {
		cc.state.src = req.URL
		cc.state.urlFull = validUTF8(c.tel.policy.URL(req.URL))
	}

	cc.req = *req // the call's own copy: inner call layers change it in place
	setContext(&cc.req, cc)
	r := &cc.req
	cc.owns = true
	sending = true
	resp, err := c.next.RoundTrip(r)
	returned = true
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}

	var secs float64
	if cc.elapsed > 0 {
		secs = cc.elapsed.Seconds() // the inventory's reading: no second one
	} else {
		secs = time.Since(start).Seconds()
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		// Go's HTTP/2 refusal of a connection-specific header quotes the
		// header's value: without a retry or attempt-trace layer below,
		// it arrives unconverted.
		err = c.tel.policy.Error(invalidForHTTP2(r, err))
		et := errorTypeIn(ctx, err)
		c.record(ctx, secs, u, durKey{m, sk.host, sk.port, 0, et})
		recorded = true
		if rec {
			buf := getAttrBuf()
			attrs := cc.appendAttrs(c.tel.appendStart(buf[:0], sk), m, req.Method)
			attrs = append(attrs, semconv.ErrorTypeKey.String(et))
			span.SetAttributes(attrs...)
			putAttrBuf(buf, attrs)
			span.SetStatus(codes.Error, validUTF8(err.Error()))
		}
		span.End()
		c.tel.end.ended()
		return nil, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	status := resp.StatusCode
	et := statusErrorType(status)
	c.record(ctx, secs, u, durKey{m, sk.host, sk.port, metricStatus(status), et})
	recorded = true
	if !rec {
		if c.tel.end == nil || resp.Body == http.NoBody {
			span.End()
			c.tel.end.ended()
			return resp, nil
		}
		// The call ends when its body is closed: the wrapper tells
		// (span is not recording; ending it is a no-op).
		cc.body.cutEOF = openEnded(resp)
		resp.Body = cc.body.wrap(ctx, resp.Body, span, c.tel)
		return resp, nil
	}
	buf := getAttrBuf()
	attrs := cc.appendAttrs(c.tel.appendStart(buf[:0], sk), m, req.Method)
	attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	if et != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
	}
	span.SetAttributes(attrs...)
	putAttrBuf(buf, attrs)
	if et != "" {
		span.SetStatus(codes.Error, "")
	}
	if resp.Body == http.NoBody {
		span.End()
		c.tel.end.ended()
		return resp, nil
	}
	cc.body.cutEOF = openEnded(resp)
	resp.Body = cc.body.wrap(ctx, resp.Body, span, c.tel)
	return resp, nil
}

// panicked ends a call whose next transport panicked (a caller's base
// transport or hook with a bug; net/http's server recovers a handler's
// panic, and a caller may recover too): the panic goes on, but the span
// ends, with status Error and error.type ErrorTypeOther, and the call is
// recorded, as a failed call. A span never ended is never exported: the
// call would vanish from its trace, its attempt spans left without their
// parent.
func (c *callTrace) panicked(ctx context.Context, cc *callScope, span trace.Span, rec bool, sk spanKey, original string, u *url.URL, start time.Time) {
	c.recordUnwinding(ctx, time.Since(start).Seconds(), u, durKey{sk.m, sk.host, sk.port, 0, ErrorTypeOther})
	if rec {
		buf := getAttrBuf()
		attrs := cc.appendAttrs(c.tel.appendStart(buf[:0], sk), sk.m, original)
		attrs = append(attrs, semconv.ErrorTypeKey.String(ErrorTypeOther))
		span.SetAttributes(attrs...)
		putAttrBuf(buf, attrs)
		span.SetStatus(codes.Error, panicStatus)
	}
	span.End()
	c.tel.end.ended()
}

// panicStatus is the status description of a span whose send panicked.
const panicStatus = "panic in the transport"

// appendAttrs appends the call span's end attributes common to success and
// failure.
func (cc *callScope) appendAttrs(attrs []attribute.KeyValue, m *method, original string) []attribute.KeyValue {
	attrs = append(attrs,
		semconv.URLFull(cc.state.urlFull),
		AttemptCountKey.Int(int(cc.state.attempts.Load())))
	route := cc.rec.route
	if cc.rec.url == nil {
		route = RouteFrom(cc)
	}
	if route != "" {
		// The call's low-cardinality name (Template.NewRequest, WithRoute,
		// SetRoute), cut as the inventory and the audit log cut it. When
		// a layer below (the inventory, the audit log) set up the scope's
		// record, it is read from there: that layer has closed the record
		// by now, and RouteFrom no longer reaches it.
		attrs = append(attrs, semconv.URLTemplate(boundRoute(route)))
	}
	if m.other {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(validUTF8(original)))
	}
	if p := cc.state.proto.Load(); p != 0 { // the first send's, left to the call
		attrs = append(attrs, semconv.NetworkProtocolVersion(protocolNames[p]))
	}
	return attrs
}

// portUnknown is the port of a spanKey or durKey whose server.address and
// server.port were not worked out (serverOf gives no negative port).
const portUnknown = -1

// recordUnwinding is record while a panic is on its way to the caller:
// the caller's meter panicking too (a bug in its MeterProvider) has its
// panic dropped, so that the caller sees the first, and the span still
// ends.
func (c *callTrace) recordUnwinding(ctx context.Context, secs float64, u *url.URL, k durKey) {
	defer func() { _ = recover() }()
	c.record(ctx, secs, u, k)
}

// record adds one duration measurement with k's attribute set, k's server
// that of u when the call did not work it out.
func (c *callTrace) record(ctx context.Context, secs float64, u *url.URL, k durKey) {
	if !c.duration.Enabled(ctx) {
		return
	}
	if k.port == portUnknown {
		k.host, k.port = serverOf(u)
	}
	opts, ok := c.durs.load(k)
	if !ok {
		kvs := make([]attribute.KeyValue, 0, 5)
		kvs = append(kvs, k.m.attr, semconv.ServerAddress(k.host), semconv.ServerPort(k.port))
		if k.status > 0 {
			kvs = append(kvs, semconv.HTTPResponseStatusCode(k.status))
		}
		if k.errType != "" {
			kvs = append(kvs, semconv.ErrorTypeKey.String(k.errType))
		}
		opts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
		c.durs.store(k, opts)
	}
	c.duration.Record(ctx, secs, opts...)
}

// attemptTrace is the layer of NewAttemptTrace.
type attemptTrace struct {
	next     http.RoundTripper
	tel      *telemetry
	bare     []trace.SpanStartOption
	attempts metric.Int64Counter
	spans    optCache[spanKey, []trace.SpanStartOption]
	counts   optCache[countKey, []metric.AddOption]
	servers  serverCache
}

// countKey selects the attribute set of an attempt count.
type countKey struct {
	m       *method
	host    string
	outcome string
}

func (t *attemptTrace) RoundTrip(req *http.Request) (*http.Response, error) {
	m := methodOf(req.Method)
	ctx := req.Context()
	var span trace.Span
	var r *http.Request
	merged := false // the span is the call's, standing for its first send
	scope := callScopeFrom(ctx)
	// server.address (and server.port) name the span and the attempt
	// count's series: with tracing off inside a call and the count not
	// recorded (a no-op meter) nothing reads them, and they are not
	// worked out (count does if its instrument turns on during the send).
	offInCall := t.tel.off && scope != nil && scope.span != nil
	u := req.URL // the send's, whatever the layers below do with req
	sk := spanKey{m, "", portUnknown}
	var buf *attrBuf // non-nil when the span is recording
	var attrs []attribute.KeyValue
	returned, sending, counted := false, false, false
	var resp *http.Response
	defer func() {
		if returned {
			if !counted {
				// The caller's meter panicked counting the send (a bug
				// in its MeterProvider): the response is closed, the
				// span ends as for a panic below, and the panic goes on.
				closeResponse(resp)
				t.panicked(ctx, span, buf, attrs, countKey{m, sk.host, ErrorTypeOther}, sk.port, u, merged)
			}
			return
		}
		// A panic (or runtime.Goexit) below: not recovered here.
		if r == nil {
			// The caller's Tracer's Start (or its meter's Enabled)
			// panicked: no span to end, nothing sent to count (the
			// meter may be what panicked); the request's body is
			// closed, as RoundTrip must on every path.
			closeBody(req)
			return
		}
		if !sending {
			// Before the send (the caller's Propagator): the body
			// is not handed on, and is closed, as RoundTrip must on
			// every path.
			closeBody(r)
		}
		t.panicked(ctx, span, buf, attrs, countKey{m, sk.host, ErrorTypeOther}, sk.port, u, merged)
	}()
	if !offInCall || t.attempts.Enabled(ctx) {
		_, sk.host, sk.port = t.servers.of(u)
	}
	switch {
	case offInCall:
		span, r = scope.span, Own(req) // tracing off, inside a call that knows it
	case scope != nil && scope.firstSend != nil && !t.tel.off && firstAttempt(ctx) && scope.flags.Or(scopeFirstTaken)&scopeFirstTaken == 0:
		// The call's first send: the call span (a client span) stands for
		// it, so a call answered at the first try costs one span. A
		// resend, or the auth layer's replay, gets a child span of its own.
		span, r, merged = scope.firstSend, Own(req), true
	default:
		ctx, span = t.tel.tracer.Start(ctx, m.span, t.tel.spanOptions(&t.spans, t.bare, sk)...)
		r = ownWithContext(req, ctx)
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	t.inject(ctx, r)
	cs := callStateFrom(ctx)
	resend := -1 // sends of this call before this one; -1: not known here
	if cs != nil {
		resend = int(cs.attempts.Add(1)) - 1
	}
	if span.IsRecording() {
		buf = getAttrBuf()
		attrs = buf[:0]
		if !merged { // the call trace sets these on its span
			attrs = append(t.tel.appendStart(attrs, sk), semconv.URLFull(t.urlFull(r.URL, cs)))
			// Every send after the call's first is a resend (semconv: for
			// any reason): a retry, and the auth layer's replay after a
			// 401 within an attempt, which has the attempt's number.
			if resend < 0 {
				if a, ok := AttemptFrom(ctx); ok {
					resend = a.Number
				}
			}
			if resend > 0 {
				attrs = append(attrs, semconv.HTTPRequestResendCount(resend))
			}
			if m.other {
				attrs = append(attrs, semconv.HTTPRequestMethodOriginal(validUTF8(req.Method)))
			}
		}
		attrs = appendHeaders(attrs, r.Header, t.tel.reqHeaders, t.tel.policy)
	}

	sending = true
	resp, err := t.next.RoundTrip(r)
	returned = true
	if resp == nil && err == nil {
		err = errNoNextResponse // a broken next: an error, as net/http's Client makes it
	}
	if err != nil {
		// Go's HTTP/2 refusal of a connection-specific header quotes the
		// header's value: reported, as the retry and breaker layers do, as
		// the caller's malformed request, which names the field only.
		err = invalidForHTTP2(r, err)
	}

	if merged {
		return t.endMerged(ctx, span, buf, attrs, countKey{m, sk.host, ""}, sk.port, u, resp, err, &counted)
	}

	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		err = t.tel.policy.Error(err)
		et := errorTypeIn(ctx, err)
		t.count(ctx, countKey{m, sk.host, et}, sk.port, u)
		counted = true
		if buf != nil {
			attrs = append(attrs, semconv.ErrorTypeKey.String(et))
			span.SetAttributes(attrs...)
			putAttrBuf(buf, attrs)
			span.SetStatus(codes.Error, validUTF8(err.Error()))
		}
		span.End()
		return nil, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	status := resp.StatusCode
	et := statusErrorType(status)
	outcome := OutcomeOK
	if et != "" {
		outcome = et
	}
	t.count(ctx, countKey{m, sk.host, outcome}, sk.port, u)
	counted = true
	if buf == nil {
		span.End()
		return resp, nil
	}
	attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	if v := protocolVersion(resp); v != "" {
		attrs = append(attrs, semconv.NetworkProtocolVersion(v))
	}
	if et != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(et))
	}
	attrs = appendHeaders(attrs, resp.Header, t.tel.respHeaders, t.tel.policy)
	span.SetAttributes(attrs...)
	putAttrBuf(buf, attrs)
	if et != "" {
		span.SetStatus(codes.Error, "")
	}
	if resp.Body == http.NoBody {
		span.End()
		return resp, nil
	}
	var tb *tracedBody
	if a, ok := AttemptFrom(ctx); ok && a.owned == r && a.tracedBody.rc == nil {
		tb = &a.tracedBody // the attempt's room: no allocation
	} else {
		tb = new(tracedBody)
	}
	resp.Body = tb.wrap(ctx, resp.Body, span, t.tel)
	return resp, nil
}

// panicked ends a send whose next transport panicked, as
// callTrace.panicked ends the call: the attempt is counted with outcome
// ErrorTypeOther, and its own span (not the call span it may stand on,
// which the call trace ends) ends with status Error.
func (t *attemptTrace) panicked(ctx context.Context, span trace.Span, buf *attrBuf, attrs []attribute.KeyValue,
	k countKey, port int, u *url.URL, merged bool) {
	t.countUnwinding(ctx, k, port, u)
	if merged {
		return
	}
	if buf != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(ErrorTypeOther))
		span.SetAttributes(attrs...)
		// All of it: a panic while an append wrote to buf (in the
		// redaction of a header) left attrs shorter than what it wrote.
		putAttrBuf(buf, buf[:])
		span.SetStatus(codes.Error, panicStatus)
	}
	span.End()
}

// firstAttempt reports whether ctx is the first attempt of its call (or
// belongs to no numbered attempt).
func firstAttempt(ctx context.Context) bool {
	a, ok := AttemptFrom(ctx)
	return !ok || a.Number == 0
}

// endMerged finishes a send reported on the call span: the attempt count,
// and the send's own attributes (protocol version, allowlisted response
// headers). The status, error.type, span status and the span's end are the
// call trace's, which knows how the call ended.
func (t *attemptTrace) endMerged(ctx context.Context, span trace.Span, buf *attrBuf, attrs []attribute.KeyValue,
	k countKey, port int, u *url.URL, resp *http.Response, err error, counted *bool) (*http.Response, error) {
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		err = t.tel.policy.Error(err)
		k.outcome = errorTypeIn(ctx, err)
		t.count(ctx, k, port, u)
		*counted = true
		if buf != nil {
			span.SetAttributes(attrs...)
			putAttrBuf(buf, attrs)
		}
		return nil, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	outcome := OutcomeOK
	if et := statusErrorType(resp.StatusCode); et != "" {
		outcome = et
	}
	k.outcome = outcome
	t.count(ctx, k, port, u)
	*counted = true
	if buf != nil {
		code := protocolCode(resp)
		attrs = appendHeaders(attrs, resp.Header, t.tel.respHeaders, t.tel.policy)
		if cs := callStateFrom(ctx); len(attrs) == 0 && cs != nil && code != 0 {
			cs.proto.Store(code) // the call trace sets it with its own
		} else {
			if code != 0 {
				attrs = append(attrs, semconv.NetworkProtocolVersion(protocolNames[code]))
			}
			if len(attrs) > 0 {
				span.SetAttributes(attrs...)
			}
		}
		putAttrBuf(buf, attrs)
	}
	return resp, nil
}

// urlFull returns the redacted form of u, reusing the call span's when u
// is the call's URL.
func (t *attemptTrace) urlFull(u *url.URL, cs *callState) string {
	if cs != nil && cs.urlFull != "" && cs.src != nil && *u == *cs.src {
		return cs.urlFull
	}
	return validUTF8(t.tel.policy.URL(u))
}

// countUnwinding is count while a panic is on its way to the caller: the
// caller's meter panicking too (a bug in its MeterProvider) has its panic
// dropped, so that the caller sees the first, and the span still ends.
func (t *attemptTrace) countUnwinding(ctx context.Context, k countKey, port int, u *url.URL) {
	defer func() { _ = recover() }()
	t.count(ctx, k, port, u)
}

// count adds one attempt with k's attribute set, k's server that of u
// when port is portUnknown (the send did not work it out).
func (t *attemptTrace) count(ctx context.Context, k countKey, port int, u *url.URL) {
	if !t.attempts.Enabled(ctx) {
		return
	}
	if port == portUnknown {
		k.host, _ = serverOf(u)
	}
	opts, ok := t.counts.load(k)
	if !ok {
		opts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
			k.m.attr, semconv.ServerAddress(k.host), OutcomeKey.String(k.outcome)))}
		t.counts.store(k, opts)
	}
	t.attempts.Add(ctx, 1, opts...)
}

// ownWithContext returns the attempt's request carrying ctx: req itself
// (shallow-copied by WithContext) when the attempt owns it, else a clone.
func ownWithContext(req *http.Request, ctx context.Context) *http.Request {
	if ownAttempt(req) != nil {
		return WithContext(req, ctx)
	}
	return req.Clone(ctx)
}

// inject writes ctx's propagation fields into r, the attempt's own
// request. A caller's tracestate (any spelling) qualifies the caller's
// traceparent: when the injection sets a traceparent of its own and no
// tracestate (W3C TraceContext sets none for an empty one), the caller's
// is dropped, not sent beside a traceparent it does not belong to. When
// the injection sets no traceparent, it stays. Into the attempt's own
// request, the injection is watched in the attempt (no allocation) and the
// header names are scanned once when it set a traceparent, for the
// traceparent's other spellings and, when it set no tracestate, the
// caller's tracestate; into another, without a caller's tracestate it costs a scan
// of the header names and no allocation.
func (t *attemptTrace) inject(ctx context.Context, r *http.Request) {
	if a := ownAttempt(r); a != nil { // r carries ctx here
		a.injTraceparent, a.injTracestate = false, false
		t.tel.prop.Inject(ctx, (*attemptWatch)(a))
		if a.injTraceparent {
			// One walk of the names for both fields: the traceparent's
			// other spellings (attemptWatch.Set left them), and, without
			// a tracestate of the injection's, the caller's.
			dropTraceFields(r.Header, !a.injTracestate)
		}
		return
	}
	c := headerCarrier(r.Header)
	if !hasField(r.Header, "Tracestate") {
		t.tel.prop.Inject(ctx, c)
		return
	}
	w := &watchCarrier{TextMapCarrier: c}
	t.tel.prop.Inject(ctx, w)
	if w.traceparent && !w.tracestate {
		dropField(r.Header, "Tracestate")
	}
}

// dropTraceFields removes from h every spelling of Traceparent but the
// canonical one, as dropSpellings does, and, when tracestate is set,
// every spelling of Tracestate, as dropField does: the two in one walk of
// the names.
func dropTraceFields(h http.Header, tracestate bool) {
	for k := range h {
		switch len(k) {
		case len("Traceparent"):
			if k != "Traceparent" && strings.EqualFold(k, "Traceparent") && textproto.CanonicalMIMEHeaderKey(k) == "Traceparent" {
				delete(h, k)
			}
		case len("Tracestate"):
			if tracestate && strings.EqualFold(k, "Tracestate") {
				delete(h, k)
			}
		}
	}
}

// dropField removes every spelling of the field key (canonical) from h.
func dropField(h http.Header, key string) {
	for k := range h {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			delete(h, k)
		}
	}
}

// watchCarrier records which W3C fields an injection set.
type watchCarrier struct {
	propagation.TextMapCarrier
	traceparent, tracestate bool
}

func (w *watchCarrier) Set(key, value string) {
	switch {
	case strings.EqualFold(key, "traceparent"):
		w.traceparent = true
	case strings.EqualFold(key, "tracestate"):
		w.tracestate = true
	}
	w.TextMapCarrier.Set(key, value)
}

// headerCarrier is a propagation.TextMapCarrier over a request's headers
// that knows the canonical form of the W3C header names, so injecting
// costs no canonicalisation. Set replaces the field under every spelling
// of its name (req.Header["traceparent"] too, which net/http would send
// beside it: two traceparent lines make the receiver drop both).
type headerCarrier http.Header

func (h headerCarrier) Get(key string) string { return http.Header(h).Get(key) }

func (h headerCarrier) Set(key, value string) {
	var k string
	switch key {
	case "traceparent":
		k = "Traceparent"
	case "tracestate":
		k = "Tracestate"
	case "baggage":
		k = "Baggage"
	default:
		k = textproto.CanonicalMIMEHeaderKey(key)
	}
	dropSpellings(http.Header(h), k)
	h[k] = []string{value}
}

// attemptCarrier is headerCarrier over the header of the request an
// attempt owns: the values come from the attempt's room (no allocation).
// A pointer, so passing it as a carrier allocates nothing either.
type attemptCarrier Attempt

func (c *attemptCarrier) Get(key string) string { return c.owned.Header.Get(key) }

func (c *attemptCarrier) Set(key, value string) {
	if key == "traceparent" {
		dropSpellings(c.owned.Header, "Traceparent")
		c.owned.Header["Traceparent"] = (*Attempt)(c).value(value)
		return
	}
	headerCarrier(c.owned.Header).Set(key, value)
}

func (c *attemptCarrier) Keys() []string { return headerCarrier(c.owned.Header).Keys() }

// attemptWatch is attemptCarrier recording in its attempt which W3C
// fields an injection set (watchCarrier without its allocation).
type attemptWatch Attempt

func (c *attemptWatch) Get(key string) string { return (*attemptCarrier)(c).Get(key) }

func (c *attemptWatch) Set(key, value string) {
	switch {
	case key == "traceparent":
		// W3C TraceContext's: the other spellings of the name are
		// dropped once the injection is over (inject, dropTraceFields),
		// in the walk that may drop the caller's tracestate too.
		c.injTraceparent = true
		c.owned.Header["Traceparent"] = (*Attempt)(c).value(value)
		return
	case strings.EqualFold(key, "traceparent"):
		c.injTraceparent = true
	case strings.EqualFold(key, "tracestate"):
		c.injTracestate = true
	}
	(*attemptCarrier)(c).Set(key, value)
}

func (c *attemptWatch) Keys() []string { return (*attemptCarrier)(c).Keys() }

func (h headerCarrier) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// tracedBody ends a span when the response body it wraps is read to EOF,
// fails or is closed, whichever comes first; ending is idempotent and safe
// when Close races a Read. A Read that fails once Close has begun failed
// because of it (the caller gave up on the body): it ends the span as the
// Close does, without an error. A call's body also ends the call when it
// is closed (telemetry.end).
type tracedBody struct {
	ctx  context.Context // the request's: classifies a read error (errorTypeIn)
	rc   io.ReadCloser
	span trace.Span
	tel  *telemetry // the layer's: its redaction policy and call end
	// state: bodyDone (the span has ended), bodyClosing (Close has
	// begun), bodyEnded (a read returned the end of a cutEOF body); one
	// word, which leaves room for cutEOF in the call scope's size class
	// (TestCallScopeSizeClass).
	state atomic.Uint32
	// cutEOF, set by the call trace for an open-ended body (openEnded),
	// makes the body's end (io.EOF) read once the call's context, the
	// caller's, has ended that context's error: as with the timeouts'
	// deadline (cancelBody.cutEOF), an end read after the caller's
	// cancellation or deadline may be the server's reaction to it, and a
	// body cut short must not read as complete. A body whose end had
	// reached the client before, but was read only after, fails so too;
	// once a read has returned the end, a later one (after the caller's
	// deferred cancel, a drain before Close) returns it again.
	cutEOF bool
}

// The bits of tracedBody.state.
const (
	bodyDone uint32 = 1 << iota
	bodyClosing
	bodyEnded
)

// wrap sets b up over rc and returns the body to hand out: b itself, or,
// when rc is also an io.Writer (a 101 Switching Protocols body), a wrapper
// that keeps Write.
func (b *tracedBody) wrap(ctx context.Context, rc io.ReadCloser, span trace.Span, tel *telemetry) io.ReadCloser {
	b.ctx, b.rc, b.span, b.tel = ctx, rc, span, tel
	if _, ok := rc.(io.Writer); ok {
		return tracedRWBody{b}
	}
	return b
}

func (b *tracedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		if err == io.EOF && b.cutEOF && b.state.Load()&(bodyClosing|bodyEnded) == 0 {
			if b.ctx.Err() != nil {
				// Its cause, as net/http returns it for a read the
				// cancellation cuts.
				err = context.Cause(b.ctx)
			} else {
				b.state.Or(bodyEnded)
			}
		}
		if err != io.EOF {
			// net/http's error for a trailer section it cannot parse
			// quotes the line (a Set-Cookie without its colon, a
			// server echoing the request's headers): the caller gets
			// the redacted error the span reports.
			err = b.tel.policy.Error(err)
		}
		b.finish(err)
	}
	return n, err
}

func (b *tracedBody) Close() error {
	// Before the body's own Close, which makes a Read waiting on it fail
	// ("http2: response body closed", "use of closed network connection").
	if b.state.Or(bodyClosing)&bodyClosing != 0 {
		// Closed already: io.Closer leaves a second Close undefined, and
		// the body under it may be a caller's own base transport's.
		return nil
	}
	err := b.rc.Close()
	b.finish(nil)
	// After the body's own Close, which has put the connection back in
	// the pool (HTTP/1.1 read to EOF) or ended the stream (HTTP/2).
	b.tel.end.ended()
	return err
}

func (b *tracedBody) finish(err error) {
	if b.state.Or(bodyDone)&bodyDone != 0 {
		return
	}
	if err != nil && err != io.EOF && b.state.Load()&bodyClosing == 0 {
		b.span.SetAttributes(semconv.ErrorTypeKey.String(errorTypeIn(b.ctx, err)))
		b.span.SetStatus(codes.Error, validUTF8(err.Error()))
	}
	b.span.End()
}

// tracedRWBody is a tracedBody whose underlying body is writable.
type tracedRWBody struct{ *tracedBody }

func (b tracedRWBody) Write(p []byte) (int, error) { return b.rc.(io.Writer).Write(p) }
