package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A second reader's tests for the attempt clock, the lazy attempt deadline
// and the attempt counter (87c77ce..d84330c): each failed on the tree as
// reviewed. The fixes: the attempt's clock reading is shared only under
// RetryConfig.SharedClock (client.New's stacks, whose per-attempt layers
// are all this package's), so a caller's own blocking layer leaves each
// layer its own reading; only the request an attempt owns uses its state;
// token sources get a context without the attempt; the host key follows
// the URL; the attempt counter stayed synchronous.

// r3Stack is apStack as a caller composes it: RetryConfig as given (no
// SharedClock).
func r3Stack(t testing.TB, total, attempt time.Duration, retry transport.RetryConfig, mid func(http.RoundTripper) http.RoundTripper, next http.RoundTripper) http.RoundTripper {
	t.Helper()
	return apStackAs(t, total, attempt, retry, mid, next)
}

// r3Blocking is a per-attempt layer of the caller's own that blocks before
// sending (a rate.Limiter.Wait, a lookup, a lock): it knows nothing of the
// attempt's clock reading.
func r3Blocking(d time.Duration) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			time.Sleep(d)
			return next.RoundTrip(req)
		})
	}
}

// NewAttemptTimeout bounds each attempt from when the attempt reaches the
// layer. Under a retry layer with a blocking per-attempt layer between them,
// the attempt deadline is computed from the retry layer's stale clock
// reading: after a 500 ms wait, a 200 ms attempt timeout has already expired
// before anything is sent, and the attempt fails with an
// *AttemptTimeoutError (before 87c77ce the layer read time.Now).
func TestReview3AttemptTimeoutAfterBlockingLayer(t *testing.T) {
	const attempt, block = 200 * time.Millisecond, 500 * time.Millisecond
	for _, tc := range apTotals {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				seen := &apCtxSeen{}
				rt := r3Stack(t, tc.total, attempt, transport.RetryConfig{}, r3Blocking(block), seen)
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					var ate *transport.AttemptTimeoutError
					t.Fatalf("attempt failed: %v (AttemptTimeoutError: %v): its deadline was counted from before the caller's layer blocked",
						err, errors.As(err, &ate))
				}
				resReadAll(t, resp)
				if _, during := seen.seen(); during != nil {
					t.Fatalf("the attempt's context had ended when it reached the transport: %v", during)
				}
			})
		})
	}
}

// The deadline the transport sees is attempt-timeout after the attempt
// reached the layer, not after the retry layer began it.
func TestReview3AttemptDeadlineCountsFromTheLayer(t *testing.T) {
	const attempt, block = 2 * time.Second, 1500 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		var left time.Duration
		next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			dl, _ := req.Context().Deadline()
			left = time.Until(dl)
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
		})
		rt := r3Stack(t, 10*time.Second, attempt, transport.RetryConfig{}, r3Blocking(block), next)
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if left != attempt {
			t.Fatalf("the transport had %v of its %v attempt timeout left on arrival (the deadline counts from a clock reading taken before a %v wait)", left, attempt, block)
		}
	})
}

// SignConfig.Clock documents "Nil means time.Now". With a nil Clock the
// sign layer now takes the attempt's clock reading, which a blocking layer
// of the caller's own between the retry layer and the sign layer does not
// renew: the signature's created is two minutes old when it is sent, past
// the default verifier window (MaxAge + ClockSkew, 90 s).
func TestReview3SignCreatedAfterBlockingLayer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		timed := &resTimed{next: next}
		sign := newSignLayer(t, timed, mustOrigins(t, "https://api.example.test"), nil)
		rt := newRetry(t, r3Blocking(2*time.Minute)(sign), transport.RetryConfig{MaxAttempts: 1})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resReadAll(t, resp)
		got, arr := next.Requests(), timed.arrivals()
		if len(got) != 1 || len(arr) != 1 {
			t.Fatalf("%d sends", len(got))
		}
		if c := signatureInput(t, got[0].Header).Created; c.Unix() != arr[0].Unix() {
			t.Errorf("created %v, but signed and sent at %v (SignConfig.Clock nil is documented as time.Now)", c.UTC(), arr[0].UTC())
		}
	})
}

// A per-attempt layer may change its own request in place (Own): here it
// fails a host over to its secondary. The breaker below it must count the
// failure against the host actually sent to; it now uses the host key the
// retry layer cached in the Attempt, so the primary's breaker opens for
// the secondary's failures (before 87c77ce: HostKey(req.URL)).
func TestReview3BreakerKeysOnTheHostSent(t *testing.T) {
	var mu sync.Mutex
	var opened []string
	cfg := transport.BreakerConfig{
		ConsecutiveFailures: 1,
		OnStateChange: func(host string, _, to transport.BreakerState) {
			if to == transport.BreakerOpen {
				mu.Lock()
				opened = append(opened, host)
				mu.Unlock()
			}
		},
	}
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	})
	br := newBreaker(t, next, cfg)
	failover := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		r := transport.Own(req)
		r.URL.Host = "secondary.example.test"
		r.Host = ""
		return br.RoundTrip(r)
	})
	rt := newRetry(t, failover, transport.RetryConfig{MaxAttempts: 1})
	if _, err := resGet(t, t.Context(), rt); err == nil {
		t.Fatal("no error")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(opened) != 1 || opened[0] != "secondary.example.test" {
		t.Fatalf("breaker opened for %q, want [secondary.example.test] (the host the request went to)", opened)
	}
}

// r3AttemptTotal reads the total of MetricAttempts (all series) from r.
func r3AttemptTotal(t *testing.T, r sdkmetric.Reader) (total int64, points []int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != transport.MetricAttempts {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is %T", m.Name, m.Data)
			}
			for _, dp := range sum.DataPoints {
				total += dp.Value
				points = append(points, dp.Value)
			}
		}
	}
	return total, points
}

func r3Send(t *testing.T, rt http.RoundTripper) {
	t.Helper()
	resp, err := resGet(t, t.Context(), rt)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Two clients (two attempt-trace layers) share a MeterProvider, as every
// client of a service does with the global one, and call the same host. Each
// reports its own atomics through its own callback and the SDK adds them:
// when one client is closed its sends vanish from the cumulative sum, so a
// monotonic counter goes from 2 back to 1 (a counter reset to Prometheus),
// and a delta reader is handed a negative delta. The synchronous counter it
// replaced kept its sum in the SDK.
func TestReview3AttemptCounterMonotonicAcrossClose(t *testing.T) {
	for _, temporality := range []metricdata.Temporality{metricdata.CumulativeTemporality, metricdata.DeltaTemporality} {
		t.Run(temporality.String(), func(t *testing.T) {
			reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return temporality }))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			defer mp.Shutdown(context.Background())
			tc := transport.TraceConfig{MeterProvider: mp}
			ok := transporttest.NewResponder(transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
			a := transport.NewAttemptTrace(ok, tc)
			b := transport.NewAttemptTrace(ok, tc)
			r3Send(t, a)
			r3Send(t, b)
			first, _ := r3AttemptTotal(t, reader)
			if first != 2 {
				t.Fatalf("%d attempts counted, want 2", first)
			}
			if c, ok := a.(io.Closer); ok { // client.Client.Close does this
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
			}
			after, points := r3AttemptTotal(t, reader)
			switch temporality {
			case metricdata.CumulativeTemporality:
				if after < first {
					t.Fatalf("the cumulative attempt count went from %d to %d when one client closed", first, after)
				}
			default:
				for _, v := range points {
					if v < 0 {
						t.Fatalf("a delta of %d on the monotonic attempt counter when one client closed", v)
					}
				}
			}
		})
	}
}

// A stack built with NewAttemptTrace and dropped without a Close (nothing
// in its documentation or its http.RoundTripper type asks for one) stays
// reachable from the MeterProvider through its metric callback, with
// everything below it: per-tenant or per-request stacks leak. The
// synchronous counter registered nothing.
func TestReview3AttemptTraceDroppedIsCollected(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	collected := make(chan struct{})
	func() {
		next := &r3Next{body: strings.Repeat("x", 1<<10)}
		runtime.AddCleanup(next, func(ch chan struct{}) { close(ch) }, collected)
		rt := transport.NewAttemptTrace(next, transport.TraceConfig{MeterProvider: mp})
		r3Send(t, rt)
	}()
	for range 20 {
		runtime.GC()
		select {
		case <-collected:
			return
		default:
		}
		runtime.Gosched()
	}
	t.Fatal("a dropped NewAttemptTrace stack (and its next transport) is still reachable after 20 GCs: its metric callback holds it")
}

type r3Next struct{ body string }

func (n *r3Next) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(n.body)), Request: req}, nil
}

// r3EndpointSource is a token source that fetches over its own HTTP stack
// (rt, e.g. a breaker or a signer for the token endpoint, with no retry
// layer of its own), with the context it is given: tokens.Cache hands it
// the attempt's context (context.WithoutCancel of it, for a background
// refresh).
type r3EndpointSource struct {
	rt      http.RoundTripper
	ttl     time.Duration
	fetches chan struct{} // when set, gets one value per fetch done
}

func (s *r3EndpointSource) Token(ctx context.Context) (tokens.Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://auth.example.test/token", nil)
	if err != nil {
		return tokens.Token{}, err
	}
	resp, err := s.rt.RoundTrip(req)
	if err != nil {
		return tokens.Token{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return tokens.Token{}, errors.New("token endpoint: " + resp.Status)
	}
	if s.fetches != nil {
		s.fetches <- struct{}{}
	}
	return tokens.NewToken("t", "Bearer", time.Now().Add(s.ttl)), nil
}

// The attempt's context reaches the token source, and through it any
// clock-using layer of the source's own stack: clockAndHost does not check
// that the request is the attempt's, so a breaker guarding the token
// endpoint keys its failures on the API host the retry layer cached
// ("api.example.test"), not on the host it sends to.
func TestReview3TokenEndpointBreakerKeysOnItsOwnHost(t *testing.T) {
	var mu sync.Mutex
	var opened []string
	endpoint := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	})
	br := newBreaker(t, endpoint, transport.BreakerConfig{
		ConsecutiveFailures: 1,
		OnStateChange: func(host string, _, to transport.BreakerState) {
			if to == transport.BreakerOpen {
				mu.Lock()
				opened = append(opened, host)
				mu.Unlock()
			}
		},
	})
	src := authCache(t, &r3EndpointSource{rt: br, ttl: time.Hour})
	api := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	rt := newRetry(t, newAuth(t, api, src), transport.RetryConfig{MaxAttempts: 1})
	if _, err := resGet(t, t.Context(), rt); err == nil {
		t.Fatal("no error from a failing token endpoint")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(opened) != 1 || opened[0] != "auth.example.test" {
		t.Fatalf("the token endpoint's breaker opened for %q, want [auth.example.test]", opened)
	}
}

// A background token refresh (the early-refresh window) runs the source in
// its own goroutine with context.WithoutCancel(attempt context). A signing
// layer on the token endpoint's stack (nil Clock) then reads and writes the
// outer attempt's clock reading (Attempt.now) while the attempt's own
// goroutine signs the API request: a data race (go test -race), and the
// token request's created is the API attempt's reading.
func TestReview3BackgroundRefreshSharesTheAttemptClock(t *testing.T) {
	endpoint := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	signedEndpoint := newSignLayer(t, endpoint, mustOrigins(t, "https://auth.example.test"), nil)
	fetches := make(chan struct{}, 2)
	src, err := tokens.NewCache(&r3EndpointSource{rt: signedEndpoint, ttl: 200 * time.Millisecond, fetches: fetches},
		tokens.WithEarlyRefresh(time.Hour), tokens.WithJitter(0), tokens.WithExpiryMargin(0))
	if err != nil {
		t.Fatal(err)
	}
	api := transporttest.NewResponder(transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
	apiSigned := newSignLayer(t, api, mustOrigins(t, "https://api.example.test"), nil)
	rt := transport.NewAttemptScope(newAuth(t, apiSigned, src))
	r3Send(t, rt) // fetches the first token (life 200 ms, refresh from 100 ms)
	time.Sleep(120 * time.Millisecond)
	r3Send(t, rt) // in the early-refresh window: a background refresh while this attempt signs
	<-fetches     // the first token
	<-fetches     // the background refresh, before the test ends
}
