package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// ctxEndBody is an HTTP/1 body of unknown length that ends cleanly
// (io.EOF) once its request's context ends: a Go handler that returns when
// the client goes away ends its chunked body so.
type ctxEndBody struct{ ctx context.Context }

func (b ctxEndBody) Read([]byte) (int, error) {
	<-b.ctx.Done()
	return 0, io.EOF
}

func (ctxEndBody) Close() error { return nil }

// The clean end (io.EOF) of an open-ended HTTP/1 body read once the
// caller's context has ended is taken for the server's reaction to the
// cancellation, and the read fails with the context's error, not as a
// complete body. A caller that canceled with a cause
// (context.WithCancelCause), which net/http returns for a read the
// cancellation cuts, got context.Canceled there: the cause was lost,
// depending on which the connection delivered first. The read now fails
// with context.Cause.
func TestCutEOFKeepsCancelCause(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(http.RoundTripper) (http.RoundTripper, error)
	}{
		{"total-timeout", func(n http.RoundTripper) (http.RoundTripper, error) { return transport.NewTotalTimeout(n, time.Hour) }},
		{"attempt-timeout", func(n http.RoundTripper) (http.RoundTripper, error) { return transport.NewAttemptTimeout(n, time.Hour) }},
		{"call-trace", func(n http.RoundTripper) (http.RoundTripper, error) {
			return transport.NewCallTrace(n, transport.TraceConfig{TracerProvider: sdktrace.NewTracerProvider()}), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: -1,
					ProtoMajor: 1, ProtoMinor: 1, Body: ctxEndBody{r.Context()}, Request: r}, nil
			})
			rt, err := tc.wrap(next)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancelCause(t.Context())
			resp, err := resGet(t, ctx, rt)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			cancel(errShutdown)
			_, err = io.ReadAll(resp.Body)
			if !errors.Is(err, errShutdown) {
				t.Errorf("read err = %v, want the cancellation's cause %v", err, errShutdown)
			}
		})
	}
}
