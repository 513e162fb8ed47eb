package client_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// countingServer counts the TCP connections it accepts.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	_, leaf := testPKI()
	srv.TLS = testTLS(leaf)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestEgressDeniesOtherOriginsBeforeConnecting: a client bound to its
// origins cannot reach another one; nothing is dialed.
func TestEgressDeniesOtherOriginsBeforeConnecting(t *testing.T) {
	own := newTLSServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	other, conns := countingServer(t)
	c, err := client.New(opts(loopback(), client.WithOrigins(own.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, other.URL+"/x", nil)
	_, err = c.Do(req)
	var ee *transport.EgressError
	if !errors.Is(err, client.ErrEgressDenied) || !errors.As(err, &ee) {
		t.Fatalf("err = %v, want ErrEgressDenied / *EgressError", err)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("denied origin got %d connections", n)
	}
}

// TestSSRFDialerRefusesLoopbackByDefault: with no origins configured (any
// https host allowed) a name or address that resolves to loopback is
// refused at connect time; nothing reaches the server.
func TestSSRFDialerRefusesLoopbackByDefault(t *testing.T) {
	srv, conns := countingServer(t)
	ca, _ := testPKI()
	c, err := client.New(client.WithTLSConfig(testpkiTrust(ca)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{srv.URL, localhostURL(srv.URL)} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		_, err = c.Do(req)
		if !errors.Is(err, client.ErrEgressDenied) {
			t.Errorf("%s: err = %v, want ErrEgressDenied from the dialer", u, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("loopback server got %d connections", n)
	}
}

// TestCredentialsNeverOverPlainHTTP: an explicitly listed http origin is
// reachable, but not with a credential.
func TestCredentialsNeverOverPlainHTTP(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c, err := client.New(client.WithOrigins(srv.URL), client.WithHMACSigning(hmacKeys(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	if _, err := c.Do(req); !errors.Is(err, client.ErrEgressDenied) {
		t.Fatalf("signed request over http: err = %v, want ErrEgressDenied", err)
	}
	plain, err := client.New(client.WithOrigins(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer x")
	if _, err := plain.Do(req); !errors.Is(err, client.ErrEgressDenied) {
		t.Fatalf("caller's Authorization over http: err = %v, want ErrEgressDenied", err)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("server got %d requests, want only the credential-free one", hits.Load())
	}
}

// TestResponseLimit: a body past WithMaxResponseBytes ends in an error, not
// a silent truncation.
func TestResponseLimit(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // no Content-Length: the limit bites while reading
		io.WriteString(w, strings.Repeat("x", 5000))
	}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithMaxResponseBytes(1000))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, client.ErrResponseTooLarge) || len(b) > 1000 {
		t.Fatalf("read %d bytes, err %v; want at most 1000 then ErrResponseTooLarge", len(b), err)
	}
}

// TestMediaTypeDeniedThroughClientSentinel: docs/errors.md promises that
// client re-exports every sentinel it lists, so a caller of
// WithResponseMediaTypes can branch on client.ErrMediaTypeDenied without
// importing transport.
func TestMediaTypeDeniedThroughClientSentinel(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>error</html>")
	}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithResponseMediaTypes("application/json"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, client.ErrMediaTypeDenied) {
		t.Fatalf("err = %v, want client.ErrMediaTypeDenied", err)
	}
	for _, p := range [][2]error{
		{client.ErrMediaTypeDenied, transport.ErrMediaTypeDenied},
		{client.ErrUnsafePath, transport.ErrUnsafePath},
		{client.ErrSchemaViolation, transport.ErrSchemaViolation},
	} {
		if p[0] != p[1] {
			t.Errorf("%v is not the transport sentinel", p[0])
		}
	}
}

// TestInventoryRecordsAuthTLSAndPins: the client's inventory says which
// API was called, how, and with what credentials.
func TestInventoryRecordsAuthTLSAndPins(t *testing.T) {
	_, leaf := testPKI()
	srv := newTLSServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	p2, _ := testpki.RandomPin()
	c, err := client.New(opts(loopback(),
		client.WithOrigins(srv.URL),
		client.WithPins(transport.PinSet{Host: "127.0.0.1", Pins: []string{testpki.Pin(leaf.Cert), p2}}),
		client.WithTokenSource(tokens.Static(tokens.NewToken("t", "Bearer", time.Now().Add(time.Hour)))),
		client.WithHMACSigning(hmacKeys(t)),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/users/42", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	snap := c.Inventory().Snapshot()
	if len(snap.Entries) != 1 {
		t.Fatalf("inventory has %d entries, want 1: %+v", len(snap.Entries), snap.Entries)
	}
	e := snap.Entries[0]
	if e.Calls != 3 || e.Method != http.MethodGet || !e.Pinned {
		t.Errorf("entry %+v: want 3 pinned GET calls", e)
	}
	for _, want := range []string{"bearer", "hmac"} {
		if !slices.Contains(e.Auth, want) {
			t.Errorf("auth kinds %v lack %q", e.Auth, want)
		}
	}
	if !slices.ContainsFunc(e.TLS, func(s string) bool { return strings.HasPrefix(s, "TLS 1.") || strings.HasPrefix(s, "1.") }) {
		t.Errorf("TLS versions %v", e.TLS)
	}
}

// TestHTTPOriginDoesNotOpenHTTPToAllowlistedHosts: an http origin (a
// loopback sidecar) must not let plain http reach the hosts of
// WithEgressAllowlist entries written without a scheme, which mean https:
// the client has no AllowHTTP option, and inferring it from the origin
// silently widened every such entry to http too. An entry that says
// http:// explicitly is honoured.
func TestHTTPOriginDoesNotOpenHTTPToAllowlistedHosts(t *testing.T) {
	var sent atomic.Int32
	stub := transporttestOK(&sent)
	c, err := client.New(
		client.WithBaseTransport(stub),
		client.WithOrigins("http://127.0.0.1:8080"),
		client.WithEgressAllowlist("api.example.com", "*.example.org", "http://plain.example.net"),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		url   string
		allow bool
	}{
		{"http://127.0.0.1:8080/", true},
		{"https://api.example.com/", true},
		{"https://a.example.org/", true},
		{"http://plain.example.net/", true},
		{"http://api.example.com/", false},
		{"http://a.example.org/", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if tc.allow && err != nil {
			t.Errorf("%s: %v, want allowed", tc.url, err)
		}
		if !tc.allow && !errors.Is(err, client.ErrEgressDenied) {
			t.Errorf("%s: err = %v, want ErrEgressDenied", tc.url, err)
		}
	}
	if n := sent.Load(); n != 4 {
		t.Fatalf("base transport got %d requests, want 4", n)
	}
}

// transporttestOK is a base transport answering 200 to everything and
// counting the requests in n.
func transporttestOK(n *atomic.Int32) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
}
