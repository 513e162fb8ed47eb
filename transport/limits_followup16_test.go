package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestLimitsFollowUpFromRedirectedCall: the limits layer tells whether
// http.Client follows a 307 (and so discards its body unchecked) by the
// first request of the redirect chain. A new call built from a redirected
// call's response (resp.Request.Clone) keeps its Response, which leads back
// to the earlier call's requests: it starts a chain of its own, and http.Client
// follows a 307 to it when it has no body, whatever the earlier call sent.
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
	rt, err := transport.NewLimits(http.DefaultTransport, transport.LimitsConfig{MediaTypes: []string{"application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt}
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
	// /poll answers the follow-up with a 307, /hop its redirect hop.
	for _, path := range []string{"/poll", "/hop"} {
		next := resp.Request.Clone(context.Background())
		next.URL.Path = path
		r, err := hc.Do(next)
		if err != nil {
			if errors.Is(err, transport.ErrMediaTypeDenied) {
				t.Errorf("%s: %v: the 307 http.Client follows was checked as a response the caller reads", path, err)
			} else {
				t.Errorf("%s: %v", path, err)
			}
			continue
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s: status %d, want 200 (the 307 followed)", path, r.StatusCode)
		}
	}
}
