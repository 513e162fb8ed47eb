package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// DefaultConformanceURL is the URL of the requests Conformance sends when
// ConformanceOptions.URL is empty. Nothing is ever sent to it: the layer's
// next transport is a fake.
const DefaultConformanceURL = "https://api.example.test/v1/items?x=1"

const (
	// DefaultConformanceGoroutines is the number of concurrent callers of
	// the ConcurrentUse check when ConformanceOptions.Goroutines is zero.
	DefaultConformanceGoroutines = 8
	// DefaultConformanceRequests is the number of requests each caller of
	// the ConcurrentUse check sends when ConformanceOptions.Requests is zero.
	DefaultConformanceRequests = 16
)

// MaxDiscardDrain is the most a layer may read from a response body it
// discards. Draining lets the connection be reused; the bound keeps a huge
// unwanted body from costing more than a new connection would. Conformance
// discards a 2 MiB body in one scenario and checks that at most this many
// bytes of it were read.
const MaxDiscardDrain = 1 << 20

// smallBody is the size under which every discarded body must be drained
// completely: any sensible drain bound is larger.
const smallBody = 4 << 10

// hangGuard bounds how long a check waits for a layer that should return
// (after its caller's context was cancelled). It is a guard against a hung
// test, not a timing assertion: a correct layer returns at once.
const hangGuard = 30 * time.Second

// ConformanceOptions adjusts Conformance for a layer that needs it. The zero
// value runs the suite with the defaults.
type ConformanceOptions struct {
	// URL of every request. Zero: DefaultConformanceURL. Set it for a layer
	// configured for another origin (an egress allowlist, a credential
	// scope).
	URL string
	// Goroutines and Requests set the size of the concurrency check:
	// Goroutines callers each send Requests requests through one layer
	// instance. Zero: DefaultConformanceGoroutines, DefaultConformanceRequests.
	Goroutines int
	Requests   int
	// RewritesBody declares that the layer legitimately changes the body
	// bytes it sends (compression, for one); the check that next receives
	// the caller's body bytes unchanged is then skipped.
	RewritesBody bool
	// Synctest runs each check inside its own testing/synctest bubble, so a
	// layer that waits (backoff, throttling, timeouts) is checked in
	// virtual time: newLayer is called inside the bubble, and the layer's
	// timers then advance as soon as every goroutine is blocked. Conformance
	// itself must not be called from inside a bubble (it starts subtests).
	Synctest bool
}

// Conformance runs the layer conformance suite as subtests of t. newLayer
// must return a new instance of the layer under test with next as its next
// transport; it is called once per scenario, so state (a breaker, a token
// bucket) does not leak between scenarios. Configure the layer so that the
// conformance requests (GET, HEAD, PUT and POST to the URL of opts, with
// small JSON bodies and GetBody set) may pass: a layer that refuses them
// cannot be checked. Retries, if any, should be quick (Retry-After: 0 is
// sent with 429 and 503; backoff is the layer's own).
//
// At most one ConformanceOptions may be given.
//
// The scenarios script next (a Responder) with: plain 200/201 answers, HEAD
// and 204 (http.NoBody), a 503, 500, 429 or 401 followed by a 200, a 503
// followed by a 204, a transport error followed by a 200, a permanent
// transport error, and a 503 with a 2 MiB body followed by a 200. The
// subtests check:
//
//   - RequestNotModified: after RoundTrip returns, and again after the
//     response body was read and closed, every field of the caller's request
//     is as it was: Method, URL (pointer and contents), Proto, Header (map
//     identity and contents), Trailer, Body (identity), GetBody, ContentLength,
//     TransferEncoding, Close, Host and Context (identity). On success and on
//     error.
//   - RequestBodyClosed: when RoundTrip has returned and the caller has
//     closed the response body, the caller's req.Body has been closed, and
//     so has every body obtained from req.GetBody, on every path (success,
//     next failing, retries). The fake next behaves like a real transport
//     and closes every body it is given, so a layer that hands the request
//     on passes; a layer that swaps in a body of its own, or takes a body
//     from GetBody and never sends it, fails. Paths where the layer rejects a
//     request without calling next cannot be provoked generically: test
//     those in the layer's own tests with a TrackedBody as req.Body.
//   - RequestReachesNext: every request next receives carries the caller's
//     context values, the caller's method and (unless RewritesBody) exactly
//     the caller's body bytes; and next is called at least once.
//   - CancellationReachesNext: with next blocked on its request's context,
//     cancelling the caller's context makes RoundTrip return an error that
//     errors.Is context.Canceled and no response.
//   - ResponseContract: RoundTrip returns a response or an error, never both
//     and never neither; a returned response has a non-nil Body (HEAD and
//     204 included); an error caused by next's failure wraps it (errors.Is).
//   - DiscardedResponsesClosed: every response body next handed out is
//     closed by the end; those the layer discarded (all but the answer to
//     its last call of next when it returns a response, all of them when it
//     returns an error) were drained first, completely when small (< 4 KiB)
//     and at most MaxDiscardDrain bytes of the 2 MiB one. Closing must happen
//     synchronously, before RoundTrip returns or when the caller closes the
//     returned body, not in a background goroutine.
//   - ConcurrentUse: one layer instance serves Goroutines x Requests
//     concurrent requests; each request next receives carries its own
//     caller's header and context together (no cross-talk between calls),
//     every caller gets a readable response, every body is closed. Run the
//     suite with -race.
func Conformance(t *testing.T, newLayer func(next http.RoundTripper) http.RoundTripper, opts ...ConformanceOptions) {
	t.Helper()
	if len(opts) > 1 {
		t.Fatalf("transporttest.Conformance: %d ConformanceOptions given, want at most one", len(opts))
	}
	var o ConformanceOptions
	if len(opts) == 1 {
		o = opts[0]
	}
	o, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if o.Synctest {
				synctest.Test(t, func(t *testing.T) { c.run(t, newLayer, o) })
				return
			}
			c.run(t, newLayer, o)
		})
	}
}

func (o ConformanceOptions) resolve() (ConformanceOptions, error) {
	if o.URL == "" {
		o.URL = DefaultConformanceURL
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return o, fmt.Errorf("transporttest: ConformanceOptions.URL %q: want an absolute http or https URL", o.URL)
	}
	if o.Goroutines < 0 || o.Requests < 0 {
		return o, fmt.Errorf("transporttest: ConformanceOptions: negative Goroutines or Requests")
	}
	if o.Goroutines == 0 {
		o.Goroutines = DefaultConformanceGoroutines
	}
	if o.Requests == 0 {
		o.Requests = DefaultConformanceRequests
	}
	return o, nil
}

type layerFunc = func(next http.RoundTripper) http.RoundTripper

// check is one conformance check. It reports through a testing.TB so that
// the suite's own tests can run it against a recording TB and show that it
// catches a faulty layer. Checks call only Helper, Errorf, Fatalf and Logf.
type check struct {
	name string
	run  func(t testing.TB, newLayer layerFunc, o ConformanceOptions)
}

var checks = []check{
	{"RequestNotModified", checkRequestNotModified},
	{"RequestBodyClosed", checkRequestBodyClosed},
	{"RequestReachesNext", checkRequestReachesNext},
	{"CancellationReachesNext", checkCancellationReachesNext},
	{"ResponseContract", checkResponseContract},
	{"DiscardedResponsesClosed", checkDiscardedResponsesClosed},
	{"ConcurrentUse", checkConcurrentUse},
}

// errInjected is the failure the scripted next returns.
var errInjected = errors.New("transporttest: injected transport failure")

type ctxKey struct{}

// scenario is one scripted exchange.
type scenario struct {
	name   string
	method string
	body   string // empty: no body
	steps  []Step
}

func (s scenario) failsOnly() bool {
	for _, st := range s.steps {
		if st.Err == nil {
			return false
		}
	}
	return true
}

const jsonBody = `{"name":"conformance","n":1}`

func scenarios() []scenario {
	large := bytes.Repeat([]byte("x"), 2<<20)
	retryAfter0 := []string{"Retry-After", "0", "Content-Type", "text/plain"}
	ok := Respond(http.StatusOK, `{"ok":true}`, "Content-Type", "application/json")
	return []scenario{
		{name: "GET-200", method: http.MethodGet, steps: []Step{ok}},
		{name: "PUT-200", method: http.MethodPut, body: jsonBody, steps: []Step{ok}},
		{name: "POST-201", method: http.MethodPost, body: jsonBody, steps: []Step{Respond(http.StatusCreated, `{"id":1}`)}},
		{name: "HEAD-200", method: http.MethodHead, steps: []Step{Respond(http.StatusOK, "", "Content-Length", "11")}},
		{name: "GET-204", method: http.MethodGet, steps: []Step{Respond(http.StatusNoContent, "")}},
		{name: "GET-503-then-200", method: http.MethodGet, steps: []Step{Respond(http.StatusServiceUnavailable, "busy", retryAfter0...), ok}},
		{name: "PUT-500-then-200", method: http.MethodPut, body: jsonBody, steps: []Step{Respond(http.StatusInternalServerError, "oops"), ok}},
		{name: "GET-429-then-200", method: http.MethodGet, steps: []Step{Respond(http.StatusTooManyRequests, "slow down", retryAfter0...), ok}},
		{name: "GET-401-then-200", method: http.MethodGet, steps: []Step{Respond(http.StatusUnauthorized, "who?", "WWW-Authenticate", `Bearer error="invalid_token"`), ok}},
		{name: "GET-503-then-204", method: http.MethodGet, steps: []Step{Respond(http.StatusServiceUnavailable, "busy", retryAfter0...), Respond(http.StatusNoContent, "")}},
		{name: "GET-error-then-200", method: http.MethodGet, steps: []Step{Fail(errInjected), ok}},
		{name: "GET-error", method: http.MethodGet, steps: []Step{Fail(errInjected)}},
		{name: "PUT-error", method: http.MethodPut, body: jsonBody, steps: []Step{Fail(errInjected)}},
		{name: "POST-error", method: http.MethodPost, body: jsonBody, steps: []Step{Fail(errInjected)}},
		{name: "GET-503-large-then-200", method: http.MethodGet, steps: []Step{{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"0"}}, Body: large}, ok}},
	}
}

// callerRequest builds the caller's request: headers, the context value,
// and for a body a TrackedBody plus a GetBody whose bodies are tracked too.
type callerRequest struct {
	req       *http.Request
	body      *TrackedBody // nil without a body
	mu        sync.Mutex
	getBodies []*TrackedBody
}

func newCallerRequest(t testing.TB, ctx context.Context, method, rawURL, body string) *callerRequest {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		t.Fatalf("transporttest: building request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header["X-Conformance-Multi"] = []string{"a", "b"}
	cr := &callerRequest{req: req}
	if body != "" {
		data := []byte(body)
		req.Header.Set("Content-Type", "application/json")
		cr.body = NewTrackedBody(data)
		req.Body = cr.body
		req.ContentLength = int64(len(data))
		req.GetBody = func() (io.ReadCloser, error) {
			b := NewTrackedBody(data)
			cr.mu.Lock()
			cr.getBodies = append(cr.getBodies, b)
			cr.mu.Unlock()
			return b, nil
		}
	}
	return cr
}

func (cr *callerRequest) replayBodies() []*TrackedBody {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return append([]*TrackedBody(nil), cr.getBodies...)
}

// reqSnapshot is what the caller's request looked like before RoundTrip.
type reqSnapshot struct {
	method, proto, host string
	url                 *url.URL
	urlVal              url.URL
	userinfo            string
	header, trailer     http.Header
	headerPtr           uintptr
	body                io.ReadCloser
	getBody             uintptr
	contentLength       int64
	te                  []string
	close               bool
	ctx                 context.Context
}

func funcPtr(f any) uintptr {
	v := reflect.ValueOf(f)
	if v.IsNil() {
		return 0
	}
	return v.Pointer()
}

func mapPtr(h http.Header) uintptr {
	if h == nil {
		return 0
	}
	return reflect.ValueOf(h).Pointer()
}

func snapshot(req *http.Request) reqSnapshot {
	s := reqSnapshot{
		method:        req.Method,
		proto:         req.Proto,
		host:          req.Host,
		url:           req.URL,
		header:        req.Header.Clone(),
		trailer:       req.Trailer.Clone(),
		headerPtr:     mapPtr(req.Header),
		body:          req.Body,
		getBody:       funcPtr(req.GetBody),
		contentLength: req.ContentLength,
		te:            slices.Clone(req.TransferEncoding),
		close:         req.Close,
		ctx:           req.Context(),
	}
	if req.URL != nil {
		s.urlVal = *req.URL
		if req.URL.User != nil {
			s.userinfo = req.URL.User.String()
		}
	}
	return s
}

// changedNames lists the header names whose values differ between a and
// b. Only names are reported: a layer's failure message must not print the
// credential it wrongly wrote into the caller's header.
func changedNames(a, b http.Header) []string {
	var names []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !slices.Equal(v, w) {
			names = append(names, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// diff lists the differences between s and req.
func (s reqSnapshot) diff(req *http.Request) []string {
	var d []string
	add := func(format string, args ...any) { d = append(d, fmt.Sprintf(format, args...)) }
	if req.Method != s.method {
		add("Method %q -> %q", s.method, req.Method)
	}
	if req.Proto != s.proto {
		add("Proto %q -> %q", s.proto, req.Proto)
	}
	if req.Host != s.host {
		add("Host %q -> %q", s.host, req.Host)
	}
	if req.URL != s.url {
		add("URL pointer replaced")
	}
	if req.URL != nil && (*req.URL != s.urlVal || (req.URL.User != nil && req.URL.User.String() != s.userinfo)) {
		add("URL %q -> %q", s.urlVal.String(), req.URL.String())
	}
	if mapPtr(req.Header) != s.headerPtr {
		add("Header map replaced")
	}
	if names := changedNames(s.header, req.Header); len(names) > 0 {
		add("Header fields changed: %v", names)
	}
	if names := changedNames(s.trailer, req.Trailer); len(names) > 0 {
		add("Trailer fields changed: %v", names)
	}
	if req.Body != s.body {
		add("Body replaced")
	}
	if funcPtr(req.GetBody) != s.getBody {
		add("GetBody replaced")
	}
	if req.ContentLength != s.contentLength {
		add("ContentLength %d -> %d", s.contentLength, req.ContentLength)
	}
	if !slices.Equal(req.TransferEncoding, s.te) {
		add("TransferEncoding %v -> %v", s.te, req.TransferEncoding)
	}
	if req.Close != s.close {
		add("Close %v -> %v", s.close, req.Close)
	}
	if req.Context() != s.ctx {
		add("Context replaced")
	}
	return d
}

// exchange is the record of one scenario run through a fresh layer.
type exchange struct {
	sc        scenario
	cr        *callerRequest
	next      *Responder
	resp      *http.Response
	err       error
	bodyNil   bool     // resp != nil && resp.Body == nil
	diffCall  []string // request changes seen when RoundTrip returned
	diffClose []string // ... and after the response body was closed
}

// ctxValue is the caller's context value the checks look for in next.
const ctxValue = "conformance-ctx-value"

// roundTrip calls layer.RoundTrip, turning a panic into an error so that a
// faulty layer fails its check instead of the whole test binary.
func roundTrip(layer http.RoundTripper, req *http.Request) (resp *http.Response, err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			resp, err, panicked = nil, fmt.Errorf("transporttest: layer panicked: %v", p), true
		}
	}()
	resp, err = layer.RoundTrip(req)
	return resp, err, false
}

// run sends sc through a fresh layer over a Responder and reads and closes
// the response the way a caller does.
func run(t testing.TB, newLayer layerFunc, o ConformanceOptions, sc scenario) *exchange {
	t.Helper()
	x := &exchange{sc: sc, next: NewResponder(sc.steps...)}
	layer := newLayer(x.next)
	if layer == nil {
		t.Fatalf("%s: newLayer returned nil", sc.name)
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, ctxValue)
	x.cr = newCallerRequest(t, ctx, sc.method, o.URL, sc.body)
	before := snapshot(x.cr.req)
	var panicked bool
	x.resp, x.err, panicked = roundTrip(layer, x.cr.req)
	if panicked {
		t.Errorf("%s: %v", sc.name, x.err)
	}
	x.diffCall = before.diff(x.cr.req)
	if x.resp != nil {
		if x.resp.Body == nil {
			x.bodyNil = true
		} else {
			_, _ = io.Copy(io.Discard, x.resp.Body)
			_ = x.resp.Body.Close()
		}
	}
	x.diffClose = before.diff(x.cr.req)
	return x
}

func runAll(t testing.TB, newLayer layerFunc, o ConformanceOptions) []*exchange {
	t.Helper()
	var xs []*exchange
	for _, sc := range scenarios() {
		xs = append(xs, run(t, newLayer, o, sc))
	}
	return xs
}

func checkRequestNotModified(t testing.TB, newLayer layerFunc, o ConformanceOptions) {
	t.Helper()
	for _, x := range runAll(t, newLayer, o) {
		if len(x.diffCall) > 0 {
			t.Errorf("%s: caller's request modified by RoundTrip: %v", x.sc.name, x.diffCall)
		} else if len(x.diffClose) > 0 {
			t.Errorf("%s: caller's request modified after RoundTrip returned (while the response was read): %v", x.sc.name, x.diffClose)
		}
	}
}

func checkRequestBodyClosed(t testing.TB, newLayer layerFunc, o ConformanceOptions) {
	t.Helper()
	for _, x := range runAll(t, newLayer, o) {
		if x.cr.body == nil {
			continue
		}
		outcome := "succeeded"
		if x.err != nil {
			outcome = "failed: " + x.err.Error()
		}
		if !x.cr.body.Closed() {
			t.Errorf("%s: caller's req.Body not closed (RoundTrip %s)", x.sc.name, outcome)
		}
		for i, b := range x.cr.replayBodies() {
			if !b.Closed() {
				t.Errorf("%s: body #%d obtained from req.GetBody not closed (RoundTrip %s)", x.sc.name, i, outcome)
			}
		}
	}
}

func checkRequestReachesNext(t testing.TB, newLayer layerFunc, o ConformanceOptions) {
	t.Helper()
	for _, x := range runAll(t, newLayer, o) {
		reqs := x.next.Requests()
		if len(reqs) == 0 {
			t.Errorf("%s: next was never called (RoundTrip error: %v); configure the layer so that conformance requests pass", x.sc.name, x.err)
			continue
		}
		for i, r := range reqs {
			if got := r.Context.Value(ctxKey{}); got != ctxValue {
				t.Errorf("%s: request #%d at next lacks the caller's context value (got %v)", x.sc.name, i, got)
			}
			if r.Method != x.sc.method {
				t.Errorf("%s: request #%d at next has method %q, caller sent %q", x.sc.name, i, r.Method, x.sc.method)
			}
			if !o.RewritesBody && string(r.Body) != x.sc.body {
				t.Errorf("%s: request #%d at next has body %q, caller sent %q", x.sc.name, i, r.Body, x.sc.body)
			}
		}
	}
}

func checkCancellationReachesNext(t testing.TB, newLayer layerFunc, o ConformanceOptions) {
	t.Helper()
	entered := make(chan struct{}, 1)
	next := RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		<-req.Context().Done()
		return nil, req.Context().Err()
	})
	layer := newLayer(next)
	if layer == nil {
		t.Fatalf("newLayer returned nil")
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, ctxValue))
	defer cancel()
	cr := newCallerRequest(t, ctx, http.MethodGet, o.URL, "")
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err, _ := roundTrip(layer, cr.req)
		done <- result{resp, err}
	}()
	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	select {
	case <-entered:
		cancel()
	case r := <-done:
		closeResp(r.resp)
		t.Errorf("RoundTrip returned before its context was cancelled, without waiting for next (resp %v, err %v)", r.resp != nil, r.err)
		return
	case <-guard.C:
		t.Errorf("next not called within %v", hangGuard)
		return
	}
	select {
	case r := <-done:
		closeResp(r.resp)
		if r.err == nil {
			t.Errorf("RoundTrip returned no error after the caller's context was cancelled")
		} else if !errors.Is(r.err, context.Canceled) {
			t.Errorf("RoundTrip error %q does not wrap context.Canceled", r.err)
		}
		if r.resp != nil {
			t.Errorf("RoundTrip returned a response together with the cancellation error")
		}
	case <-guard.C:
		t.Errorf("RoundTrip still blocked %v after the caller's context was cancelled: cancellation does not reach next", hangGuard)
	}
}

func closeResp(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
}

func checkResponseContract(t testing.TB, newLayer layerFunc, o ConformanceOptions) {
	t.Helper()
	for _, x := range runAll(t, newLayer, o) {
		switch {
		case x.resp != nil && x.err != nil:
			t.Errorf("%s: RoundTrip returned both a response (%d) and an error (%v)", x.sc.name, x.resp.StatusCode, x.err)
		case x.resp == nil && x.err == nil:
			t.Errorf("%s: RoundTrip returned neither a response nor an error", x.sc.name)
		case x.bodyNil:
			t.Errorf("%s: RoundTrip returned a response (%d) with a nil Body", x.sc.name, x.resp.StatusCode)
		}
		if x.err != nil && x.sc.failsOnly() && !errors.Is(x.err, errInjected) {
			t.Errorf("%s: error %q does not wrap next's error (use %%w)", x.sc.name, x.err)
		}
		if x.sc.failsOnly() && x.err == nil {
			t.Errorf("%s: next only fails, yet RoundTrip returned no error", x.sc.name)
		}
	}
}

func checkDiscardedResponsesClosed(t testing.TB, newLayer layerFunc, o ConformanceOptions) {
	t.Helper()
	for _, x := range runAll(t, newLayer, o) {
		bodies := x.next.Bodies()
		// The returned response is (at the bottom of) the answer to the
		// last call of next; every other body was discarded.
		var kept *TrackedBody
		if reqs := x.next.Requests(); x.resp != nil && len(reqs) > 0 {
			kept = reqs[len(reqs)-1].ResponseBody
		}
		for i, b := range bodies {
			if !b.Closed() {
				t.Errorf("%s: response body #%d of %d from next never closed", x.sc.name, i, len(bodies))
				continue
			}
			if b == kept {
				continue
			}
			switch {
			case b.Len() <= smallBody && !b.Drained():
				t.Errorf("%s: discarded response body #%d closed without draining it (%d of %d bytes read)", x.sc.name, i, b.BytesRead(), b.Len())
			case b.BytesRead() > MaxDiscardDrain:
				t.Errorf("%s: discarded response body #%d drained without bound (%d bytes read, limit %d)", x.sc.name, i, b.BytesRead(), MaxDiscardDrain)
			}
		}
	}
}

const idHeader = "X-Conformance-Id"

type idKey struct{}

func checkConcurrentUse(t testing.TB, newLayer layerFunc, o ConformanceOptions) {
	t.Helper()
	next := NewResponder(Respond(http.StatusOK, "concurrent", "Content-Type", "text/plain"))
	layer := newLayer(next)
	if layer == nil {
		t.Fatalf("newLayer returned nil")
	}
	var wg sync.WaitGroup
	for g := range o.Goroutines {
		wg.Go(func() {
			for i := range o.Requests {
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i)
				ctx := context.WithValue(context.Background(), idKey{}, id)
				method, body := http.MethodGet, ""
				if i%2 == 1 {
					method, body = http.MethodPut, jsonBody
				}
				cr := newCallerRequest(t, ctx, method, o.URL, body)
				cr.req.Header.Set(idHeader, id)
				resp, err, _ := roundTrip(layer, cr.req)
				if err != nil {
					t.Errorf("request %s: %v", id, err)
					continue
				}
				if resp.Body == nil {
					t.Errorf("request %s: nil response body", id)
					continue
				}
				got, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if err != nil || string(got) != "concurrent" {
					t.Errorf("request %s: read %q, %v; want %q", id, got, err, "concurrent")
				}
				if cr.body != nil && !cr.body.Closed() {
					t.Errorf("request %s: req.Body not closed", id)
				}
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool)
	for _, r := range next.Requests() {
		hid := r.Header.Get(idHeader)
		cid, _ := r.Context.Value(idKey{}).(string)
		if hid != cid {
			t.Errorf("cross-talk: next received header %s=%q with the context of request %q", idHeader, hid, cid)
		}
		seen[cid] = true
	}
	if want := o.Goroutines * o.Requests; len(seen) != want {
		t.Errorf("next saw %d distinct caller requests, want %d", len(seen), want)
	}
	if err := next.Unclosed(); err != nil {
		t.Error(err)
	}
}
