package transport_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

const resURL = "https://api.example.test/v1/items"

func newRetry(t testing.TB, next http.RoundTripper, cfg transport.RetryConfig) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewRetry(next, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// resTimed records when each request reached it, then delegates to next.
type resTimed struct {
	next  http.RoundTripper
	mu    sync.Mutex
	times []time.Time
}

func (tm *resTimed) RoundTrip(req *http.Request) (*http.Response, error) {
	tm.mu.Lock()
	tm.times = append(tm.times, time.Now())
	tm.mu.Unlock()
	return tm.next.RoundTrip(req)
}

func (tm *resTimed) arrivals() []time.Time {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return append([]time.Time(nil), tm.times...)
}

// resFixedBackoff waits d before every retry.
func resFixedBackoff(d time.Duration) retryablehttp.Backoff {
	return func(_, _ time.Duration, _ int, _ *http.Response) time.Duration { return d }
}

func resGet(t testing.TB, ctx context.Context, rt http.RoundTripper) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

func resPost(t testing.TB, ctx context.Context, rt http.RoundTripper, body string, hdr ...string) (*http.Request, *transporttest.TrackedBody, *http.Response, error) {
	t.Helper()
	tb := transporttest.NewTrackedBody([]byte(body))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, resURL, tb)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	for i := 0; i < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := rt.RoundTrip(req)
	return req, tb, resp, err
}

func resReadAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRetryConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newRetry(t, next, transport.RetryConfig{})
	}, transporttest.ConformanceOptions{Synctest: true})
}

func TestRetryConformanceIdempotencyKeys(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true})
	}, transporttest.ConformanceOptions{Synctest: true})
}

func TestRetryStatusThenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(
			transporttest.Respond(503, "busy-1"),
			transporttest.Respond(502, "busy-2"),
			transporttest.Respond(200, "ok"))
		rt := newRetry(t, next, transport.RetryConfig{})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		if got := resReadAll(t, resp); got != "ok" || resp.StatusCode != 200 {
			t.Fatalf("got %d %q", resp.StatusCode, got)
		}
		if n := transport.Attempts(resp); n != 3 {
			t.Errorf("Attempts = %d, want 3", n)
		}
		if err := next.Unclosed(); err != nil {
			t.Error(err)
		}
		for i, b := range next.Bodies()[:2] {
			if !b.Drained() {
				t.Errorf("discarded body %d not drained", i)
			}
		}
	})
}

// When the attempts run out on a response, that response comes back
// intact: status, headers and a readable body.
func TestRetryReturnsLastResponseIntact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(
			transporttest.Respond(503, "busy-1"),
			transporttest.Respond(503, "busy-2"),
			transporttest.Respond(503, `{"error":"still busy"}`, "X-Trace", "abc"))
		rt := newRetry(t, next, transport.RetryConfig{})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 503 || resp.Header.Get("X-Trace") != "abc" {
			t.Errorf("got %d %v", resp.StatusCode, resp.Header)
		}
		if got := resReadAll(t, resp); got != `{"error":"still busy"}` {
			t.Errorf("body %q", got)
		}
		if n := transport.Attempts(resp); n != 3 {
			t.Errorf("Attempts = %d, want 3", n)
		}
		if next.Calls() != 3 {
			t.Errorf("%d calls, want 3", next.Calls())
		}
	})
}

func TestRetryErrorAfterAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
		next := transporttest.NewResponder(transporttest.Fail(boom))
		rt := newRetry(t, next, transport.RetryConfig{MaxAttempts: 4})
		_, err := resGet(t, t.Context(), rt)
		var re *transport.RetryError
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not a *RetryError", err)
		}
		if re.Attempts != 4 || re.Reason != transport.StopAttempts || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("got %+v", re)
		}
		if next.Calls() != 4 {
			t.Errorf("%d calls, want 4", next.Calls())
		}
	})
}

// The safety rules: what is never retried, and what is retried only for a
// replayable request.
func TestRetrySafety(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	tests := []struct {
		name   string
		method string
		key    string // Idempotency-Key header sent by the caller
		gen    bool   // RetryConfig.IdempotencyKeys
		step   transporttest.Step
		calls  int
	}{
		{"GET 503", "GET", "", false, transporttest.Respond(503, ""), 3},
		{"GET reset", "GET", "", false, transporttest.Fail(reset), 3},
		{"GET 404", "GET", "", false, transporttest.Respond(404, ""), 1},
		{"GET 400", "GET", "", false, transporttest.Respond(400, ""), 1},
		{"GET 501", "GET", "", false, transporttest.Respond(501, ""), 1},
		{"GET 408", "GET", "", false, transporttest.Respond(408, ""), 3},
		{"GET 425", "GET", "", false, transporttest.Respond(425, ""), 3},
		{"GET certificate", "GET", "", false, transporttest.Fail(x509.UnknownAuthorityError{}), 1},
		{"GET pin mismatch", "GET", "", false, transporttest.Fail(fmt.Errorf("x: %w", transport.ErrPinMismatch)), 1},
		{"GET egress denied", "GET", "", false, transporttest.Fail(transport.ErrEgressDenied), 1},
		{"GET circuit open", "GET", "", false, transporttest.Fail(&transport.CircuitOpenError{Host: "h"}), 1},
		{"POST 503", "POST", "", false, transporttest.Respond(503, ""), 1},
		{"POST 429", "POST", "", false, transporttest.Respond(429, ""), 1},
		{"POST reset", "POST", "", false, transporttest.Fail(reset), 1},
		{"POST refused", "POST", "", false, transporttest.Fail(refused), 3},
		{"POST+key 503", "POST", "k-1", false, transporttest.Respond(503, ""), 3},
		{"POST+key reset", "POST", "k-1", false, transporttest.Fail(reset), 3},
		{"POST generated key 503", "POST", "", true, transporttest.Respond(503, ""), 3},
		{"PATCH generated key reset", "PATCH", "", true, transporttest.Fail(reset), 3},
		{"PUT reset", "PUT", "", false, transporttest.Fail(reset), 3},
		{"DELETE 500", "DELETE", "", false, transporttest.Respond(500, ""), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.NewResponder(tc.step)
				rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: tc.gen})
				body := `{"a":1}`
				req, _ := http.NewRequestWithContext(t.Context(), tc.method, resURL, strings.NewReader(body))
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
				if tc.key != "" {
					req.Header.Set("Idempotency-Key", tc.key)
				}
				resp, err := rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
				}
				if next.Calls() != tc.calls {
					t.Errorf("%d calls, want %d (err %v)", next.Calls(), tc.calls, err)
				}
				if err != nil && !errors.As(err, new(*transport.RetryError)) {
					t.Errorf("error %v is not a *RetryError", err)
				}
			})
		})
	}
}

// TestRetryNotReplayableMatchesSentinel: a call the retry layer stops
// because the request may have been processed and cannot be sent again
// matches ErrNotReplayable (docs/errors.md: "the request would have to be
// re-sent but cannot be"), while the cause stays reachable and keeps its
// error.type; no other stop matches it. No layer returned the sentinel,
// so a caller could not branch on the case that needs asking the API
// whether the request went through.
func TestRetryNotReplayableMatchesSentinel(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	for _, tc := range []struct {
		name    string
		method  string
		getBody bool
		want    bool
	}{
		{"POST without key", http.MethodPost, true, true},
		{"PUT without GetBody", http.MethodPut, false, true},
		{"GET after every attempt", http.MethodGet, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.NewResponder(transporttest.Fail(reset))
				rt := newRetry(t, next, transport.RetryConfig{})
				var body io.Reader
				if tc.method != http.MethodGet {
					body = io.NopCloser(strings.NewReader("data"))
				}
				req, _ := http.NewRequestWithContext(t.Context(), tc.method, resURL, body)
				if !tc.getBody {
					req.GetBody = nil
				}
				_, err := rt.RoundTrip(req)
				if got := errors.Is(err, transport.ErrNotReplayable); got != tc.want {
					t.Errorf("errors.Is(%v, ErrNotReplayable) = %v, want %v", err, got, tc.want)
				}
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("cause lost: %v", err)
				}
				if et := transport.ErrorType(err); et != transport.ErrorTypeConnectionReset {
					t.Errorf("ErrorType = %q, want %q (the cause's)", et, transport.ErrorTypeConnectionReset)
				}
			})
		})
	}
}

// A generated Idempotency-Key is the same on every attempt of a call,
// differs between calls, and never touches the caller's request.
func TestRetryIdempotencyKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, ""), transporttest.Respond(503, ""), transporttest.Respond(201, ""))
		rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true})
		req, body, resp, err := resPost(t, t.Context(), rt, `{"n":1}`)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get("Idempotency-Key") != "" {
			t.Error("the caller's request got an Idempotency-Key")
		}
		if !body.Closed() {
			t.Error("caller's body not closed")
		}
		reqs := next.Requests()
		if len(reqs) != 3 {
			t.Fatalf("%d attempts", len(reqs))
		}
		key := reqs[0].Header.Get("Idempotency-Key")
		if len(key) != 36 || key[14] != '4' {
			t.Errorf("key %q is not a version-4 UUID", key)
		}
		for i, r := range reqs {
			if got := r.Header.Get("Idempotency-Key"); got != key {
				t.Errorf("attempt %d key %q, want %q", i, got, key)
			}
			if string(r.Body) != `{"n":1}` {
				t.Errorf("attempt %d body %q", i, r.Body)
			}
		}

		next2 := transporttest.NewResponder(transporttest.Respond(201, ""))
		rt2 := newRetry(t, next2, transport.RetryConfig{IdempotencyKeys: true})
		_, _, resp, _ = resPost(t, t.Context(), rt2, "x")
		resp.Body.Close()
		if k2 := next2.Requests()[0].Header.Get("Idempotency-Key"); k2 == "" || k2 == key {
			t.Errorf("second call key %q (first %q)", k2, key)
		}
		// A caller's own key is kept, not replaced.
		next3 := transporttest.NewResponder(transporttest.Respond(201, ""))
		rt3 := newRetry(t, next3, transport.RetryConfig{IdempotencyKeys: true, IdempotencyHeader: "X-Request-Key"})
		_, _, resp, _ = resPost(t, t.Context(), rt3, "x", "Idempotency-Key", "mine")
		resp.Body.Close()
		if h := next3.Requests()[0].Header; h.Get("Idempotency-Key") != "mine" || h.Get("X-Request-Key") != "" {
			t.Errorf("caller's key replaced: %v", h)
		}
		// GET gets none.
		next4 := transporttest.NewResponder(transporttest.Respond(200, ""))
		resp, _ = resGet(t, t.Context(), newRetry(t, next4, transport.RetryConfig{IdempotencyKeys: true}))
		resp.Body.Close()
		if next4.Requests()[0].Header.Get("Idempotency-Key") != "" {
			t.Error("GET got a key")
		}
	})
}

func TestRetryIdempotencyKeyGeneratorFails(t *testing.T) {
	next := transporttest.NewResponder()
	boom := errors.New("no entropy")
	rt := newRetry(t, next, transport.RetryConfig{IdempotencyKeys: true, NewIdempotencyKey: func() (string, error) { return "", boom }})
	_, body, _, err := resPost(t, context.Background(), rt, "x")
	var re *transport.RetryError
	if !errors.As(err, &re) || re.Reason != transport.StopBody || re.Attempts != 0 || !errors.Is(err, boom) {
		t.Errorf("err %v", err)
	}
	if next.Calls() != 0 || !body.Closed() {
		t.Errorf("calls %d, body closed %v", next.Calls(), body.Closed())
	}
}

// A body without GetBody is never replayed; the request is not retried.
func TestRetryBodyWithoutGetBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, "x"))
		rt := newRetry(t, next, transport.RetryConfig{})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, io.NopCloser(strings.NewReader("data")))
		req.GetBody = nil
		resp, err := rt.RoundTrip(req)
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
		if next.Calls() != 1 {
			t.Errorf("%d calls, want 1", next.Calls())
		}
	})
}

func TestRetryGetBodyFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, "x"))
		rt := newRetry(t, next, transport.RetryConfig{})
		boom := errors.New("cannot rewind")
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, strings.NewReader("data"))
		req.GetBody = func() (io.ReadCloser, error) { return nil, boom }
		_, err := rt.RoundTrip(req)
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopBody || !errors.Is(err, boom) || re.Attempts != 1 {
			t.Errorf("err %v", err)
		}
	})
}

// Backoff and CheckRetry from go-retryablehttp plug in; waits happen in
// virtual time.
func TestRetryablehttpPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := &resTimed{next: transporttest.NewResponder(transporttest.Respond(500, ""), transporttest.Respond(500, ""), transporttest.Respond(200, ""))}
		rt := newRetry(t, tm, transport.RetryConfig{
			BaseDelay:  time.Second,
			MaxDelay:   time.Second, // min == max: LinearJitterBackoff waits n x 1s, unclamped
			Backoff:    retryablehttp.LinearJitterBackoff,
			CheckRetry: retryablehttp.DefaultRetryPolicy,
		})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		at := tm.arrivals()
		if len(at) != 3 {
			t.Fatalf("%d attempts", len(at))
		}
		if d := at[1].Sub(at[0]); d != time.Second {
			t.Errorf("first wait %v, want 1s", d)
		}
		if d := at[2].Sub(at[1]); d != 2*time.Second {
			t.Errorf("second wait %v, want 2s", d)
		}
	})
}

// CheckRetry may widen what is retried (here a 404) but not past the
// safety rules (a certificate failure), and its error ends the call.
func TestRetryCheckRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		always := func(context.Context, *http.Response, error) (bool, error) { return true, nil }
		next := transporttest.NewResponder(transporttest.Respond(404, ""), transporttest.Respond(200, ""))
		resp, err := resGet(t, t.Context(), newRetry(t, next, transport.RetryConfig{CheckRetry: always}))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()

		next = transporttest.NewResponder(transporttest.Fail(x509.UnknownAuthorityError{}))
		_, err = resGet(t, t.Context(), newRetry(t, next, transport.RetryConfig{CheckRetry: always}))
		if next.Calls() != 1 || err == nil {
			t.Errorf("certificate failure: %d calls, err %v", next.Calls(), err)
		}

		stop := errors.New("policy says stop")
		next = transporttest.NewResponder(transporttest.Respond(503, ""))
		_, err = resGet(t, t.Context(), newRetry(t, next, transport.RetryConfig{
			CheckRetry: func(context.Context, *http.Response, error) (bool, error) { return false, stop },
		}))
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopCheckRetry || !errors.Is(err, stop) {
			t.Errorf("err %v", err)
		}
		if err := next.Unclosed(); err != nil {
			t.Error(err)
		}
	})
}

func TestFullJitterBackoff(t *testing.T) {
	base, maxD := 100*time.Millisecond, 2*time.Second
	for n := range 8 {
		ceil := min(base<<n, maxD)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := transport.FullJitterBackoff(base, maxD, n, nil)
			if d < 0 || d > ceil {
				t.Fatalf("retry %d: %v outside [0, %v]", n, d, ceil)
			}
			seen[d] = true
		}
		if len(seen) < 50 {
			t.Errorf("retry %d: only %d distinct waits in 200: not jittered", n, len(seen))
		}
	}
	if d := transport.FullJitterBackoff(time.Second, time.Minute, 1000, nil); d < 0 || d > time.Minute {
		t.Errorf("huge attempt number: %v", d)
	}
}

// The default schedule: each wait at most min(MaxDelay, BaseDelay x 2^n).
func TestRetryDefaultScheduleBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := &resTimed{next: transporttest.NewResponder(transporttest.Respond(503, ""))}
		rt := newRetry(t, tm, transport.RetryConfig{MaxAttempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Budget: transport.BudgetConfig{Disabled: true}})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		at := tm.arrivals()
		if len(at) != 6 {
			t.Fatalf("%d attempts", len(at))
		}
		for i := 1; i < len(at); i++ {
			ceil := min(100*time.Millisecond<<(i-1), time.Second)
			if d := at[i].Sub(at[i-1]); d > ceil {
				t.Errorf("wait %d = %v, above %v", i, d, ceil)
			}
		}
	})
}

func TestRetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		name string
		step transporttest.Step
		want time.Duration
	}{
		{"seconds on 429", transporttest.Respond(429, "", "Retry-After", "4"), 4 * time.Second},
		{"seconds on 503", transporttest.Respond(503, "", "Retry-After", "2"), 2 * time.Second},
		{"ratelimit r=0", transporttest.Respond(503, "", "RateLimit", `"default";r=0;t=3`), 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tm := &resTimed{next: transporttest.NewResponder(tc.step, transporttest.Respond(200, "ok"))}
				rt := newRetry(t, tm, transport.RetryConfig{BaseDelay: time.Millisecond})
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				at := tm.arrivals()
				d := at[1].Sub(at[0])
				// Jitter stretches the wait by up to 20%, never shortens it.
				if d < tc.want || d > tc.want+tc.want/5 {
					t.Errorf("waited %v, want %v..%v", d, tc.want, tc.want+tc.want/5)
				}
			})
		})
	}
}

// An HTTP-date Retry-After is honoured relative to the client's clock.
func TestRetryAfterHTTPDate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		n := 0
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			n++
			if n == 1 {
				date := time.Now().Add(10 * time.Second).UTC().Format(time.RFC850) // the obsolete format
				return &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {date}}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		resp, err := resGet(t, t.Context(), newRetry(t, next, transport.RetryConfig{BaseDelay: time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := at[1].Sub(at[0]); d < 10*time.Second || d > 12*time.Second {
			t.Errorf("waited %v for a date 10s ahead", d)
		}
	})
}

// A server wait above MaxRetryAfter is not slept on: the server's answer
// comes back at once.
func TestRetryAfterAboveCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(429, "come back in an hour", "Retry-After", "3600"))
		rt := newRetry(t, next, transport.RetryConfig{MaxRetryAfter: time.Minute})
		start := time.Now()
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 0 {
			t.Errorf("slept %v", time.Since(start))
		}
		if resp.StatusCode != 429 || resReadAll(t, resp) != "come back in an hour" {
			t.Errorf("response not intact")
		}
		if next.Calls() != 1 {
			t.Errorf("%d calls", next.Calls())
		}
	})
}

// Deadline-aware: the server asks for 120 s, 10 s remain: the call fails
// at once with a typed error saying so, and nothing sleeps.
func TestRetryDeadlineServerWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(429, "slow down", "Retry-After", "120"))
		rt := newRetry(t, next, transport.RetryConfig{MaxRetryAfter: 5 * time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		_, err := resGet(t, ctx, rt)
		if time.Since(start) != 0 {
			t.Errorf("slept %v before failing", time.Since(start))
		}
		var re *transport.RetryError
		var de *transport.DeadlineError
		if !errors.As(err, &re) || !errors.As(err, &de) {
			t.Fatalf("err %v", err)
		}
		if re.Reason != transport.StopDeadline || re.Attempts != 1 || re.Status != 429 {
			t.Errorf("RetryError %+v", re)
		}
		if de.Wait < 120*time.Second || de.Remaining != 10*time.Second || de.Reason != transport.SourceRetryAfter {
			t.Errorf("DeadlineError %+v", de)
		}
		if !errors.Is(err, transport.ErrRateLimited) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v: want ErrRateLimited and DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "retry-after wait of 2m") || !strings.Contains(err.Error(), "10s left") {
			t.Errorf("message %q does not say what was asked and what was left", err)
		}
		if transport.ErrorType(err) != transport.ErrorTypeRateLimited {
			t.Errorf("ErrorType %q", transport.ErrorType(err))
		}
		if err := next.Unclosed(); err != nil {
			t.Error(err)
		}
	})
}

// A backoff that would leave less than MinAttemptTime before the deadline
// is not started either.
func TestRetryDeadlineBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
		next := transporttest.NewResponder(transporttest.Fail(reset))
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Second), MinAttemptTime: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 1050*time.Millisecond)
		defer cancel()
		_, err := resGet(t, ctx, rt)
		var de *transport.DeadlineError
		if !errors.As(err, &de) || de.Reason != transport.SourceBackoff || de.Wait != time.Second {
			t.Fatalf("err %v", err)
		}
		if !errors.Is(err, syscall.ECONNRESET) || errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("err %v: want the last error as cause, not a rate limit", err)
		}
		if next.Calls() != 1 {
			t.Errorf("%d calls", next.Calls())
		}
		if transport.ErrorType(err) != transport.ErrorTypeTimeout {
			t.Errorf("ErrorType %q", transport.ErrorType(err))
		}

		// With room for the attempt, it is retried.
		next = transporttest.NewResponder(transporttest.Fail(reset), transporttest.Respond(200, ""))
		rt = newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Second), MinAttemptTime: 100 * time.Millisecond})
		ctx2, cancel2 := context.WithTimeout(t.Context(), 1200*time.Millisecond)
		defer cancel2()
		resp, err := resGet(t, ctx2, rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}

// Cancelling the caller's context during a backoff ends the call at once.
func TestRetryCancelDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, ""))
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Hour), MaxDelay: time.Hour})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := resGet(t, ctx, rt)
			done <- err
		}()
		synctest.Wait() // the first attempt failed; the layer sleeps
		cancel()
		err := <-done
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopCanceled || !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
		if next.Calls() != 1 {
			t.Errorf("%d calls", next.Calls())
		}
		if err := next.Unclosed(); err != nil {
			t.Error(err)
		}
	})
}

// A Retry-After seen by one call holds back every other call to the host
// until the cooldown ends (with jitter); a call whose deadline cannot
// cover the cooldown fails at once without sending.
func TestRetryCooldownShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		first := true
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			if first {
				first = false
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"5"}}, Body: http.NoBody, Request: req}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		rt := newRetry(t, next, transport.RetryConfig{})
		start := time.Now()
		var wg sync.WaitGroup
		wg.Go(func() {
			resp, err := resGet(t, t.Context(), rt) // gets the 429, retries after ~5s
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
		synctest.Wait()
		time.Sleep(time.Second)
		var others [6]time.Duration
		for i := range others {
			wg.Go(func() {
				t0 := time.Now()
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				others[i] = time.Since(t0)
			})
		}
		// One more with a 2 s deadline: the cooldown (4 s left) does not fit.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		mu.Lock()
		before := len(at)
		mu.Unlock()
		_, err := resGet(t, ctx, rt)
		cancel()
		var de *transport.DeadlineError
		if !errors.As(err, &de) || de.Reason != transport.SourceCooldown || !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("short-deadline call: err %v", err)
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(at) != before+1+6 {
			t.Errorf("%d sends in all; the short-deadline call must not send", len(at))
		}
		for i, a := range at[1:] {
			if a.Sub(start) < 5*time.Second {
				t.Errorf("send %d at %v, inside the 5s cooldown", i+1, a.Sub(start))
			}
		}
		distinct := map[time.Duration]bool{}
		for _, d := range others {
			distinct[d] = true
		}
		if len(distinct) < 2 {
			t.Errorf("all %d waiting calls resumed at the same instant (%v): no jitter", len(others), others)
		}
	})
}

// A shared CooldownStore carries a cooldown from one retry layer (one
// client) to another.
func TestRetryCooldownStoreShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := transport.NewCooldowns(0)
		a := newRetry(t, transporttest.NewResponder(transporttest.Respond(503, "", "Retry-After", "3")), transport.RetryConfig{MaxAttempts: 1, Cooldowns: store})
		resp, err := resGet(t, t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if until := store.CooldownUntil("api.example.test"); time.Until(until) != 3*time.Second {
			t.Fatalf("cooldown until %v", until)
		}
		tm := &resTimed{next: transporttest.NewResponder(transporttest.Respond(200, ""))}
		b := newRetry(t, tm, transport.RetryConfig{Cooldowns: store})
		start := time.Now()
		resp, err = resGet(t, t.Context(), b)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := tm.arrivals()[0].Sub(start); d < 3*time.Second {
			t.Errorf("the other client sent after %v, inside the cooldown", d)
		}
		// Other hosts are not affected.
		if !store.CooldownUntil("other.example.test").IsZero() {
			t.Error("cooldown leaked to another host")
		}
	})
}

// The budget: in a full outage, retries add at most Ratio x calls; without
// it every call makes all its attempts.
func TestRetryBudgetOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, disabled := range []bool{false, true} {
			next := transporttest.NewResponder(transporttest.Respond(503, "down"))
			rt := newRetry(t, next, transport.RetryConfig{Budget: transport.BudgetConfig{Disabled: disabled}})
			const calls = 200
			for range calls {
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				time.Sleep(10 * time.Millisecond) // 100 calls/s offered
			}
			got := next.Calls()
			if disabled {
				if got != 3*calls {
					t.Errorf("no budget: %d attempts, want %d", got, 3*calls)
				}
				continue
			}
			// Calls are spread over ~2-4 s, inside one 10 s window.
			if limit := calls + calls/10; got > limit {
				t.Errorf("budget: %d attempts for %d calls, want at most %d", got, calls, limit)
			}
			if got <= calls {
				t.Errorf("budget: no retry at all (%d attempts)", got)
			}
		}
	})
}

// The floor lets a quiet client retry; the window slides.
func TestRetryBudgetFloorAndWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, ""))
		rt := newRetry(t, next, transport.RetryConfig{MaxAttempts: 10, Backoff: resFixedBackoff(time.Millisecond),
			Budget: transport.BudgetConfig{Ratio: 0.01, MinRetries: 2, Window: 10 * time.Second}})
		resp, _ := resGet(t, t.Context(), rt)
		resp.Body.Close()
		if next.Calls() != 3 {
			t.Errorf("first call: %d attempts, want 1 + floor of 2", next.Calls())
		}
		resp, _ = resGet(t, t.Context(), rt)
		resp.Body.Close()
		if next.Calls() != 4 {
			t.Errorf("second call: %d attempts in all, want 4 (budget spent)", next.Calls())
		}
		time.Sleep(11 * time.Second)
		resp, _ = resGet(t, t.Context(), rt)
		resp.Body.Close()
		if next.Calls() != 7 {
			t.Errorf("after the window: %d attempts in all, want 7", next.Calls())
		}
	})
}

// Budgets are per host.
func TestRetryBudgetPerHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(503, ""))
		rt := newRetry(t, next, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond),
			Budget: transport.BudgetConfig{Ratio: 0.01, MinRetries: 2}})
		for _, u := range []string{"https://a.example.test/", "https://a.example.test/", "https://b.example.test/"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		// a: 3 + 1 (budget spent); b: 3 (its own budget).
		if next.Calls() != 7 {
			t.Errorf("%d attempts, want 7", next.Calls())
		}
	})
}

// Inner layers share the attempt's one clone: Own returns it as is, and
// WithContext keeps the ownership.
func TestRetryAttemptOwnership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var seen []int
		var reqs []*http.Request
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			if transport.Own(req) != req {
				t.Error("Own cloned the attempt's request")
			}
			a, ok := transport.AttemptFrom(req.Context())
			if !ok {
				t.Error("no attempt in the context")
			}
			mu.Lock()
			seen = append(seen, a.Number)
			reqs = append(reqs, req)
			mu.Unlock()
			req.Header.Set("X-Inner", "set by an inner layer")
			return &http.Response{StatusCode: 503, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
		})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		resp, err := newRetry(t, next, transport.RetryConfig{}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if req.Header.Get("X-Inner") != "" {
			t.Error("the caller's request was modified")
		}
		if fmt.Sprint(seen) != "[0 1 2]" || reqs[0] == reqs[1] || reqs[0] == req {
			t.Errorf("attempt numbers %v; one new clone per attempt expected", seen)
		}
		if transport.Attempts(resp) != 3 {
			t.Errorf("Attempts %d", transport.Attempts(resp))
		}
	})
}

// resCloseIdle is a transport with CloseIdleConnections, which the
// retry layer must never call (it would throw away a shared pool).
type resCloseIdle struct {
	http.RoundTripper
	mu     sync.Mutex
	closed int
}

func (c *resCloseIdle) CloseIdleConnections() {
	c.mu.Lock()
	c.closed++
	c.mu.Unlock()
}

func TestRetryNeverClosesIdleConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &resCloseIdle{RoundTripper: transporttest.NewResponder(transporttest.Fail(io.ErrUnexpectedEOF))}
		_, err := resGet(t, t.Context(), newRetry(t, rec, transport.RetryConfig{}))
		if err == nil {
			t.Fatal("no error")
		}
		if rec.closed != 0 {
			t.Errorf("CloseIdleConnections called %d times", rec.closed)
		}
	})
}

func TestAttemptsWithoutStack(t *testing.T) {
	if transport.Attempts(nil) != 0 {
		t.Error("nil response")
	}
	req, _ := http.NewRequest(http.MethodGet, resURL, nil)
	if transport.Attempts(&http.Response{Request: req}) != 0 {
		t.Error("bare response")
	}
	resp, err := transport.NewAttemptScope(transporttest.NewResponder()).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if transport.Attempts(resp) != 1 {
		t.Errorf("attempt scope: %d", transport.Attempts(resp))
	}
}

func TestRetryConfigErrors(t *testing.T) {
	tests := []struct {
		cfg    transport.RetryConfig
		option string
	}{
		{transport.RetryConfig{MaxAttempts: -1}, "RetryConfig.MaxAttempts"},
		{transport.RetryConfig{BaseDelay: -time.Second}, "RetryConfig.BaseDelay"},
		{transport.RetryConfig{BaseDelay: 2 * time.Second, MaxDelay: time.Second}, "RetryConfig.MaxDelay"},
		{transport.RetryConfig{MaxRetryAfter: -1}, "RetryConfig.MaxRetryAfter"},
		{transport.RetryConfig{ServerWaitJitter: 2}, "RetryConfig.ServerWaitJitter"},
		{transport.RetryConfig{IdempotencyHeader: "Bad Header"}, "RetryConfig.IdempotencyHeader"},
		{transport.RetryConfig{MaxHosts: -1}, "RetryConfig.MaxHosts"},
		{transport.RetryConfig{Budget: transport.BudgetConfig{Ratio: 1.5}}, "RetryConfig.Budget.Ratio"},
		{transport.RetryConfig{Budget: transport.BudgetConfig{Window: time.Millisecond}}, "RetryConfig.Budget.Window"},
	}
	for _, tc := range tests {
		_, err := transport.NewRetry(nil, tc.cfg)
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: err %v, want a ConfigError for %s", tc.cfg, err, tc.option)
		}
	}
}

// resSpanEvents runs f with a recording span in its context and returns the
// span's events.
func resSpanEvents(t *testing.T, f func(ctx context.Context)) []sdktrace.Event {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, span := tp.Tracer("test").Start(t.Context(), "call")
	f(ctx)
	span.End()
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans", len(ended))
	}
	return ended[0].Events()
}

func resEventAttr(e sdktrace.Event, key attribute.Key) attribute.Value {
	for _, kv := range e.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func TestRetryEventsAndMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		next := transporttest.NewResponder(transporttest.Respond(429, "", "Retry-After", "2"), transporttest.Respond(503, ""), transporttest.Respond(503, ""))
		rt := newRetry(t, next, transport.RetryConfig{MeterProvider: mp, Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Ratio: 0.01, MinRetries: 1}})
		events := resSpanEvents(t, func(ctx context.Context) {
			resp, err := resGet(t, ctx, rt)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		})
		var names []string
		for _, e := range events {
			names = append(names, e.Name)
		}
		if fmt.Sprint(names) != fmt.Sprint([]string{transport.EventRetryScheduled, transport.EventBudgetExhausted}) {
			t.Fatalf("events %v", names)
		}
		e := events[0]
		if resEventAttr(e, transport.RetrySourceKey).AsString() != "retry-after" ||
			resEventAttr(e, transport.RetryReasonKey).AsString() != "429" ||
			resEventAttr(e, transport.RetryAttemptKey).AsInt64() != 1 ||
			resEventAttr(e, transport.RetryDelayKey).AsFloat64() < 2 {
			t.Errorf("retry event attributes %v", e.Attributes)
		}

		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					for _, kv := range dp.Attributes.ToSlice() {
						if kv.Key != "server.address" {
							got[m.Name] += fmt.Sprintf("%s=%d ", kv.Value.AsString(), dp.Value)
						}
					}
				}
			}
		}
		if got[transport.MetricRetries] != "retry-after=1 " || got[transport.MetricRetryStops] != "budget=1 " {
			t.Errorf("metrics %v", got)
		}
	})
}

// A Backoff that returns an unbounded wait (go-retryablehttp's
// DefaultBackoff returns the server's Retry-After as is) is clamped to
// MaxRetryAfter.
func TestRetryBackoffClamped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := &resTimed{next: transporttest.NewResponder(transporttest.Respond(500, ""), transporttest.Respond(200, ""))}
		rt := newRetry(t, tm, transport.RetryConfig{Backoff: resFixedBackoff(1000 * time.Hour), MaxRetryAfter: 7 * time.Second})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if at := tm.arrivals(); at[1].Sub(at[0]) != 7*time.Second {
			t.Errorf("waited %v, want the 7s cap", at[1].Sub(at[0]))
		}
	})
}

// Concurrent calls cannot overdraw the budget.
func TestRetryBudgetConcurrent(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(503, ""))
	rt := newRetry(t, next, transport.RetryConfig{MaxAttempts: 5, Backoff: resFixedBackoff(0), Budget: transport.BudgetConfig{MinRetries: 1, Window: time.Hour}})
	const workers, each = 16, 40
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				resp, err := resGet(t, context.Background(), rt)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if calls, limit := workers*each, workers*each*11/10; next.Calls() > limit {
		t.Errorf("%d attempts for %d calls, budget allows %d", next.Calls(), calls, limit)
	}
}
