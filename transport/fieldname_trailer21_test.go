package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestInvalidTrailerRefusalIsInvalidRequest: net/http refuses a request
// whose trailer has an invalid field name or value before looking for a
// connection, as it does a header's ("net/http: invalid trailer field
// name %q"), but only the header's refusal was known: on a hand-built
// stack a trailer key built by mistake as "Authorization: Bearer <token>"
// was an unknown error, retried (each attempt refused the same way) and a
// failure against the breaker, its message quoting the token. It is now
// ErrInvalidRequest, not retried, the name shown up to the byte that makes
// it invalid; errors.As still reaches net/http's error.
func TestInvalidTrailerRefusalIsInvalidRequest(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	const secret = "s3cr3t-token-value"
	for _, tc := range []struct {
		what  string
		key   string
		value string
	}{
		{"name", "Authorization: Bearer " + secret, "x"},
		{"value", "X-Checksum", "a\r\nb"},
	} {
		rt, err := transport.NewRetry(srv.Client().Transport, transport.RetryConfig{MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/x", strings.NewReader("body"))
		req.Trailer = http.Header{tc.key: {tc.value}}
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrInvalidRequest) {
			t.Errorf("trailer field %s: %v, want ErrInvalidRequest", tc.what, err)
			continue
		}
		if re, ok := errors.AsType[*transport.RetryError](err); ok && re.Attempts != 1 {
			t.Errorf("trailer field %s: %d attempts, want 1", tc.what, re.Attempts)
		}
		msg := err.Error()
		if strings.Contains(msg, secret) || strings.Contains(msg, "Bearer") {
			t.Errorf("trailer field %s: the error shows what follows the field name: %s", tc.what, msg)
		}
		if tc.what == "name" && !strings.Contains(msg, `trailer field name "Authorization…"`) {
			t.Errorf("trailer field name: the error does not name the field's valid start: %s", msg)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server saw %d requests, want none", n)
	}
}
