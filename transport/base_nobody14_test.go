package transport_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestBaseBodylessResponsesHaveNoBody: a response that has no content by
// definition (to HEAD; 204, 304) comes back with http.NoBody over HTTP/2
// as over HTTP/1.1. net/http hands out http.NoBody on HTTP/1.1 only; over
// HTTP/2 it was an empty body of its own, which the layers above hold
// their resources on (a throttle slot, a span) until it is closed, and a
// HEAD's body is seldom closed.
func TestBaseBodylessResponsesHaveNoBody(t *testing.T) {
	w := newPKIWorld(t)
	for _, h2 := range []bool{false, true} {
		srv := pkiServer(t, w.leaf.TLS, h2, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/204":
				rw.WriteHeader(http.StatusNoContent)
			case "/304":
				rw.WriteHeader(http.StatusNotModified)
			default:
				rw.Header().Set("Content-Length", "5")
				io.WriteString(rw, "hello")
			}
		}), nil)
		b := pkiBase(t, transport.BaseConfig{}, srv, w.ca)
		for _, tc := range []struct{ method, path string }{{http.MethodHead, "/"}, {http.MethodGet, "/204"}, {http.MethodGet, "/304"}} {
			req, _ := http.NewRequest(tc.method, "https://api.example.test"+tc.path, nil)
			resp, err := b.RoundTrip(req)
			if err != nil {
				t.Fatalf("h2=%v %s %s: %v", h2, tc.method, tc.path, err)
			}
			if resp.Body != http.NoBody {
				t.Errorf("h2=%v %s %s: proto %s, body %T, want http.NoBody", h2, tc.method, tc.path, resp.Proto, resp.Body)
			}
			resp.Body.Close()
		}
		// A response with content keeps its body.
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
		resp, err := b.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello" {
			t.Errorf("h2=%v: body %q", h2, body)
		}
	}
}
