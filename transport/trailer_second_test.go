package transport_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A trailer value the caller's body fills while it is read reaches the
// server on every send a layer makes of the request: through a credential
// layer used on its own (its copy of the request took the trailer before
// the body was read) and on the auth layer's replay after a 401 (the
// replay's body, from GetBody, filled the caller's trailer, but the replay
// sent the first send's copy: the first send's values, or none).
func TestTrailerFilledWhileBodyIsReadOnEverySend(t *testing.T) {
	var calls atomic.Int32
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Trailer.Get("X-Sum")
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	origins, err := transport.ParseOrigins(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	newAuth := func() http.RoundTripper {
		l, err := transport.NewAuth(srv.Client().Transport, transport.AuthConfig{Source: authCache(t, &seqSource{}), Scope: origins})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"auth on its own", newAuth()},
		{"auth in an attempt scope", transport.NewAttemptScope(newAuth())},
	} {
		calls.Store(0)
		req, err := http.NewRequest(http.MethodPut, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Body = &trailerFiller{r: strings.NewReader("hello"), req: req, val: "first"}
		req.GetBody = func() (io.ReadCloser, error) {
			return &trailerFiller{r: strings.NewReader("hello"), req: req, val: "again"}, nil
		}
		req.ContentLength = -1
		req.Trailer = http.Header{"X-Sum": nil}
		resp, err := tc.rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, want 200 (the replay)", tc.name, resp.StatusCode)
		}
		for i, w := range []string{"first", "again"} {
			if s := <-got; s != w {
				t.Errorf("%s: send %d sent trailer X-Sum %q, want %q", tc.name, i, s, w)
			}
		}
	}
}
