package client_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestCredentialTrailerNeverOverPlainHTTP: a credential the caller puts in
// the request's trailer (Authorization, an API-key header, a sensitive
// header) goes on the wire like a header field, after the body: over plain
// http it is refused like the same field in the header, and nothing is
// sent.
func TestCredentialTrailerNeverOverPlainHTTP(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, r.Trailer.Clone())
		mu.Unlock()
	}))
	defer srv.Close()
	c, err := client.New(client.WithOrigins(srv.URL), client.WithSensitiveHeaders("X-Session"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"Authorization", "authorization", "X-Api-Key", "X-Session"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/x", io.NopCloser(strings.NewReader("payload")))
		req.Trailer = http.Header{name: {"CANARY-secret"}}
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		want := client.ErrEgressDenied
		if strings.EqualFold(name, "Authorization") {
			// No trailer may carry it at all (RFC 9110 §6.5.1): refused
			// before the egress check, since session 22.
			want = client.ErrInvalidRequest
		}
		if !errors.Is(err, want) {
			t.Errorf("trailer %s over http: err = %v, want %v", name, err, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, tr := range got {
		for k, vs := range tr {
			for _, v := range vs {
				if strings.Contains(v, "CANARY") {
					t.Errorf("server received trailer %s: %q over plain http", k, v)
				}
			}
		}
	}
}
