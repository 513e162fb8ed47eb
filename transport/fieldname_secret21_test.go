package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestInvalidFieldNameRefusalHidesWhatFollowsTheName: on a hand-built
// stack, net/http's refusal of a header key built by mistake as
// "Authorization: Bearer <token>" quotes the whole key; the refusal the
// layers return (ErrInvalidRequest, not retried) shows the name up to the
// byte that makes it invalid, not the token after it. errors.As still
// reaches net/http's own error.
func TestInvalidFieldNameRefusalHidesWhatFollowsTheName(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	const secret = "s3cr3t-token-value"
	rt, err := transport.NewRetry(srv.Client().Transport, transport.RetryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	req.Header["Authorization: Bearer "+secret] = []string{"x"}
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrInvalidRequest) {
		t.Fatalf("%v, want ErrInvalidRequest", err)
	}
	msg := err.Error()
	if strings.Contains(msg, secret) || strings.Contains(msg, "Bearer") {
		t.Errorf("the error shows what follows the field name: %s", msg)
	}
	if !strings.Contains(msg, `"Authorization…"`) {
		t.Errorf("the error does not name the field's valid start: %s", msg)
	}
}
