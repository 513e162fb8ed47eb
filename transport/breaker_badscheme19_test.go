package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestBreakerUnsupportedSchemeExcluded: a request net/http refuses before
// dialing because its URL's scheme is none it speaks (a caller's typo,
// "htps://") is the caller's malformed request: it is not retried, and
// however many are made the breaker of the host they name stays closed,
// so the host's good requests are still sent.
func TestBreakerUnsupportedSchemeExcluded(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var opened, sent int
	base := srv.Client().Transport
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		return base.RoundTrip(r)
	})
	rc := transport.StandardPreset()
	rc.Breaker.ConsecutiveFailures = 2
	rc.Breaker.OnStateChange = func(_ string, _, to transport.BreakerState) {
		if to == transport.BreakerOpen {
			opened++
		}
	}
	rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
	rt, err := transport.NewResilience(next, rc)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(srv.URL, "https://", "htps://", 1)
	for i := range 4 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, bad+"/x", nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("request %d to %s: no error", i, bad)
		}
		if !errors.Is(err, transport.ErrInvalidRequest) && !errors.Is(err, transport.ErrCircuitOpen) {
			t.Errorf("request %d: err = %v; want one matching ErrInvalidRequest", i, err)
		}
		if errors.Is(err, transport.ErrCircuitOpen) {
			t.Fatalf("request %d refused by the breaker (%v): the caller's bad scheme opened it", i, err)
		}
	}
	if sent != 4 {
		t.Errorf("%d attempts for 4 requests with an unsupported scheme; want 4 (not retried)", sent)
	}
	if code, err := resSend(t, t.Context(), rt, srv.URL+"/ok"); err != nil || code != 200 {
		t.Fatalf("a good GET after them: %d, %v; want 200", code, err)
	}
	if opened != 0 {
		t.Fatalf("breaker opened %d times", opened)
	}
}
