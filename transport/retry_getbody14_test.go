package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A retry stopped because GetBody failed keeps what the last attempt
// ended with: the status of the response discarded for the retry (as a
// deadline stop does), or the attempt's error, beside GetBody's. It used
// to say only "GetBody: ...", so a PUT answered 503, or one whose
// connection was reset, read as if nothing had been sent.
func TestRetryGetBodyFailsKeepsLastOutcome14(t *testing.T) {
	boom := errors.New("cannot rewind")
	reset := errors.New("connection reset by peer")
	for _, tc := range []struct {
		name    string
		step    transporttest.Step
		status  int
		lastErr error
	}{
		{"503", transporttest.Respond(503, "busy"), 503, nil},
		{"reset", transporttest.Fail(reset), 0, reset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.NewResponder(tc.step)
				rt := newRetry(t, next, transport.RetryConfig{})
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, strings.NewReader("data"))
				req.GetBody = func() (io.ReadCloser, error) { return nil, boom }
				resp, err := rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
					t.Fatalf("got a response %d", resp.StatusCode)
				}
				var re *transport.RetryError
				if !errors.As(err, &re) || re.Reason != transport.StopBody || re.Attempts != 1 || !errors.Is(err, boom) {
					t.Fatalf("err %v", err)
				}
				if re.Status != tc.status {
					t.Errorf("Status = %d, want %d (err %v)", re.Status, tc.status, err)
				}
				if tc.lastErr != nil && !errors.Is(err, tc.lastErr) {
					t.Errorf("err %v does not wrap the last attempt's error", err)
				}
				if next.Calls() != 1 {
					t.Errorf("%d calls, want 1", next.Calls())
				}
				if err := next.Unclosed(); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// A retry stopped by a failing GetBody is a stop the retry layer counts
// (securecall.client.retry.stops, reason request_body): the layer wanted
// to retry, as for every other counted stop.
func TestRetryGetBodyStopIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		next := transporttest.NewResponder(transporttest.Respond(503, "busy"))
		rt := newRetry(t, next, transport.RetryConfig{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, strings.NewReader("data"))
		req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("cannot rewind") }
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
			t.Fatal("no error")
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		stops := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != transport.MetricRetryStops {
					continue
				}
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					v, _ := dp.Attributes.Value(transport.RetryStopKey)
					stops[v.AsString()] += dp.Value
				}
			}
		}
		if stops[string(transport.StopBody)] != 1 || len(stops) != 1 {
			t.Errorf("retry stops %v, want request_body=1", stops)
		}
	})
}

// CheckRetry's (true, err) means "retry; if you cannot, fail with err"
// (go-retryablehttp), and every other stop keeps err: a retry stopped
// because GetBody failed keeps it too, beside GetBody's error.
func TestRetryGetBodyStopKeepsCheckRetryError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		policyErr := errors.New("policy: unexpected status")
		policy := func(_ context.Context, resp *http.Response, err error) (bool, error) {
			if resp != nil && resp.StatusCode >= 500 {
				return true, policyErr
			}
			return err != nil, nil
		}
		boom := errors.New("cannot rewind")
		next := transporttest.NewResponder(transporttest.Respond(503, "busy"))
		rt := newRetry(t, next, transport.RetryConfig{CheckRetry: policy})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, resURL, strings.NewReader("data"))
		req.GetBody = func() (io.ReadCloser, error) { return nil, boom }
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
			t.Fatal("got a response")
		}
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopBody || !errors.Is(err, boom) || !errors.Is(err, policyErr) || re.Status != 503 {
			t.Fatalf("err %v (status %d); want request_body, wrapping GetBody's error and CheckRetry's, status 503", err, re.Status)
		}
	})
}
