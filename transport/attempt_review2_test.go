package transport_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A second reader's tests for 8660945 (ownAttempt, SharedClock, detach) and
// db0b9ae (the attempt timeout's lazy deadline without a total timeout).
// All but the classification test failed before the fixes: detach
// compares only this package's pointer contexts; fork and the attempt
// trace's body slot check ownership; a token source's context hides the
// call's state too; the attempt timeout restarts from the request's entry
// context when a layer above resends the same request.

// r4Blocking is a transport that waits for its context (as net/http's
// does) and returns its error.
var r4Blocking = transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
	<-req.Context().Done()
	return nil, req.Context().Err()
})

// Sanity (passes): the classification of an attempt that ends, in both
// paths of NewAttemptTimeout (over a total timeout and without one; shared
// clock or not), by the caller's cancel, the caller's earlier deadline,
// the total deadline, or its own deadline.
func TestReview4AttemptTimeoutClassification(t *testing.T) {
	const attempt = time.Second
	cases := []struct {
		name        string
		total       time.Duration
		callerDL    time.Duration // 0: none
		cancelAfter time.Duration // 0: never
		wantATE     bool
		want        error
	}{
		{"attempt-first/no-total", 0, 0, 0, true, context.DeadlineExceeded},
		{"attempt-first/total", 10 * time.Second, 0, 0, true, context.DeadlineExceeded},
		{"attempt-first/total/caller-dl-later", 10 * time.Second, time.Minute, 0, true, context.DeadlineExceeded},
		{"attempt-first/no-total/caller-dl-later", 0, time.Minute, 0, true, context.DeadlineExceeded},
		{"caller-cancel/no-total", 0, 0, 500 * time.Millisecond, false, context.Canceled},
		{"caller-cancel/total", 10 * time.Second, 0, 500 * time.Millisecond, false, context.Canceled},
		{"caller-dl-first/no-total", 0, 500 * time.Millisecond, 0, false, context.DeadlineExceeded},
		{"caller-dl-first/total", 10 * time.Second, 500 * time.Millisecond, 0, false, context.DeadlineExceeded},
		{"total-first", 500 * time.Millisecond, 0, 0, false, context.DeadlineExceeded},
	}
	for _, shared := range []bool{false, true} {
		for _, tc := range cases {
			name := tc.name
			if shared {
				name += "/shared"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ctx := t.Context()
					if tc.callerDL > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tc.callerDL)
						defer cancel()
					}
					if tc.cancelAfter > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithCancel(ctx)
						time.AfterFunc(tc.cancelAfter, cancel)
					}
					rt := r3Stack(t, tc.total, attempt, transport.RetryConfig{SharedClock: shared}, nil, r4Blocking)
					_, err := resGet(t, ctx, rt)
					var ate *transport.AttemptTimeoutError
					if got := errors.As(err, &ate); got != tc.wantATE {
						t.Fatalf("err %v: AttemptTimeoutError %v, want %v", err, got, tc.wantATE)
					}
					if !errors.Is(err, tc.want) {
						t.Fatalf("err %v, want %v", err, tc.want)
					}
				})
			})
		}
	}
}

// A per-attempt layer of the caller's own, between the retry layer and the
// attempt timeout, that sends its request a second time after closing the
// first response's body (net/http allows reusing a request once the body is
// closed): the attempt timeout replaced the request's context in place
// (WithContext on the owned request) with the first send's attempt
// deadline, released when that body was closed, so the second send runs
// on an ended context and fails with context.Canceled.
// (Also fails before 8660945: the in-place WithContext predates it.)
func TestReview4CallerLayerResendAfterClose(t *testing.T) {
	for _, tc := range apTotals {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				if err := req.Context().Err(); err != nil {
					return nil, err // as net/http does
				}
				code := http.StatusOK
				if n.Add(1) == 1 {
					code = http.StatusServiceUnavailable
				}
				return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader("x")), Request: req}, nil
			})
			resendOn503 := func(next http.RoundTripper) http.RoundTripper {
				return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					resp, err := next.RoundTrip(req)
					if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
						return resp, err
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return next.RoundTrip(req) // same request, its body closed
				})
			}
			rt := r3Stack(t, tc.total, time.Minute, transport.RetryConfig{}, resendOn503, next)
			resp, err := resGet(t, t.Context(), rt)
			if err != nil {
				t.Fatalf("the caller's layer's second send failed: %v", err)
			}
			resp.Body.Close()
		})
	}
}

// r4Value is a context of the caller's own that is a value of an
// uncomparable type (legal: context.Context says nothing about
// comparability).
type r4Value struct {
	context.Context
	tags []string
}

// A per-attempt layer of the caller's own attaches its context value
// (keeping the attempt's ownership with transport.WithContext). The auth
// layer's 401 replay asks detach for the same context again, and detach
// compares it with the one it kept (a.detached.Context == ctx): two
// interfaces holding the same uncomparable type, a run-time panic.
func TestReview4DetachUncomparableContext(t *testing.T) {
	var n atomic.Int32
	api := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		code := http.StatusOK
		if n.Add(1) == 1 {
			code = http.StatusUnauthorized
		}
		return &http.Response{StatusCode: code, Body: http.NoBody, Request: req}, nil
	})
	tag := func(next http.RoundTripper) http.RoundTripper {
		return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			return next.RoundTrip(transport.WithContext(req, r4Value{req.Context(), []string{"t"}}))
		})
	}
	rt := newRetry(t, tag(newAuth(t, api, authCache(t, &seqSource{}))), transport.RetryConfig{MaxAttempts: 1})
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("RoundTrip panicked: %v", p)
		}
	}()
	resp, err := resGet(t, t.Context(), rt)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("status %d after %d sends, want 200 after the replay", resp.StatusCode, n.Load())
	}
}

// r4Hedge is a per-attempt layer of the caller's own that sends two copies
// of its request at once (a hedge) and keeps the first good answer. The
// copies (req.Clone) are not the attempt's own request, so ownAttempt
// gives the inner layers no attempt state: but they still carry the
// attempt's context.
func r4Hedge(next http.RoundTripper) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		var wg sync.WaitGroup
		resps := make([]*http.Response, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() { resps[i], errs[i] = next.RoundTrip(req.Clone(req.Context())) })
		}
		wg.Wait()
		for i := 1; i >= 0; i-- {
			if errs[i] == nil && i == 1 {
				io.Copy(io.Discard, resps[i].Body)
				resps[i].Body.Close()
			}
		}
		return resps[0], errs[0]
	})
}

// r4Barrier lets both hedged sends reach the transport before either gets
// its answer, so what the layers do after the answer is concurrent.
type r4Barrier struct {
	wg   sync.WaitGroup
	body func(n int32) (int, string)
	n    atomic.Int32
}

func newR4Barrier(body func(n int32) (int, string)) *r4Barrier {
	b := &r4Barrier{body: body}
	b.wg.Add(2)
	return b
}

func (b *r4Barrier) RoundTrip(req *http.Request) (*http.Response, error) {
	n := b.n.Add(1)
	if n <= 2 {
		b.wg.Done()
		b.wg.Wait()
	}
	code, s := b.body(n)
	return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(s)), Request: req}, nil
}

// Both hedged copies get a 401; the auth layer's replay calls fork, which
// makes its copy the attempt's owned request and clears its clock reading
// without asking whether the request was the attempt's own: two goroutines
// write Attempt.owned and Attempt.now (a data race under -race), and the
// attempt's real request loses its ownership to a side copy.
func TestReview4HedgedReplayForksTheAttempt(t *testing.T) {
	api := newR4Barrier(func(n int32) (int, string) {
		if n <= 2 {
			return http.StatusUnauthorized, ""
		}
		return http.StatusOK, "ok"
	})
	rt := newRetry(t, r4Hedge(newAuth(t, api, authCache(t, &seqSource{}))), transport.RetryConfig{MaxAttempts: 1})
	resp, err := resGet(t, t.Context(), rt)
	if err != nil {
		t.Fatal(err)
	}
	resReadAll(t, resp)
}

// Both hedged copies go through NewAttemptTrace with a recording tracer;
// each takes the attempt's tracedBody room when it looks free
// (a.tracedBody.rc == nil, no ownership check): a data race under -race,
// and when both see it free, one response's body reads the other's.
func TestReview4HedgedTraceSharesTheBodySlot(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer tp.Shutdown(context.Background())
	api := newR4Barrier(func(n int32) (int, string) {
		return http.StatusOK, "body-" + string(rune('0'+n))
	})
	traced := transport.NewAttemptTrace(api, transport.TraceConfig{TracerProvider: tp})
	var got [2]string
	hedge := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		var wg sync.WaitGroup
		var resps [2]*http.Response
		for i := range 2 {
			wg.Go(func() {
				r, err := traced.RoundTrip(req.Clone(req.Context()))
				if err == nil {
					resps[i] = r
				}
			})
		}
		wg.Wait()
		for i, r := range resps {
			if r != nil {
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				got[i] = string(b)
			}
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	rt := transport.NewAttemptScope(hedge)
	resp, err := resGet(t, t.Context(), rt)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got[0] == got[1] {
		t.Fatalf("both hedged responses read %q: they share one body wrapper", got[0])
	}
}

// The token source's context hides the attempt but not the call: a token
// endpoint stack built from this package's layers (an attempt scope and an
// attempt trace, no call trace of its own) finds the API call's scope, and
// its attempt trace counts the token request as one of the API call's
// sends (the audit record's securecall.attempts is 2 for a call answered
// at the first try). Not a race (the counter is atomic); a miscount, and
// the token request may also take the call span as its own first send.
func TestReview4TokenFetchCountsAsACallAttempt(t *testing.T) {
	var log auditLog
	tc := transport.TraceConfig{}
	endpoint := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	src := authCache(t, &r3EndpointSource{rt: transport.NewAttemptScope(transport.NewAttemptTrace(endpoint, tc)), ttl: time.Hour})
	api := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	rt := newRetry(t, newAuth(t, transport.NewAttemptTrace(api, tc), src), transport.RetryConfig{MaxAttempts: 1})
	rt = transport.NewCallTrace(auditLayer(t, rt, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))}), tc)
	resp, err := resGet(t, t.Context(), rt)
	if err != nil {
		t.Fatal(err)
	}
	resReadAll(t, resp)
	if r := log.records(t)[0]; r["securecall.attempts"] != float64(1) {
		t.Fatalf("securecall.attempts = %v, want 1 (the token fetch was counted as a send of the API call)", r["securecall.attempts"])
	}
}

var _ tokens.Source = (*seqSource)(nil)
