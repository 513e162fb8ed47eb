package transport_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// h2RefusalStack is a traced stack (call trace, retry, attempt trace)
// over an HTTP/2 test server, with a span for every send (two-level) or
// the first send reported on the call span.
func h2RefusalStack(t *testing.T, rig *otelRig) (rt http.RoundTripper, url string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.ForceAttemptHTTP2 = true
	base.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2"}}
	t.Cleanup(base.CloseIdleConnections)
	rt = newRetry(t, transport.NewAttemptTrace(base, rig.cfg), transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
	return transport.NewCallTrace(rt, rig.cfg), srv.URL
}

// TestReview7TelemetryHTTP2HeaderRefusalNoValue: Go's HTTP/2 transport
// refuses a connection-specific header with a message that quotes the
// header's value. The caller's error names the field only
// (ErrInvalidRequest); an attempt span, whose status message is the
// attempt's error, must not carry the value either.
func TestReview7TelemetryHTTP2HeaderRefusalNoValue(t *testing.T) {
	const secret = "s3cr3t-upgrade-value"
	for _, twoLevel := range []bool{false, true} {
		rig := newOtelRig(t, nil)
		if twoLevel {
			rig.twoLevel()
		}
		rt, url := h2RefusalStack(t, rig)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/x", nil)
		req.Header.Set("Upgrade", secret)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatal("a request HTTP/2 refuses succeeded")
		}
		if !errors.Is(err, transport.ErrInvalidRequest) || strings.Contains(err.Error(), secret) {
			t.Fatalf("twoLevel=%v: err %v, want ErrInvalidRequest naming the field only", twoLevel, err)
		}
		spans := rig.ended()
		if len(spans) == 0 {
			t.Fatal("no span")
		}
		for _, s := range spans {
			if strings.Contains(s.Status.Description, secret) {
				t.Errorf("twoLevel=%v: span %s status quotes the header value: %q", twoLevel, s.Name, s.Status.Description)
			}
			for _, e := range s.Events {
				for _, a := range e.Attributes {
					if strings.Contains(a.Value.String(), secret) {
						t.Errorf("twoLevel=%v: span %s event %s quotes the header value", twoLevel, s.Name, e.Name)
					}
				}
			}
		}
	}
}

// TestReview7TelemetryInvalidRequestErrorType: an HTTP/2 header refusal is
// the caller's malformed request (ErrInvalidRequest). It gets an
// error.type of its own, a documented constant, on the spans and the
// duration histogram, instead of "_OTHER", which says nothing and lumps
// it with unknown failures.
func TestReview7TelemetryInvalidRequestErrorType(t *testing.T) {
	for _, twoLevel := range []bool{false, true} {
		rig := newOtelRig(t, nil)
		if twoLevel {
			rig.twoLevel()
		}
		rt, url := h2RefusalStack(t, rig)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/x", nil)
		req.Header.Set("Connection", "upgrade")
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatal("a request HTTP/2 refuses succeeded")
		}
		if got := transport.ErrorType(err); got != transport.ErrorTypeInvalidRequest {
			t.Errorf("twoLevel=%v: ErrorType %q, want %q", twoLevel, got, transport.ErrorTypeInvalidRequest)
		}
		for _, s := range rig.ended() {
			wantAttr(t, s, "error.type", transport.ErrorTypeInvalidRequest)
		}
		h := findHistogram(t, rig.metrics(t), transport.MetricRequestDuration)
		for _, p := range h.DataPoints {
			if v, _ := p.Attributes.Value("error.type"); v.AsString() != transport.ErrorTypeInvalidRequest {
				t.Errorf("twoLevel=%v: duration error.type %q, want %q", twoLevel, v.String(), transport.ErrorTypeInvalidRequest)
			}
		}
	}
	if got := transport.ErrorType(fmt.Errorf("wrapped: %w", transport.ErrInvalidRequest)); got != transport.ErrorTypeInvalidRequest {
		t.Errorf("ErrorType(ErrInvalidRequest) = %q, want %q", got, transport.ErrorTypeInvalidRequest)
	}
}
