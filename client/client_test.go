package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

func TestNewRejectsBadConfiguration(t *testing.T) {
	validPin := "sha256/" + strings.Repeat("A", 43) + "="
	cases := []struct {
		name   string
		opts   []client.Option
		option string // substring expected in ConfigError.Option
		is     error
	}{
		{"nil option", []client.Option{nil}, "Option", nil},
		{"origin with path", []client.Option{client.WithOrigins("https://api.example.com/v1")}, "WithOrigins", nil},
		{"origin bad scheme", []client.Option{client.WithOrigins("ftp://api.example.com")}, "WithOrigins", nil},
		{"redirect origin with query", []client.Option{client.WithRedirectOrigins("https://x.example.com?a=1")}, "WithRedirectOrigins", nil},
		{"nil tls config", []client.Option{client.WithTLSConfig(nil)}, "WithTLSConfig", nil},
		{"insecure skip verify", []client.Option{client.WithTLSConfig(&tls.Config{InsecureSkipVerify: true})}, "WithTLSConfig", transport.ErrInsecureTLS},
		{"tls 1.1 minimum", []client.Option{client.WithTLSConfig(&tls.Config{MinVersion: tls.VersionTLS11})}, "WithTLSConfig", nil},
		{"tls minimum above maximum", []client.Option{client.WithTLSConfig(&tls.Config{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS12})}, "WithTLSConfig", nil},
		{"single pin", []client.Option{client.WithPins(transport.PinSet{Host: "api.example.com", Pins: []string{validPin}})}, "WithPins", nil},
		{"malformed pin", []client.Option{client.WithPins(transport.PinSet{Host: "api.example.com", Pins: []string{"md5/xyz", validPin}})}, "WithPins", nil},
		{"base transport and pins", []client.Option{client.WithBaseTransport(http.DefaultTransport), client.WithPins(transport.PinSet{Host: "a.example.com", Pins: []string{validPin, validPin}})}, "WithBaseTransport", nil},
		{"base transport and tls", []client.Option{client.WithBaseTransport(http.DefaultTransport), client.WithTLSConfig(&tls.Config{})}, "WithBaseTransport", nil},
		{"nil base transport", []client.Option{client.WithBaseTransport(nil)}, "WithBaseTransport", nil},
		{"bad sensitive header", []client.Option{client.WithSensitiveHeaders("X Api Key")}, "WithSensitiveHeaders", nil},
		{"credential header made visible", []client.Option{client.WithVisibleHeaders("X-Request-Id", "authorization")}, "WithVisibleHeaders", nil},
		{"nil tracer provider", []client.Option{client.WithTracerProvider(nil)}, "WithTracerProvider", nil},
		{"nil meter provider", []client.Option{client.WithMeterProvider(nil)}, "WithMeterProvider", nil},
		{"nil propagator", []client.Option{client.WithPropagator(nil)}, "WithPropagator", nil},
		{"nil proxy", []client.Option{client.WithProxy(nil)}, "WithProxy", nil},
		{"missing cert files", []client.Option{client.WithClientCertificateFiles("/nonexistent/c.pem", "/nonexistent/k.pem")}, "WithClientCertificateFiles", nil},
		{"nil client cert", []client.Option{client.WithClientCertificate(nil)}, "WithClientCertificate", nil},
		{"empty client cert", []client.Option{client.WithClientCertificate(&transport.ClientCertificate{})}, "WithClientCertificate", nil},
		{"allowed proxy without port", []client.Option{client.WithAllowedProxies("proxy.example.com"), client.WithEnvironmentProxy()}, "WithAllowedProxies", nil},
		{"bad egress allowlist entry", []client.Option{client.WithEgressAllowlist("https://api.example.com/v1")}, "WithEgressAllowlist", nil},
		{"origin port out of range", []client.Option{client.WithOrigins("https://api.example.com:99999")}, "WithOrigins", nil},
		{"origin port with leading zero", []client.Option{client.WithOrigins("https://api.example.com:0443")}, "WithOrigins", nil},
		{"redirect origin port zero", []client.Option{client.WithRedirectOrigins("https://cdn.example.com:0")}, "WithRedirectOrigins", nil},
		{"allowed networks without SSRF protection", []client.Option{client.WithoutSSRFProtection(), client.WithAllowedNetworks(netip.MustParsePrefix("10.0.0.0/8"))}, "WithAllowedNetworks", nil},
		{"allowed proxies without SSRF protection", []client.Option{client.WithAllowedProxies("proxy.internal:3128"), client.WithoutSSRFProtection()}, "WithAllowedProxies", nil},
		{"base transport and allowed networks", []client.Option{client.WithBaseTransport(http.DefaultTransport), client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8"))}, "WithBaseTransport", nil},
		{"base transport and allowed proxies", []client.Option{client.WithBaseTransport(http.DefaultTransport), client.WithAllowedProxies("proxy.internal:3128")}, "WithBaseTransport", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(tc.opts...)
			if err == nil {
				c.Close()
				t.Fatal("New succeeded, want a *ConfigError")
			}
			var ce *client.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *client.ConfigError", err, err)
			}
			if !strings.Contains(ce.Option, tc.option) {
				t.Errorf("ConfigError.Option = %q, want it to name %q", ce.Option, tc.option)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
			if !strings.HasPrefix(err.Error(), "securecall: ") {
				t.Errorf("message %q lacks the package prefix", err)
			}
		})
	}
}

func TestNewDefaultsWork(t *testing.T) {
	c, err := client.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Transport() == nil || c.HTTPClient() == nil || c.HTTPClient().CheckRedirect == nil {
		t.Fatal("client not fully built")
	}
}

func TestDoAfterCloseFailsAndClosesBody(t *testing.T) {
	c, err := client.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/", body)
	resp, err := c.Do(req)
	if !errors.Is(err, client.ErrClosed) || resp != nil {
		t.Fatalf("Do after Close = %v, %v; want ErrClosed", resp, err)
	}
	if !body.closed {
		t.Error("request body not closed")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestDoErrorsAreRedacted: *url.Error carries the full URL; Do rewrites it.
func TestDoErrorsAreRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	c, err := client.New(client.WithOrigins("http://" + addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const canary = "CANARY-9f8e7d"
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1?token="+canary+"&page=2", nil)
	_, err = c.Do(req)
	if err == nil {
		t.Fatal("want a connection error")
	}
	if strings.Contains(err.Error(), canary) {
		t.Fatalf("error leaks the canary: %v", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("*url.Error not reachable through %T", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Errorf("*net.OpError not reachable through the redacted error: %v", err)
	}
}

// recordingServer remembers the headers and body of every request.
type recordingServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method string
	header http.Header
	body   string
}

func newRecordingServer(t *testing.T, tlsOn bool, h http.HandlerFunc) *recordingServer {
	rs := &recordingServer{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, recorded{r.Method, r.Header.Clone(), string(b)})
		rs.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, "ok")
	})
	if tlsOn {
		rs.Server = newTLSServer(t, handler)
	} else {
		rs.Server = httptest.NewServer(handler)
	}
	t.Cleanup(rs.Close)
	return rs
}

func (rs *recordingServer) requests() []recorded {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]recorded(nil), rs.reqs...)
}

// localhostURL rewrites an httptest URL from 127.0.0.1 to localhost: the
// same socket under a different origin.
func localhostURL(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }

var credentialHeaders = map[string]string{
	"Authorization":   "Bearer CANARY-token",
	"X-Api-Key":       "CANARY-apikey",
	"Cookie":          "session=CANARY-cookie",
	"Signature":       "sig1=:CANARY=:",
	"Signature-Input": `sig1=("@method");keyid="k"`,
}

func TestRedirectToAllowedForeignOriginCarriesNoCredentialOrBody(t *testing.T) {
	foreign := newRecordingServer(t, true, nil)
	foreignOrigin := localhostURL(foreign.URL)
	own := newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/found":
			http.Redirect(w, r, foreignOrigin+"/landing", http.StatusFound)
		case "/temporary":
			http.Redirect(w, r, foreignOrigin+"/landing", http.StatusTemporaryRedirect)
		case "/same":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		default:
			io.WriteString(w, "own")
		}
	})
	c, err := client.New(opts(loopback(),
		client.WithOrigins(own.URL),
		client.WithRedirectOrigins(foreignOrigin),
		client.WithSensitiveHeaders("X-Api-Key"),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	send := func(method, path, body string) (*http.Response, error) {
		req, _ := http.NewRequest(method, own.URL+path, strings.NewReader(body))
		for k, v := range credentialHeaders {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}

	// 302 from a POST: http.Client turns it into a GET without body.
	if _, err := send(http.MethodPost, "/found", "CANARY-body"); err != nil {
		t.Fatal(err)
	}
	got := foreign.requests()
	if len(got) != 1 {
		t.Fatalf("foreign origin got %d requests, want 1", len(got))
	}
	for h := range credentialHeaders {
		if v := got[0].header.Get(h); v != "" {
			t.Errorf("foreign origin received %s: %q", h, v)
		}
	}
	if got[0].body != "" {
		t.Errorf("foreign origin received a body: %q", got[0].body)
	}

	// 307 would replay the body to the foreign origin: refused.
	_, err = send(http.MethodPost, "/temporary", "CANARY-body")
	if !errors.Is(err, client.ErrRedirectDenied) {
		t.Fatalf("307 to foreign origin with body: err = %v, want ErrRedirectDenied", err)
	}
	var re *transport.RedirectError
	if !errors.As(err, &re) || re.Reason == "" {
		t.Errorf("want a *transport.RedirectError with a reason, got %v", err)
	}
	if n := len(foreign.requests()); n != 1 {
		t.Errorf("foreign origin got %d requests after the refused 307, want still 1", n)
	}

	// A same-origin redirect keeps the caller's headers and replays the body.
	if _, err := send(http.MethodPost, "/same", "payload"); err != nil {
		t.Fatal(err)
	}
	last := own.requests()[len(own.requests())-1]
	if last.header.Get("X-Api-Key") != credentialHeaders["X-Api-Key"] || last.body != "payload" {
		t.Errorf("same-origin hop lost headers or body: %+v", last)
	}
}

func TestRedirectToUnlistedOriginIsRefused(t *testing.T) {
	other := newRecordingServer(t, false, nil)
	own := newRecordingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, localhostURL(other.URL)+"/x", http.StatusFound)
	})
	c, err := client.New(client.WithOrigins(own.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, own.URL+"/start?secret=CANARY", nil)
	_, err = c.Do(req)
	if !errors.Is(err, client.ErrRedirectDenied) {
		t.Fatalf("err = %v, want ErrRedirectDenied", err)
	}
	if strings.Contains(err.Error(), "CANARY") {
		t.Errorf("error leaks the query: %v", err)
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("unlisted origin received %d requests", n)
	}
}

func TestRedirectHTTPSToHTTPIsRefused(t *testing.T) {
	plain := newRecordingServer(t, false, nil)
	secure := newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/x", http.StatusFound)
	})
	// Even with the http origin explicitly allowed, the downgrade is
	// refused. (An http redirect origin needs an http origin of the
	// client's own, plainOwn: TestPlainHTTPRedirectOriginNeedsHTTPOrigin.)
	plainOwn := newRecordingServer(t, false, nil)
	c, err := client.New(opts(loopback(),
		client.WithOrigins(secure.URL, plainOwn.URL),
		client.WithRedirectOrigins(plain.URL),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, secure.URL+"/start", nil)
	_, err = c.Do(req)
	if !errors.Is(err, client.ErrRedirectDenied) {
		t.Fatalf("err = %v, want ErrRedirectDenied", err)
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("http origin received %d requests", n)
	}
}

func TestMaxRedirects(t *testing.T) {
	own := newRecordingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/again", http.StatusFound)
	})
	c, err := client.New(client.WithOrigins(own.URL), client.WithMaxRedirects(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, own.URL+"/", nil)
	if _, err := c.Do(req); !errors.Is(err, client.ErrRedirectDenied) {
		t.Fatalf("err = %v, want ErrRedirectDenied", err)
	}
	if n := len(own.requests()); n != 4 { // first request + 3 hops
		t.Errorf("server saw %d requests, want 4", n)
	}
}

func TestHTTP2IsKept(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c, err := client.New(client.WithOrigins(srv.URL), client.WithTLSConfig(&tls.Config{RootCAs: roots}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || string(b) != "HTTP/2.0" {
		t.Fatalf("spoke %s (server saw %q), want HTTP/2", resp.Proto, b)
	}
}

func TestTransportWorksWithCallersOwnClient(t *testing.T) {
	srv := newRecordingServer(t, false, nil)
	c, err := client.New(client.WithOrigins(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc := &http.Client{Transport: c.Transport(), CheckRedirect: c.CheckRedirect()}
	resp, err := hc.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(srv.requests()) != 1 {
		t.Fatal("request did not arrive")
	}
}

func TestDoNilRequest(t *testing.T) {
	c, err := client.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if resp, err := c.Do(nil); err == nil || resp != nil {
		t.Fatalf("Do(nil) = %v, %v; want an error", resp, err)
	}
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// An http:// allowlist entry without an http origin is refused with a
// reason that names the options that would allow it (the transport's own
// message names EgressConfig.AllowHTTP, which the client has no option for).
func TestHTTPAllowlistEntryNeedsAnHTTPOrigin(t *testing.T) {
	_, err := client.New(client.WithEgressAllowlist(" HTTP://api.example.com"))
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithEgressAllowlist" || !strings.Contains(err.Error(), "WithOrigins") {
		t.Fatalf("err = %v; want a ConfigError naming WithEgressAllowlist and pointing at WithOrigins", err)
	}
	c, err := client.New(client.WithOrigins("http://127.0.0.1:8080"), client.WithEgressAllowlist("http://localhost:8080"))
	if err != nil {
		t.Fatalf("with an http origin: %v", err)
	}
	c.Close()
}
