package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func TestTotalTimeoutConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		rt, err := transport.NewTotalTimeout(next, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	})
}

func TestAttemptTimeoutConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		rt, err := transport.NewAttemptTimeout(next, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	})
}

// resCtxRecorder answers 200 with a body and remembers the request's context.
type resCtxRecorder struct {
	mu   sync.Mutex
	ctx  context.Context
	req  *http.Request
	body []byte
	hang bool
}

func (c *resCtxRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.ctx, c.req = req.Context(), req
	c.mu.Unlock()
	if c.hang {
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(c.body)), Request: req}, nil
}

func (c *resCtxRecorder) context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctx
}

func TestTotalTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &resCtxRecorder{hang: true}
		rt, err := transport.NewTotalTimeout(rec, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = resGet(t, t.Context(), rt)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Errorf("err %v after %v", err, time.Since(start))
		}

		// The body stays readable after RoundTrip returns; closing it
		// releases the context.
		rec = &resCtxRecorder{body: []byte("hello")}
		rt, _ = transport.NewTotalTimeout(rec, 3*time.Second)
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		if rec.context().Err() != nil {
			t.Fatal("context cancelled when RoundTrip returned")
		}
		time.Sleep(time.Second)
		if b, _ := io.ReadAll(resp.Body); string(b) != "hello" {
			t.Errorf("body %q", b)
		}
		resp.Body.Close()
		if rec.context().Err() == nil {
			t.Error("context not released when the body was closed")
		}

		// A caller with an earlier deadline: the layer adds nothing.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, resURL, nil)
		resp, err = rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if rec.context() != ctx {
			t.Error("a new context for a caller whose deadline was already earlier")
		}
	})
}

func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &resCtxRecorder{hang: true}
		rt, err := transport.NewAttemptTimeout(rec, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = resGet(t, t.Context(), rt)
		var ae *transport.AttemptTimeoutError
		if !errors.As(err, &ae) || ae.Timeout != 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v", err)
		}
		if time.Since(start) != 2*time.Second {
			t.Errorf("failed after %v", time.Since(start))
		}
		if transport.ErrorType(err) != transport.ErrorTypeTimeout {
			t.Errorf("ErrorType %q", transport.ErrorType(err))
		}

		// The caller's own, earlier deadline is not an attempt timeout.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err = resGet(t, ctx, rt)
		cancel()
		if errors.As(err, &ae) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("caller's deadline reported as %v", err)
		}

		// Cancelled when the body is closed, not when RoundTrip returns.
		rec = &resCtxRecorder{body: []byte("data")}
		rt, _ = transport.NewAttemptTimeout(rec, 2*time.Second)
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		if rec.context().Err() != nil {
			t.Fatal("attempt context cancelled when RoundTrip returned")
		}
		resp.Body.Close()
		if rec.context().Err() == nil {
			t.Error("attempt context not cancelled when the body was closed")
		}
	})
}

// Inside a stack, the attempt timeout's context change keeps the
// attempt's ownership of its request: inner layers do not clone.
func TestAttemptTimeoutKeepsOwnership(t *testing.T) {
	rec := &resCtxRecorder{}
	rt, _ := transport.NewAttemptTimeout(rec, time.Minute)
	req, _ := http.NewRequest(http.MethodGet, resURL, nil)
	resp, err := rt.RoundTrip(transport.BeginAttempt(req, 0))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if transport.Own(rec.req) != rec.req {
		t.Error("the request below the attempt timeout is not owned by the attempt")
	}
	if transport.Attempts(resp) != 1 {
		t.Errorf("Attempts %d", transport.Attempts(resp))
	}
}

// upgradeBody is the body of a 101 Switching Protocols response: writable.
type upgradeBody struct {
	written bytes.Buffer
}

func (*upgradeBody) Read([]byte) (int, error)      { return 0, io.EOF }
func (*upgradeBody) Close() error                  { return nil }
func (b *upgradeBody) Write(p []byte) (int, error) { return b.written.Write(p) }

func TestTimeoutsKeepBodyWritable(t *testing.T) {
	body := &upgradeBody{}
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 101, Header: http.Header{}, Body: body, Request: req}, nil
	})
	total, _ := transport.NewTotalTimeout(next, time.Minute)
	attempt, _ := transport.NewAttemptTimeout(next, time.Minute)
	for name, rt := range map[string]http.RoundTripper{"total": total, "attempt": attempt} {
		resp, err := resGet(t, context.Background(), rt)
		if err != nil {
			t.Fatal(err)
		}
		w, ok := resp.Body.(io.Writer)
		if !ok {
			t.Errorf("%s: 101 body lost io.Writer", name)
			continue
		}
		w.Write([]byte("ping"))
		resp.Body.Close()
	}
	if body.written.String() != "pingping" {
		t.Errorf("writes reached %q", body.written.String())
	}
}

func TestTimeoutConfigErrors(t *testing.T) {
	var ce *transport.ConfigError
	if _, err := transport.NewTotalTimeout(nil, 0); !errors.As(err, &ce) || ce.Option != "TotalTimeout" {
		t.Errorf("total 0: %v", err)
	}
	if _, err := transport.NewAttemptTimeout(nil, -time.Second); !errors.As(err, &ce) || ce.Option != "AttemptTimeout" {
		t.Errorf("attempt -1s: %v", err)
	}
}
