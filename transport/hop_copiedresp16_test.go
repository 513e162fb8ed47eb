package transport_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// copyResponse is a layer that hands its caller a copy of the response it
// got (as a caller's WithCallLayer layer may: a cache, a rewrite), whose
// Request is the one it got.
type copyResponse struct{ next http.RoundTripper }

func (c copyResponse) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	cp := *resp
	resp = nil
	runtime.GC() // the response the layer below returned is gone
	return &cp, nil
}

// TestLimitsHopBehindLayerCopyingResponse: a redirect hop is told by the
// redirect response the limits layer returned; a layer above it that hands
// http.Client a copy of that response does not turn the hop into a chain
// start. A POST without GetBody redirected by a 302 to a 307: http.Client
// does not follow the 307 (the chain's first request cannot be sent
// again), so its body reaches the caller and its media type is checked.
func TestLimitsHopBehindLayerCopyingResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			io.Copy(io.Discard, r.Body)
			http.Redirect(w, r, "/poll", http.StatusFound)
		case "/poll":
			w.Header().Set("Location", "/page")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusTemporaryRedirect)
			io.WriteString(w, "<html>moved</html>")
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
	hc := &http.Client{Transport: copyResponse{rt}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/start", io.NopCloser(strings.NewReader("x")))
	resp, err := hc.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("status %d, Content-Type %q, body %q reached the caller unchecked; want ErrMediaTypeDenied",
			resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if !errors.Is(err, transport.ErrMediaTypeDenied) {
		t.Fatalf("err = %v, want ErrMediaTypeDenied", err)
	}
}
