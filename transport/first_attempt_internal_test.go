package transport

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/securecall/securecall/internal/stackhook"
	"github.com/securecall/securecall/tokens"
)

// The call's first attempt takes the call's own copy of the request
// (beginCallAttempt) instead of copying it again. These tests hold the
// rules that make that safe: the call-level layers never see what the
// attempt's layers did to it, a retry is built from the request as it
// reached the retry layer and never touches the first attempt's request
// (which the base transport may still hold), sourceHeader stays the
// caller's, and the caller's request is never modified.

// faSecret is what the per-attempt layers of these tests put on a request:
// no call-level output may ever show it.
const faSecret = "FIRSTATTEMPTSECRET"

type faCtxKey struct{}

// faPoison is a per-attempt layer that changes everything of the request it
// owns, in place, as a per-attempt layer may (Own): header fields new and
// old, the URL (path, query, host), the method, Host, the context, the
// body, ContentLength, Close and the trailer.
func faPoison(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		r := Own(req)
		r.Header.Set("Authorization", "Bearer "+faSecret)
		r.Header.Set("Signature-Input", "inner="+faSecret)
		r.Header.Set("X-Caller", faSecret)
		r.URL.Path = "/" + faSecret
		r.URL.RawQuery += "&" + faSecret + "=1"
		r.URL.Host = strings.ToLower(faSecret) + ".example"
		r.Host = strings.ToLower(faSecret) + ".example"
		r.Method = http.MethodPatch
		r = WithContext(r, context.WithValue(r.Context(), faCtxKey{}, faSecret))
		r.Body = io.NopCloser(strings.NewReader(faSecret))
		r.ContentLength = int64(len(faSecret))
		r.Close = true
		if r.Trailer != nil {
			r.Trailer.Set("X-Trailer", faSecret)
		}
		return next.RoundTrip(r)
	})
}

// faView is what a layer sees of a request: every field an attempt's layer
// may change, the body's bytes included (read through GetBody for a
// replayed attempt, which the base sets).
type faView struct {
	method, url, host string
	header, trailer   http.Header
	contentLength     int64
	close             bool
	ctxValue          any
	body              string
}

func faViewOf(r *http.Request, body string) faView {
	return faView{
		method: r.Method, url: r.URL.String(), host: r.Host,
		header: r.Header.Clone(), trailer: r.Trailer.Clone(),
		contentLength: r.ContentLength, close: r.Close,
		ctxValue: r.Context().Value(faCtxKey{}), body: body,
	}
}

func (v faView) equal(w faView) bool {
	return v.method == w.method && v.url == w.url && v.host == w.host &&
		maps.EqualFunc(v.header, w.header, slicesEqual) && maps.EqualFunc(v.trailer, w.trailer, slicesEqual) &&
		v.contentLength == w.contentLength && v.close == w.close && v.ctxValue == w.ctxValue && v.body == w.body
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// faRig is a call-level stack of this package's layers (call trace, audit,
// inventory, egress, limits, total timeout) over a retry layer, then
// entry (a layer that records what each attempt starts with), the API key
// in the query, faPoison, and base.
type faRig struct {
	rt      http.RoundTripper
	spans   *tracetest.InMemoryExporter
	audit   *bytes.Buffer
	inv     *Inventory
	mu      sync.Mutex
	entries []faView        // what each attempt started with
	sources []http.Header   // each attempt's sourceHeader, at the base
	scoped  []bool          // whether ownedScope saw the attempt's request as the call's copy
	reqs    []*http.Request // each attempt's request, as base got it
}

func newFARig(t *testing.T, boundary func(http.RoundTripper) http.RoundTripper, base http.RoundTripper) *faRig {
	t.Helper()
	g := &faRig{spans: tracetest.NewInMemoryExporter(), audit: new(bytes.Buffer)}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(g.spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tc := TraceConfig{TracerProvider: tp}

	var rt http.RoundTripper = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		a, _ := AttemptFrom(r.Context())
		g.mu.Lock()
		g.reqs = append(g.reqs, r)
		// After the attempt's layers changed r: sourceHeader must not.
		g.sources = append(g.sources, a.sourceHeader().Clone())
		g.mu.Unlock()
		return base.RoundTrip(r)
	})
	rt = faPoison(rt)
	origins, err := ParseOrigins("https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	if rt, err = NewAPIKey(rt, APIKeyConfig{Source: tokens.Static(tokens.NewToken(faSecret, "", time.Time{})), Scope: origins, QueryParam: "api_key"}); err != nil {
		t.Fatal(err)
	}
	inner := rt
	rt = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body := ""
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			body = string(b)
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		g.mu.Lock()
		g.entries = append(g.entries, faViewOf(r, body))
		g.scoped = append(g.scoped, ownedScope(r) != nil)
		g.mu.Unlock()
		return inner.RoundTrip(r)
	})
	if rt, err = NewRetry(rt, RetryConfig{BaseDelay: time.Microsecond, MaxDelay: time.Microsecond, ServerWaitJitter: -1, Budget: BudgetConfig{Disabled: true}, SharedClock: true}); err != nil {
		t.Fatal(err)
	}
	stackhook.LendCallCopy(rt) // as client.New does
	if rt, err = NewTotalTimeout(rt, time.Minute); err != nil {
		t.Fatal(err)
	}
	if rt, err = NewLimits(rt, LimitsConfig{}); err != nil {
		t.Fatal(err)
	}
	if boundary != nil {
		rt = NewCallLayerBoundary(boundary(rt))
	}
	if rt, err = NewEgress(rt, EgressConfig{Allow: []string{"api.example"}}); err != nil {
		t.Fatal(err)
	}
	if g.inv, err = NewInventory(InventoryConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.inv.Close() })
	if rt, err = NewInventoryLayer(rt, g.inv); err != nil {
		t.Fatal(err)
	}
	if rt, err = NewAudit(rt, AuditConfig{Logger: slog.New(slog.NewJSONHandler(g.audit, nil))}); err != nil {
		t.Fatal(err)
	}
	g.rt = NewCallTrace(rt, tc)
	return g
}

// faRequest is a caller's POST, replayable (GetBody, an Idempotency-Key),
// with a header of its own (a signature of its own among them) and a
// trailer.
func faRequest(t *testing.T) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://api.example/v1/items?q=1", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Caller", "caller")
	req.Header.Set("Signature-Input", `caller=("@method");keyid="k"`)
	req.Header.Set("Idempotency-Key", "key-1")
	req.Trailer = http.Header{"X-Trailer": nil}
	return req
}

// checkCallOutputs fails when a call-level output (the call span, the audit
// record, the inventory) shows anything an attempt's layers put on the
// request, instead of the caller's method and URL.
func (g *faRig) checkCallOutputs(t *testing.T) {
	t.Helper()
	for _, s := range g.spans.GetSpans() {
		for _, kv := range s.Attributes {
			if strings.Contains(strings.ToLower(kv.Value.String()), strings.ToLower(faSecret)) || strings.Contains(kv.Value.String(), "api_key=") {
				t.Errorf("span %q: %s = %q shows the attempt's request", s.Name, kv.Key, kv.Value.String())
			}
		}
		if v, ok := faAttr(s, semconv.URLFullKey); ok && !s.Parent.IsValid() && v != "https://api.example/v1/items?q=REDACTED" {
			t.Errorf("call span url.full = %q, want the caller's URL", v)
		}
	}
	if a := g.audit.String(); strings.Contains(strings.ToLower(a), strings.ToLower(faSecret)) || strings.Contains(a, "api_key=") || strings.Contains(a, http.MethodPatch) ||
		!strings.Contains(a, `"url.full":"https://api.example/v1/items?q=REDACTED"`) || !strings.Contains(a, `"http.request.method":"POST"`) {
		t.Errorf("audit record shows the attempt's request, or not the caller's: %s", a)
	}
	for _, e := range g.inv.Snapshot().Entries {
		if e.Method != http.MethodPost || e.Origin != "https://api.example:443" || e.Route != "/v1/items" {
			t.Errorf("inventory entry %s %s %s, want the caller's POST https://api.example:443 /v1/items", e.Method, e.Origin, e.Route)
		}
	}
}

func faAttr(s tracetest.SpanStub, key attribute.Key) (string, bool) {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String(), true
		}
	}
	return "", false
}

// faCaller records the caller's request, to check it is never modified.
func faCaller(req *http.Request) (faView, context.Context, io.ReadCloser, *url.URL) {
	return faViewOf(req, ""), req.Context(), req.Body, req.URL
}

func checkCallerUnchanged(t *testing.T, req *http.Request, view faView, ctx context.Context, body io.ReadCloser, u *url.URL) {
	t.Helper()
	if !faViewOf(req, "").equal(view) || req.Context() != ctx || req.Body != body || req.URL != u {
		t.Errorf("the caller's request was modified: %+v, want %+v", faViewOf(req, ""), view)
	}
}

func faOK(r *http.Request) *http.Response {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r}
}

// TestFirstAttemptTakesTheCallCopy: a call answered at the first try sends
// the call's own copy (no second copy), the attempt's layers change it in
// place, and still no call-level layer above the retry layer reports what
// they did, the attempt's sourceHeader is the caller's header, and the
// caller's request is left as it was.
func TestFirstAttemptTakesTheCallCopy(t *testing.T) {
	g := newFARig(t, nil, roundTripFunc(func(r *http.Request) (*http.Response, error) { return faOK(r), nil }))
	req := faRequest(t)
	view, ctx, body, u := faCaller(req)
	resp, err := g.rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()

	if len(g.reqs) != 1 {
		t.Fatalf("%d attempts, want 1", len(g.reqs))
	}
	r0 := g.reqs[0]
	cs := callScopeFrom(r0.Context())
	if cs == nil || r0 != &cs.req || !cs.lent {
		t.Fatalf("the first attempt did not take the call's own copy (scope %v)", cs != nil)
	}
	if g.scoped[0] {
		t.Error("ownedScope reports the first attempt's request as the call's copy")
	}
	if got := g.sources[0]; got.Get("Signature-Input") != req.Header.Get("Signature-Input") || got.Get("X-Caller") != "caller" || got.Get("Authorization") != "" {
		t.Errorf("sourceHeader = %v, want the caller's header", got)
	}
	if !strings.Contains(r0.URL.RawQuery, "api_key="+faSecret) || r0.Header.Get("Authorization") == "" {
		t.Fatalf("the attempt's layers did not change the request in place: %v %v", r0.URL, r0.Header)
	}
	g.checkCallOutputs(t)
	checkCallerUnchanged(t, req, view, ctx, body, u)
}

// TestRetryBuildsFromThePristineRequest: after a first attempt that took
// the call's copy and was answered with a 503, the retry starts from the
// request as it reached the retry layer (header, URL, method, Host, body
// from GetBody, ContentLength, Close, trailer, context: none of what the
// first attempt's layers did), while a goroutine keeps reading the first
// attempt's request as a base transport may (an HTTP/1 write loop still
// sending its body, an HTTP/2 stream): run with -race, any write to it
// after the first attempt is a data race. The first attempt's request
// keeps what its layers made of it.
func TestRetryBuildsFromThePristineRequest(t *testing.T) {
	var (
		n       int
		stop    = make(chan struct{})
		readerD = make(chan struct{})
	)
	g := newFARig(t, nil, roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n++
		if n > 1 {
			return faOK(r), nil
		}
		go func() { // the base transport still holds attempt 0's request
			defer close(readerD)
			for {
				_ = faViewOf(r, "")
				_, _ = AttemptFrom(r.Context())
				_ = r.Body
				_ = r.GetBody
				_ = r.TransferEncoding
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("busy")), Request: r}, nil
	}))
	req := faRequest(t)
	view, ctx, body, u := faCaller(req)
	resp, err := g.rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	close(stop)
	<-readerD

	if len(g.entries) != 2 {
		t.Fatalf("%d attempts, want 2", len(g.entries))
	}
	r0, r1 := g.reqs[0], g.reqs[1]
	if cs := callScopeFrom(r0.Context()); cs == nil || r0 != &cs.req {
		t.Fatal("the first attempt did not take the call's own copy: the test proves nothing")
	}
	if r1 == r0 || r1.URL == r0.URL || sameMap(r1.Header, r0.Header) {
		t.Fatal("the retry shares the first attempt's request, URL or header")
	}
	if !g.entries[1].equal(g.entries[0]) {
		t.Errorf("the retry started from\n%+v\nwant what the first attempt started from\n%+v", g.entries[1], g.entries[0])
	}
	if e := g.entries[0]; e.method != http.MethodPost || e.url != "https://api.example/v1/items?q=1" || e.body != "payload" || e.ctxValue != nil ||
		e.header.Get("Authorization") != "" || e.header.Get("X-Caller") != "caller" || e.header.Get("Idempotency-Key") != "key-1" {
		t.Errorf("the first attempt started from %+v, want the caller's request", e)
	}
	if a, ok := AttemptFrom(r1.Context()); !ok || a.Number != 1 {
		t.Error("the retry's request does not carry attempt 1")
	}
	for i, h := range g.sources {
		if h.Get("Signature-Input") != req.Header.Get("Signature-Input") || h.Get("Authorization") != "" {
			t.Errorf("attempt %d: sourceHeader = %v, want the caller's header", i, h)
		}
	}
	// The first attempt's request is as its layers left it: nothing
	// restored it, nothing of the retry reached it.
	if r0.Header.Get("Authorization") != "Bearer "+faSecret || r0.Method != http.MethodPatch || !strings.Contains(r0.URL.RawQuery, "api_key="+faSecret) ||
		r0.Context().Value(faCtxKey{}) != faSecret {
		t.Errorf("the first attempt's request was changed after it: %v %v %v", r0.Method, r0.URL, r0.Header)
	}
	if a, _ := AttemptFrom(r0.Context()); a == nil || a.Number != 0 {
		t.Error("the first attempt's request no longer carries attempt 0")
	}
	g.checkCallOutputs(t)
	checkCallerUnchanged(t, req, view, ctx, body, u)
}

func sameMap(a, b http.Header) bool {
	if a == nil || b == nil {
		return false
	}
	a["X-Same-Map-Probe"] = nil
	_, same := b["X-Same-Map-Probe"]
	delete(a, "X-Same-Map-Probe")
	return same
}

// TestFirstAttemptCopiesBelowACallLayer: with a caller's call layer
// (NewCallLayerBoundary) above the retry layer, the request reaching it is
// not the call's own copy, so the first attempt copies it, and the
// caller's layer never sees what the attempt's layers did.
func TestFirstAttemptCopiesBelowACallLayer(t *testing.T) {
	var after []faView
	var sent *http.Request
	spy := func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent = r
			before := faViewOf(r, "")
			resp, err := next.RoundTrip(r)
			after = append(after, before, faViewOf(r, ""))
			return resp, err
		})
	}
	g := newFARig(t, spy, roundTripFunc(func(r *http.Request) (*http.Response, error) { return faOK(r), nil }))
	req := faRequest(t)
	view, ctx, body, u := faCaller(req)
	resp, err := g.rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if len(g.reqs) != 1 || g.reqs[0] == sent {
		t.Fatal("the first attempt took the request of a caller's call layer instead of a copy")
	}
	if cs := callScopeFrom(g.reqs[0].Context()); cs != nil && cs.lent {
		t.Error("the call scope lent its request below a caller's call layer")
	}
	if !after[1].equal(after[0]) {
		t.Errorf("the caller's call layer saw its request change under it:\n%+v\nwas\n%+v", after[1], after[0])
	}
	g.checkCallOutputs(t)
	checkCallerUnchanged(t, req, view, ctx, body, u)
}

// TestLimitsReadsTheMethodBeforeTheCall: the limits layer decides whether
// a response may have a body from the caller's method, read before the
// call: after it, its request is the first attempt's, whose method an
// attempt's layer may have changed. A HEAD answered with a large
// Content-Length passes.
func TestLimitsReadsTheMethodBeforeTheCall(t *testing.T) {
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: 1 << 20, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	rt, err := NewRetry(faPoison(base), RetryConfig{SharedClock: true})
	if err != nil {
		t.Fatal(err)
	}
	stackhook.LendCallCopy(rt)
	if rt, err = NewLimits(rt, LimitsConfig{MaxBodyBytes: 16}); err != nil {
		t.Fatal(err)
	}
	rt = NewCallTrace(rt, TraceConfig{})
	req, err := http.NewRequest(http.MethodHead, "https://api.example/v1/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("HEAD: %v", err)
	}
	_ = resp.Body.Close()
	// resp.Request is the attempt's shown copy (showRequest); the request
	// the attempt sent is its owned one.
	if cs := callScopeFrom(resp.Request.Context()); cs == nil || cs.first.a.owned != &cs.req {
		t.Fatal("the first attempt did not take the call's own copy: the test proves nothing")
	}
}

// TestFirstAttemptCopiesUnlessLent: a hand-built stack (its retry layer not
// marked by stackhook.LendCallCopy, which only client.New calls) may have a
// layer of the caller's between the call trace and the retry layer, reading
// its request after next: the first attempt copies the request, so that
// layer never sees the attempt's credentials, with SharedClock or without.
func TestFirstAttemptCopiesUnlessLent(t *testing.T) {
	for _, shared := range []bool{false, true} {
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) { return faOK(r), nil })
		rt, err := NewRetry(faPoison(base), RetryConfig{SharedClock: shared})
		if err != nil {
			t.Fatal(err)
		}
		var before, after faView
		spy := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			before = faViewOf(r, "")
			resp, err := rt.RoundTrip(r)
			after = faViewOf(r, "")
			return resp, err
		})
		top := NewCallTrace(spy, TraceConfig{})
		resp, err := top.RoundTrip(faRequest(t))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if cs := callScopeFrom(resp.Request.Context()); cs != nil && cs.first.a.owned == &cs.req {
			t.Fatalf("SharedClock %v: the first attempt took the call's own copy of a retry layer not lent it", shared)
		}
		if !after.equal(before) || after.header.Get("Authorization") != "" {
			t.Errorf("SharedClock %v: a layer between the call trace and the retry layer saw its request change:\n%+v\nwas\n%+v", shared, after, before)
		}
	}
}
