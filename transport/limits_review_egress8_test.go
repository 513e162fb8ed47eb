package transport_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A 3xx with a Location that http.Client does not follow (300, 305, 306,
// or a 307/308 whose request body cannot be sent again) reaches the caller
// with its body: the media-type allowlist must apply to it, as to any
// other response the caller reads.
func TestLimitsMediaTypesRedirectNotFollowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/json" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
			return
		}
		code := 300
		switch r.URL.Path {
		case "/305":
			code = 305
		case "/307":
			code = 307
		case "/308":
			code = 308
		case "/302":
			code = 302
		}
		w.Header().Set("Location", "/json")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		io.WriteString(w, "<html>captive portal</html>")
	}))
	defer srv.Close()
	rt, err := transport.NewLimits(srv.Client().Transport, transport.LimitsConfig{MediaTypes: []string{"application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt}
	do := func(method, path string, body io.Reader) (*http.Response, error) {
		req, err := http.NewRequest(method, srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		return hc.Do(req)
	}
	// Not followed: the caller would read an HTML body.
	for _, tc := range []struct {
		method, path string
		body         io.Reader
	}{
		{"GET", "/300", nil},
		{"GET", "/305", nil},
		// A body without GetBody: http.Client returns the 307/308.
		{"POST", "/307", io.NopCloser(strings.NewReader("x"))},
		{"POST", "/308", io.NopCloser(strings.NewReader("x"))},
	} {
		resp, err := do(tc.method, tc.path, tc.body)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s %s: status %d with %q reached the caller, want *MediaTypeError", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		if !errors.Is(err, transport.ErrMediaTypeDenied) {
			t.Errorf("%s %s: err = %v, want ErrMediaTypeDenied", tc.method, tc.path, err)
		}
	}
	// Followed: the redirect's own body is discarded by http.Client, the
	// final JSON answer is what the caller reads.
	for _, tc := range []struct {
		method, path string
		body         io.Reader
	}{
		{"GET", "/302", nil},
		{"GET", "/307", nil},
		{"POST", "/307", strings.NewReader("x")}, // GetBody set
		{"POST", "/308", strings.NewReader("x")},
		// A body without GetBody, turned into a GET by the 302: the hop
		// after it has no body.
		{"POST", "/302", io.NopCloser(strings.NewReader("x"))},
	} {
		resp, err := do(tc.method, tc.path, tc.body)
		if err != nil {
			t.Errorf("%s %s: err = %v, want the followed JSON answer", tc.method, tc.path, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s %s: status %d, want 200", tc.method, tc.path, resp.StatusCode)
		}
	}
}
