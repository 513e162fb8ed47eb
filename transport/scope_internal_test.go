package transport

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/trace"
)

func TestOTelSpanKeyProbe(t *testing.T) {
	if otelSpanKey == nil {
		t.Fatal("the probe did not learn the OTel span context key: callScope cannot carry a span (tracing-off fast path disabled)")
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	span := trace.SpanFromContext(trace.ContextWithRemoteSpanContext(context.Background(), sc))
	cs := &callScope{Context: context.Background(), span: span}
	if got := trace.SpanFromContext(cs).SpanContext(); got.SpanID() != sc.SpanID() {
		t.Fatalf("SpanFromContext(scope) = %v, want the scope's span", got)
	}
	// Without a span the scope defers to its parent.
	parent := trace.ContextWithSpan(context.Background(), span)
	if got := trace.SpanFromContext(&callScope{Context: parent}).SpanContext(); got.SpanID() != sc.SpanID() {
		t.Fatal("a scope without a span hid its parent's")
	}
}

// callDeadline behaves as context.WithDeadline would, whether or not
// anything waits on it.
func TestCallDeadlineContract(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type key struct{}
		parent := context.WithValue(context.Background(), key{}, "v")
		cd := newTestCallDeadline(parent, time.Now().Add(time.Second))
		if d, ok := cd.Deadline(); !ok || !d.Equal(cd.d) {
			t.Fatal("Deadline")
		}
		if cd.Err() != nil || cd.Value(key{}) != "v" {
			t.Fatal("fresh context: Err or Value wrong")
		}
		if cd.materialized() {
			t.Fatal("a timer was made before anything waited")
		}
		time.Sleep(time.Second)
		if !errors.Is(cd.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err after the deadline, never waited on: %v", cd.Err())
		}
		select {
		case <-cd.Done():
		default:
			t.Fatal("Done not closed after the deadline")
		}

		// Waited on before the deadline: Done closes at the deadline, and a
		// child context is cancelled with it.
		cd = newTestCallDeadline(parent, time.Now().Add(time.Second))
		child, cancel := context.WithCancel(cd)
		defer cancel()
		start := time.Now()
		<-child.Done()
		if time.Since(start) != time.Second || !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Fatalf("child done after %v with %v", time.Since(start), child.Err())
		}
		if cd.Value(key{}) != "v" {
			t.Fatal("Value lost once materialised")
		}

		// The parent's cancellation comes through, materialised or not.
		pctx, pcancel := context.WithCancel(context.Background())
		cd = newTestCallDeadline(pctx, time.Now().Add(time.Hour))
		pcancel()
		if !errors.Is(cd.Err(), context.Canceled) {
			t.Fatal("parent cancellation not reported")
		}
		<-cd.Done()

		// Released (the call is over): Canceled, and a late Done is closed.
		cd = newTestCallDeadline(context.Background(), time.Now().Add(time.Hour))
		cd.release()
		if !errors.Is(cd.Err(), context.Canceled) {
			t.Fatalf("released: %v", cd.Err())
		}
		<-cd.Done()
	})
}

// A child of a materialised callDeadline registers with its timer context
// directly: no goroutine per child.
func TestCallDeadlineChildrenNoGoroutine(t *testing.T) {
	cd := newTestCallDeadline(context.Background(), time.Now().Add(time.Hour))
	_ = cd.Done()
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	for range 50 {
		_, c := context.WithCancel(cd)
		cancels = append(cancels, c)
	}
	if after := runtime.NumGoroutine(); after-before >= 50 {
		t.Fatalf("%d goroutines for 50 child contexts", after-before)
	}
	for _, c := range cancels {
		c()
	}
	cd.release()
}

// The usual stack (call scope → total timeout → attempt → attempt timeout)
// gives the attempt one timer context, at the earlier deadline, and
// reports an attempt timeout as such.
func TestAttemptTimeoutOverCallDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen context.Context
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			seen = r.Context()
			<-r.Context().Done()
			return nil, r.Context().Err()
		})
		at, _ := NewAttemptTimeout(base, 2*time.Second)
		tt, _ := NewTotalTimeout(NewAttemptScope(at), 5*time.Second)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
		start := time.Now()
		_, err := tt.RoundTrip(req)
		var ate *AttemptTimeoutError
		if !errors.As(err, &ate) || time.Since(start) != 2*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
		if _, ok := AttemptFrom(seen); !ok {
			t.Fatal("the attempt is not in the inner context")
		}

		// The total deadline comes first: a plain deadline error.
		at, _ = NewAttemptTimeout(base, 10*time.Second)
		tt, _ = NewTotalTimeout(NewAttemptScope(at), 3*time.Second)
		start = time.Now()
		_, err = tt.RoundTrip(req)
		if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ate) || time.Since(start) != 3*time.Second {
			t.Fatalf("total first: err %v after %v", err, time.Since(start))
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// In the usual stack (total timeout, retry, breaker, attempt timeout), the
// attempt timeout's own cancellation (on an error, or its deadline) must
// not reach the context the layers above it hold: the breaker classifies
// failed attempts with it and must count them.
func TestBreakerCountsFailuresUnderAttemptTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		base roundTripFunc
	}{
		{"attempt timeouts", func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}},
		{"connection errors", func(r *http.Request) (*http.Response, error) {
			return nil, errors.New("read tcp 10.0.0.1:443: connection reset by peer")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sends := 0
				base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
					sends++
					return tc.base(r)
				})
				var rt http.RoundTripper
				rt, _ = NewAttemptTimeout(base, 2*time.Second)
				rt, _ = NewBreaker(rt, BreakerConfig{ConsecutiveFailures: 2})
				rt, _ = NewRetry(rt, RetryConfig{MaxAttempts: 1})
				rt, _ = NewTotalTimeout(rt, 30*time.Second)
				var err error
				for range 3 {
					req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
					_, err = rt.RoundTrip(req)
				}
				if !errors.Is(err, ErrCircuitOpen) || sends != 2 {
					t.Fatalf("third call: %v after %d sends, want the breaker open after 2", err, sends)
				}
			})
		})
	}
}

// ctxErrHandler records the context error of every audit record.
type ctxErrHandler struct{ errs *[]error }

func (h ctxErrHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h ctxErrHandler) Handle(ctx context.Context, _ slog.Record) error {
	*h.errs = append(*h.errs, ctx.Err())
	return nil
}
func (h ctxErrHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h ctxErrHandler) WithGroup(string) slog.Handler      { return h }

// The audit record of a call is logged with the call's context as the
// audit layer received it, not one an inner layer (the total timeout) has
// already released: a handler that honours its context must not drop it.
func TestAuditLogsWithLiveContext(t *testing.T) {
	var errs []error
	var rt http.RoundTripper = roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("boom") })
	rt, _ = NewTotalTimeout(rt, time.Second)
	rt, _ = NewAudit(rt, AuditConfig{Logger: slog.New(ctxErrHandler{&errs})})
	rt = NewCallTrace(rt, TraceConfig{})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("no error")
	}
	if len(errs) != 1 || errs[0] != nil {
		t.Fatalf("audit record contexts: %v, want one live context", errs)
	}
}

// Once Err is non-nil it never changes, whatever happens after (release,
// a late Done, the parent's cancellation).
func TestCallDeadlineErrLatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pctx, pcancel := context.WithCancel(context.Background())
		defer pcancel()
		cd := newTestCallDeadline(pctx, time.Now().Add(time.Second))
		time.Sleep(time.Second)
		first := cd.Err()
		if !errors.Is(first, context.DeadlineExceeded) {
			t.Fatalf("Err after the deadline = %v", first)
		}
		cd.release()
		pcancel()
		<-cd.Done()
		if got := cd.Err(); got != first {
			t.Fatalf("Err changed from %v to %v", first, got)
		}
	})
}

func newTestCallDeadline(parent context.Context, d time.Time) *callDeadline {
	cd := new(callDeadline)
	cd.init(parent, d)
	return cd
}
