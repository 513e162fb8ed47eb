package client_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// reverseProxyRig is an API backend (TLS, loopback) behind an
// httputil.ReverseProxy whose Transport is a client's Transport(), the
// client holding a bearer token scoped to the backend's origin.
type reverseProxyRig struct {
	backend *httptest.Server
	target  *url.URL
	c       *client.Client

	mu    sync.Mutex
	seen  []string // "Host|Authorization" of each request the backend got
	perrs []error  // errors the proxy's ErrorHandler got
}

func newReverseProxyRig(t *testing.T) *reverseProxyRig {
	t.Helper()
	rig := &reverseProxyRig{}
	rig.backend = newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rig.mu.Lock()
		rig.seen = append(rig.seen, r.Host+"|"+r.Header.Get("Authorization"))
		rig.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	rig.target, _ = url.Parse(rig.backend.URL)
	c, err := client.New(opts(loopback(),
		client.WithOrigins(rig.backend.URL),
		client.WithTokenSource(tokens.Static(tokens.NewToken("secret-token", "Bearer", time.Time{}))),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rig.c = c
	return rig
}

// front serves rp on a plain loopback server and sends it a GET with the
// given Host header (empty: the front server's own host:port).
func (rig *reverseProxyRig) front(t *testing.T, rp *httputil.ReverseProxy, host string) int {
	t.Helper()
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		rig.mu.Lock()
		rig.perrs = append(rig.perrs, err)
		rig.mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}
	fs := httptest.NewServer(rp)
	defer fs.Close()
	req, _ := http.NewRequest(http.MethodGet, fs.URL+"/v1/x", nil)
	if host != "" {
		req.Host = host
	}
	resp, err := fs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// httputil.NewSingleHostReverseProxy keeps the incoming Host header on the
// outgoing request. Through a client's Transport() that fails safe: a Host
// not on the egress allowlist is refused before any connection
// (ErrEgressDenied, nothing reaches the backend), and the API's host on
// another port (the proxy's own 127.0.0.1:port) reaches the backend
// without the credential, which is scoped to the backend's origin; the
// token is never sent with a Host other than the URL's.
func TestReverseProxyKeptHostFailsSafe(t *testing.T) {
	rig := newReverseProxyRig(t)
	rp := httputil.NewSingleHostReverseProxy(rig.target)
	rp.Transport = rig.c.Transport()

	if code := rig.front(t, rp, "evil.example"); code != http.StatusBadGateway {
		t.Errorf("Host evil.example: status %d, want 502", code)
	}
	rig.mu.Lock()
	if len(rig.seen) != 0 || len(rig.perrs) != 1 || !errors.Is(rig.perrs[0], client.ErrEgressDenied) {
		t.Errorf("Host evil.example: backend saw %q, proxy errors %v; want nothing sent, ErrEgressDenied", rig.seen, rig.perrs)
	}
	rig.mu.Unlock()

	// The proxy's own Host: 127.0.0.1, the API's host, on the proxy's port.
	if code := rig.front(t, rp, ""); code != http.StatusOK {
		t.Errorf("proxy's Host: status %d", code)
	}
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if len(rig.seen) != 1 || strings.HasPrefix(rig.seen[0], rig.target.Host+"|") || !strings.HasSuffix(rig.seen[0], "|") {
		t.Errorf("proxy's Host: backend saw %q; want one request without Authorization", rig.seen)
	}
}

// The fix doc.go gives: Rewrite with pr.SetURL (which empties the Host),
// or NewSingleHostReverseProxy's Director followed by req.Host = "". The
// backend then gets its own Host and the credential.
func TestReverseProxyRewriteSendsCredential(t *testing.T) {
	rig := newReverseProxyRig(t)
	want := rig.target.Host + "|Bearer secret-token"

	rewrite := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(rig.target) },
		Transport: rig.c.Transport(),
	}
	if code := rig.front(t, rewrite, ""); code != http.StatusOK {
		t.Fatalf("Rewrite with SetURL: status %d, proxy errors %v", code, rig.perrs)
	}

	// NewSingleHostReverseProxy still sets the (deprecated) Director
	// hook, and existing code wraps it.
	director := httputil.NewSingleHostReverseProxy(rig.target)
	//lint:ignore SA1019 the Director NewSingleHostReverseProxy sets is what is fixed here
	direct := director.Director
	//lint:ignore SA1019 as above
	director.Director = func(req *http.Request) { direct(req); req.Host = "" }
	director.Transport = rig.c.Transport()
	if code := rig.front(t, director, "evil.example"); code != http.StatusOK {
		t.Fatalf("Director with req.Host = \"\": status %d, proxy errors %v", code, rig.perrs)
	}
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if len(rig.seen) != 2 || rig.seen[0] != want || rig.seen[1] != want {
		t.Errorf("backend saw %q, want %q twice", rig.seen, want)
	}
}
