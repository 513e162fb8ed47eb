package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestInvalidFieldNameErrorHidesWhatFollowsTheName: a header (or trailer)
// key built by mistake as "Authorization: Bearer <token>" (a whole line
// used as the name) is refused before anything is sent, and the error,
// which ends up in logs and spans, shows the name up to the byte that
// makes it invalid, not the token after it.
func TestInvalidFieldNameErrorHidesWhatFollowsTheName(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const secret = "s3cr3t-token-value"
	for _, where := range []string{"header", "trailer"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
		h := req.Header
		if where == "trailer" {
			req.Trailer = http.Header{}
			h = req.Trailer
		}
		h["Authorization: Bearer "+secret] = []string{"x"}
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, client.ErrInvalidRequest) {
			t.Fatalf("%s: %v, want ErrInvalidRequest", where, err)
		}
		msg := err.Error()
		if strings.Contains(msg, secret) || strings.Contains(msg, "Bearer") {
			t.Errorf("%s: the error shows what follows the field name: %s", where, msg)
		}
		if !strings.Contains(msg, `"Authorization…"`) || !strings.Contains(msg, where) {
			t.Errorf("%s: the error does not name the field's valid start: %s", where, msg)
		}
	}
}
