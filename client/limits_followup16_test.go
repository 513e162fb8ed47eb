package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestLimitsFollowUpFromRedirectedCall: a new call built from a redirected
// call's response (resp.Request.Clone, a poll) keeps Response, which
// leads back to the earlier call's requests, but starts a redirect chain
// of its own: http.Client follows a 307 to it (its body is discarded, not
// checked against WithResponseMediaTypes) since the follow-up has no body,
// whatever the earlier call sent; so does a hop after the follow-up's own
// redirect.
func TestLimitsFollowUpFromRedirectedCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			io.Copy(io.Discard, r.Body)
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/poll":
			w.Header().Set("Location", "/page")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusTemporaryRedirect)
			io.WriteString(w, "<html>moved</html>")
		case "/hop":
			http.Redirect(w, r, "/poll", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
		}
	}))
	defer srv.Close()
	c, err := client.New(client.WithOrigins(srv.URL), client.WithResponseMediaTypes("application/json"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc := c.HTTPClient()
	// A body without GetBody, turned into a GET by the 302.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/start", io.NopCloser(strings.NewReader("x")))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.Response == nil {
		t.Fatal("resp.Request of a redirected call has no Response: nothing to check")
	}
	for _, path := range []string{"/poll", "/hop"} {
		next := resp.Request.Clone(context.Background())
		next.URL.Path = path
		r, err := hc.Do(next)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s: status %d, want 200 (the 307 followed)", path, r.StatusCode)
		}
	}
}
