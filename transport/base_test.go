package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// Helpers shared by the base, pin, mTLS and classifier tests. Names carry a
// "pki" prefix to stay clear of other test files in this package.

// pkiMust returns v, or panics on err (which fails the test): it is only
// used for set-up steps that do not fail.
func pkiMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// pkiWorld is a CA with a server leaf for api.example.test and 127.0.0.1,
// and an attacker CA with a valid leaf for the same names.
type pkiWorld struct {
	ca, attackerCA *testpki.CA
	leaf, attacker *testpki.Leaf
}

func newPKIWorld(t testing.TB) *pkiWorld {
	t.Helper()
	w := &pkiWorld{}
	w.ca = pkiMust(testpki.NewCA("securecall test root"))
	w.attackerCA = pkiMust(testpki.NewCA("attacker root"))
	w.leaf = pkiMust(w.ca.Server("api.example.test", "127.0.0.1"))
	w.attacker = pkiMust(w.attackerCA.Server("api.example.test", "127.0.0.1"))
	return w
}

// pkiServer starts an HTTPS server presenting cert. mod, when set, adjusts
// the server's tls.Config before it starts.
func pkiServer(t testing.TB, cert tls.Certificate, h2 bool, h http.Handler, mod func(*tls.Config)) *httptest.Server {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if mod != nil {
		mod(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// pkiDialTo returns a DialContext that connects every dial to addr, so that
// URLs can use names (and so SNI) like https://api.example.test/.
func pkiDialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
}

// pkiBase returns a Base trusting roots (a pool) and dialing srv for every
// host; cfg's other fields are kept.
func pkiBase(t testing.TB, cfg transport.BaseConfig, srv *httptest.Server, cas ...*testpki.CA) *transport.Base {
	t.Helper()
	if cfg.TLSConfig == nil {
		cfg.TLSConfig = &tls.Config{}
	}
	if cfg.TLSConfig.RootCAs == nil {
		cfg.TLSConfig.RootCAs = testpki.Pool(cas...)
	}
	if cfg.DialContext == nil && srv != nil {
		cfg.DialContext = pkiDialTo(srv.Listener.Addr().String())
	}
	b := pkiMust(transport.NewBase(cfg))
	t.Cleanup(b.CloseIdleConnections)
	return b
}

// pkiGet sends GET rawURL through an http.Client over rt (so errors come
// wrapped as the caller sees them), reads and closes the body.
func pkiGet(t testing.TB, rt http.RoundTripper, rawURL string) (*http.Response, string, error) {
	t.Helper()
	resp, err := (&http.Client{Transport: rt}).Get(rawURL)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestBaseSpeaksHTTP2(t *testing.T) {
	w := newPKIWorld(t)
	for _, tc := range []struct {
		name  string
		h2    bool
		major int
	}{{"h2 server", true, 2}, {"h1 server", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := pkiServer(t, w.leaf.TLS, tc.h2, nil, nil)
			b := pkiBase(t, transport.BaseConfig{}, srv, w.ca)
			resp, body, err := pkiGet(t, b, "https://api.example.test/")
			if err != nil {
				t.Fatal(err)
			}
			if resp.ProtoMajor != tc.major || body != "ok" {
				t.Fatalf("proto %s body %q, want HTTP/%d", resp.Proto, body, tc.major)
			}
			if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
				t.Fatalf("TLS state %+v", resp.TLS)
			}
		})
	}
}

// TestBaseHonoursNextProtos: a TLSConfig whose NextProtos leaves "h2" out
// asks for HTTP/1.1 only, and gets it from a server that offers HTTP/2
// (net/http's HTTP/2 set-up would put "h2" in front of the list); a list
// with "h2", or none, keeps HTTP/2. The caller's config is not changed.
func TestBaseHonoursNextProtos(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, r.Proto)
	}), nil)
	for _, tc := range []struct {
		protos []string
		want   string
	}{
		{[]string{"http/1.1"}, "HTTP/1.1"},
		{[]string{"h2", "http/1.1"}, "HTTP/2.0"},
		{[]string{"http/1.1", "h2"}, "HTTP/2.0"},
		{nil, "HTTP/2.0"},
		// Only protocols net/http does not speak: HTTP/1.1, which the
		// client must offer, or a server that checks ALPN (crypto/tls)
		// refuses the handshake ("no application protocol").
		{[]string{"spdy/3.1"}, "HTTP/1.1"},
	} {
		cfg := &tls.Config{NextProtos: slices.Clone(tc.protos)}
		b := pkiBase(t, transport.BaseConfig{TLSConfig: cfg}, srv, w.ca)
		for i := 0; i < 2; i++ { // a new connection, then a pooled one
			resp, body, err := pkiGet(t, b, "https://api.example.test/")
			if err != nil {
				t.Fatal(err)
			}
			if body != tc.want || resp.Proto != tc.want {
				t.Errorf("NextProtos %q: the server saw %s, the client %s; want %s", tc.protos, body, resp.Proto, tc.want)
			}
		}
		if !slices.Equal(cfg.NextProtos, tc.protos) {
			t.Errorf("NextProtos %q: the caller's config changed to %q", tc.protos, cfg.NextProtos)
		}
	}
}

func TestBaseRefusesServerBelowTLS12(t *testing.T) {
	w := newPKIWorld(t)
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			var served atomic.Int32
			srv := pkiServer(t, w.leaf.TLS, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served.Add(1)
			}), func(c *tls.Config) {
				c.MinVersion = tls.VersionTLS10
				c.MaxVersion = v
			})
			// Control: the server really speaks this version to a client
			// that allows it.
			ctl := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testpki.Pool(w.ca), MinVersion: tls.VersionTLS10, ServerName: "api.example.test"}}
			defer ctl.CloseIdleConnections()
			resp, _, err := pkiGet(t, ctl, srv.URL)
			if err != nil {
				t.Fatalf("control client: %v", err)
			}
			if resp.TLS.Version != v {
				t.Fatalf("control negotiated %s", tls.VersionName(resp.TLS.Version))
			}

			b := pkiBase(t, transport.BaseConfig{}, srv, w.ca)
			_, _, err = pkiGet(t, b, "https://api.example.test/")
			if err == nil {
				t.Fatal("a server offering at most " + tls.VersionName(v) + " was accepted")
			}
			if served.Load() != 1 { // only the control request
				t.Fatalf("handler ran %d times", served.Load())
			}
			if transport.IsCertificateError(err) {
				t.Fatalf("version refusal classified as certificate error: %v", err)
			}
		})
	}
}

func TestNewBaseConfigErrors(t *testing.T) {
	pin1 := pkiMust(testpki.RandomPin())
	pin2 := pkiMust(testpki.RandomPin())
	cc := newTestClientCert(t)
	for _, tc := range []struct {
		name     string
		cfg      transport.BaseConfig
		option   string
		insecure bool
	}{
		{"insecure skip verify", transport.BaseConfig{TLSConfig: &tls.Config{InsecureSkipVerify: true}}, "TLSConfig.InsecureSkipVerify", true},
		{"min version 1.1", transport.BaseConfig{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS11}}, "TLSConfig.MinVersion", true},
		{"max version 1.0", transport.BaseConfig{TLSConfig: &tls.Config{MaxVersion: tls.VersionTLS10}}, "TLSConfig.MaxVersion", true},
		{"min version above max version", transport.BaseConfig{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS12}}, "TLSConfig.MinVersion", false},
		{"insecure cipher", transport.BaseConfig{TLSConfig: &tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_RC4_128_SHA}}}, "TLSConfig.CipherSuites", true},
		{"client cert twice", transport.BaseConfig{ClientCertificate: cc, TLSConfig: &tls.Config{GetClientCertificate: cc.GetClientCertificate}}, "ClientCertificate", false},
		{"malformed pin prefix", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test", Pins: []string{"sha1/AAAA", pin1}}}}, "Pins[0].Pins[0]", false},
		{"malformed pin base64", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test", Pins: []string{pin1, "sha256/not*base64"}}}}, "Pins[0].Pins[1]", false},
		{"pin too short", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test", Pins: []string{pin1, "sha256/AAAA"}}}}, "Pins[0].Pins[1]", false},
		{"pin unpadded", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test", Pins: []string{pin1, strings.TrimSuffix(pin2, "=")}}}}, "Pins[0].Pins[1]", false},
		{"single pin", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test", Pins: []string{pin1}}}}, "Pins[0].Pins", false},
		{"same pin twice", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test", Pins: []string{pin1, pin1}}}}, "Pins[0].Pins", false},
		{"no pins", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test", AllowSinglePin: true}}}, "Pins[0].Pins", false},
		{"duplicate host", transport.BaseConfig{Pins: []transport.PinSet{
			{Host: "a.example.test", Pins: []string{pin1, pin2}},
			{Host: "A.Example.Test.", Pins: []string{pin1, pin2}}}}, "Pins[1].Host", false},
		{"empty host", transport.BaseConfig{Pins: []transport.PinSet{{Pins: []string{pin1, pin2}}}}, "Pins[0].Host", false},
		{"url host", transport.BaseConfig{Pins: []transport.PinSet{{Host: "https://a.example.test", Pins: []string{pin1, pin2}}}}, "Pins[0].Host", false},
		{"host with port", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.example.test:443", Pins: []string{pin1, pin2}}}}, "Pins[0].Host", false},
		{"double wildcard", transport.BaseConfig{Pins: []transport.PinSet{{Host: "**.example.test", Pins: []string{pin1, pin2}}}}, "Pins[0].Host", false},
		{"inner wildcard", transport.BaseConfig{Pins: []transport.PinSet{{Host: "a.*.example.test", Pins: []string{pin1, pin2}}}}, "Pins[0].Host", false},
		{"negative timeout", transport.BaseConfig{TLSHandshakeTimeout: -1}, "TLSHandshakeTimeout", false},
		{"dial timeout with dialer", transport.BaseConfig{DialTimeout: 1, DialContext: (&net.Dialer{}).DialContext}, "DialTimeout", false},
		{"negative idle conns", transport.BaseConfig{MaxIdleConnsPerHost: -1}, "MaxIdleConnsPerHost", false},
		{"negative HTTP/2 read idle timeout", transport.BaseConfig{HTTP2ReadIdleTimeout: -1}, "HTTP2ReadIdleTimeout", false},
		{"negative HTTP/2 stream receive buffer", transport.BaseConfig{HTTP2MaxReceiveBufferPerStream: -1}, "HTTP2MaxReceiveBufferPerStream", false},
		{"HTTP/2 stream receive buffer over 2^31-1", transport.BaseConfig{HTTP2MaxReceiveBufferPerStream: 1 << 31}, "HTTP2MaxReceiveBufferPerStream", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := transport.NewBase(tc.cfg)
			if err == nil {
				b.CloseIdleConnections()
				t.Fatal("accepted")
			}
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != tc.option {
				t.Fatalf("err = %v, want *ConfigError for %s", err, tc.option)
			}
			if got := errors.Is(err, transport.ErrInsecureTLS); got != tc.insecure {
				t.Fatalf("errors.Is(ErrInsecureTLS) = %v", got)
			}
			if got := transport.IsCertificateError(err); got != tc.insecure {
				t.Fatalf("IsCertificateError = %v", got)
			}
		})
	}

	// Accepted edge cases.
	for _, cfg := range []transport.BaseConfig{
		{},
		{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS13}},
		{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13}},
		{TLSConfig: &tls.Config{MaxVersion: tls.VersionTLS12}},
		{Pins: []transport.PinSet{{Host: "a.example.test", Pins: []string{pin1}, AllowSinglePin: true}}},
		{Pins: []transport.PinSet{{Host: "*.example.test", Pins: []string{pin1, pin2}}, {Host: "example.test", Pins: []string{pin1, pin2}}}},
		{Pins: []transport.PinSet{{Host: "127.0.0.1", Pins: []string{pin1, pin2}}, {Host: "::1", Pins: []string{pin1, pin2}}}},
		{HTTP2MaxReceiveBufferPerStream: 1},
		{HTTP2MaxReceiveBufferPerStream: 1<<31 - 1},
	} {
		b, err := transport.NewBase(cfg)
		if err != nil {
			t.Errorf("NewBase(%+v): %v", cfg, err)
			continue
		}
		b.CloseIdleConnections()
	}
}

func TestNewBaseDoesNotModifyCallerTLSConfig(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, nil, nil)
	caller := &tls.Config{RootCAs: testpki.Pool(w.ca)}
	b := pkiBase(t, transport.BaseConfig{
		TLSConfig: caller,
		Pins:      []transport.PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}},
	}, srv)
	if _, _, err := pkiGet(t, b, "https://api.example.test/"); err != nil {
		t.Fatal(err)
	}
	if caller.MinVersion != 0 || caller.VerifyConnection != nil || caller.NextProtos != nil ||
		caller.ServerName != "" || caller.GetClientCertificate != nil {
		t.Fatalf("caller's tls.Config was modified: %+v", caller)
	}
}

func TestBaseCallerVerifyConnectionStillRuns(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, false, nil, nil)
	refuse := errors.New("caller says no")
	var calls atomic.Int32
	b := pkiBase(t, transport.BaseConfig{
		TLSConfig: &tls.Config{VerifyConnection: func(tls.ConnectionState) error { calls.Add(1); return refuse }},
		Pins:      []transport.PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}},
	}, srv, w.ca)
	_, _, err := pkiGet(t, b, "https://api.example.test/")
	if !errors.Is(err, refuse) || calls.Load() != 1 {
		t.Fatalf("err = %v, calls = %d", err, calls.Load())
	}
}

// connectProxy is a minimal HTTP CONNECT proxy that records the targets it
// tunnels to.
type connectProxy struct {
	mu      sync.Mutex
	targets []string
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "connect only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.mu.Unlock()
	up, err := p.dial(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer up.Close()
	w.WriteHeader(http.StatusOK)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, brw); done <- struct{}{} }()
	go func() { io.Copy(conn, up); done <- struct{}{} }()
	<-done
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func TestBaseUsesExplicitProxyAndStillPins(t *testing.T) {
	w := newPKIWorld(t)
	good := pkiServer(t, w.leaf.TLS, false, nil, nil)
	evil := pkiServer(t, w.attacker.TLS, false, nil, nil)
	pins := []transport.PinSet{{Host: "api.example.test", Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}}

	for _, tc := range []struct {
		name    string
		backend *httptest.Server
		wantErr error
	}{{"genuine", good, nil}, {"attacker behind proxy", evil, transport.ErrPinMismatch}} {
		t.Run(tc.name, func(t *testing.T) {
			px := &connectProxy{dial: pkiDialTo(tc.backend.Listener.Addr().String())}
			proxySrv := httptest.NewServer(px)
			defer proxySrv.Close()
			proxyURL, _ := url.Parse(proxySrv.URL)
			b := pkiBase(t, transport.BaseConfig{
				TLSConfig: &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)},
				Pins:      pins,
				Proxy:     http.ProxyURL(proxyURL),
			}, nil)
			_, body, err := pkiGet(t, b, "https://api.example.test/")
			if tc.wantErr == nil && (err != nil || body != "ok") {
				t.Fatalf("through proxy: %q, %v", body, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := px.seen(); len(got) != 1 || got[0] != "api.example.test:443" {
				t.Fatalf("proxy saw %v", got)
			}
		})
	}
}

// TestBaseIgnoresEnvironmentProxy runs the check in a child process:
// net/http reads the proxy variables once per process.
func TestBaseIgnoresEnvironmentProxy(t *testing.T) {
	if os.Getenv("SECURECALL_PROXY_CHILD") == "1" {
		proxyEnvChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBaseIgnoresEnvironmentProxy$", "-test.v")
	cmd.Env = append(os.Environ(), "SECURECALL_PROXY_CHILD=1",
		"HTTPS_PROXY=http://proxy.invalid:3128", "HTTP_PROXY=http://proxy.invalid:3128", "NO_PROXY=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "proxy-child-ok") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func proxyEnvChild(t *testing.T) {
	dialed := func(cfg transport.BaseConfig) string {
		var got string
		cfg.DialContext = func(_ context.Context, _, addr string) (net.Conn, error) {
			got = addr
			return nil, errors.New("not dialing")
		}
		b := pkiMust(transport.NewBase(cfg))
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
		if resp, err := b.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
		return got
	}
	if got := dialed(transport.BaseConfig{}); got != "api.example.test:443" {
		t.Fatalf("with HTTPS_PROXY set and no Proxy, dialed %q", got)
	}
	if got := dialed(transport.BaseConfig{Proxy: http.ProxyFromEnvironment}); got != "proxy.invalid:3128" {
		t.Fatalf("with Proxy: http.ProxyFromEnvironment, dialed %q", got)
	}
	fmt.Println("proxy-child-ok")
}

// TestBaseRoundTripContract checks the RoundTripper contract directly:
// transporttest.Conformance drives a layer through a scripted next
// transport, and Base has no next (it is the end of the stack, talking to
// real servers).
func TestBaseRoundTripContract(t *testing.T) {
	w := newPKIWorld(t)
	release := make(chan struct{})
	srv := pkiServer(t, w.leaf.TLS, true, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			io.Copy(rw, r.Body)
		case "/block":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/head":
			rw.WriteHeader(http.StatusNoContent)
		}
	}), nil)
	defer close(release)
	b := pkiBase(t, transport.BaseConfig{}, srv, w.ca)

	t.Run("request not modified, body sent and closed", func(t *testing.T) {
		body := transporttest.NewTrackedBody([]byte(`{"a":1}`))
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/echo", body)
		req.Header.Set("X-Test", "1")
		before := req.Header.Clone()
		resp, err := b.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != `{"a":1}` || !body.Closed() {
			t.Fatalf("echo %q, body closed %v", got, body.Closed())
		}
		if len(req.Header) != len(before) || req.Header.Get("X-Test") != "1" || req.URL.Host != "api.example.test" {
			t.Fatalf("request modified: %v %v", req.Header, req.URL)
		}
	})
	t.Run("body closed on dial error", func(t *testing.T) {
		nb := pkiMust(transport.NewBase(transport.BaseConfig{DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no route")
		}}))
		body := transporttest.NewTrackedBody([]byte("x"))
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/echo", body)
		resp, err := nb.RoundTrip(req)
		if err == nil || resp != nil {
			t.Fatalf("resp %v err %v", resp, err)
		}
		if !body.Closed() {
			t.Fatal("request body not closed on error")
		}
	})
	t.Run("cancellation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/block", nil)
		errc := make(chan error, 1)
		go func() {
			resp, err := b.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("body never nil", func(t *testing.T) {
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			req, _ := http.NewRequest(m, "https://api.example.test/head", nil)
			resp, err := b.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Body == nil {
				t.Fatalf("%s: nil body", m)
			}
			resp.Body.Close()
		}
	})
}

// ExampleNewBase pins api.example.test to its key and, as the backup, its
// CA's key, then calls an embedded HTTPS server over HTTP/2. An impostor
// with a valid certificate for the same name from another trusted CA is
// refused with ErrPinMismatch.
func ExampleNewBase() {
	ca, _ := testpki.NewCA("example root")
	leaf, _ := ca.Server("api.example.test")
	impostorCA, _ := testpki.NewCA("impostor root")
	impostor, _ := impostorCA.Server("api.example.test")

	serve := func(cert tls.Certificate) *httptest.Server {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}))
		srv.EnableHTTP2 = true
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		return srv
	}
	for _, srv := range []*httptest.Server{serve(leaf.TLS), serve(impostor.TLS)} {
		base, err := transport.NewBase(transport.BaseConfig{
			TLSConfig: &tls.Config{RootCAs: testpki.Pool(ca, impostorCA)},
			Pins: []transport.PinSet{{
				Host: "api.example.test",
				Pins: []string{transport.SPKIPin(leaf.Cert), transport.SPKIPin(ca.Cert)},
			}},
			DialContext: pkiDialTo(srv.Listener.Addr().String()), // api.example.test -> srv
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		resp, err := (&http.Client{Transport: base}).Get("https://api.example.test/")
		if err != nil {
			fmt.Println("pin mismatch:", errors.Is(err, transport.ErrPinMismatch))
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Println(resp.Proto, string(body))
		}
		base.CloseIdleConnections()
		srv.Close()
	}
	// Output:
	// HTTP/2.0 hello
	// pin mismatch: true
}

// BenchmarkBase measures a GET over loopback HTTP/2 through a plain
// http.Transport and through Base without and with pins: pins are checked
// per handshake, so per request they should cost nothing (enforced) or one
// cached lookup (report-only, with a recording span).
func BenchmarkBase(b *testing.B) {
	w := newPKIWorld(b)
	srv := pkiServer(b, w.leaf.TLS, true, nil, nil)
	pins := []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}
	plain := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: testpki.Pool(w.ca)},
		DialContext: pkiDialTo(srv.Listener.Addr().String())}
	b.Cleanup(plain.CloseIdleConnections)
	tp := sdktrace.NewTracerProvider()
	for _, bc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"http.Transport", plain},
		{"Base", pkiBase(b, transport.BaseConfig{}, srv, w.ca)},
		{"Base+pins", pkiBase(b, transport.BaseConfig{Pins: []transport.PinSet{{Host: "api.example.test", Pins: pins}}}, srv, w.ca)},
		{"Base+report-only", pkiBase(b, transport.BaseConfig{Pins: []transport.PinSet{{Host: "api.example.test", Pins: pins, ReportOnly: true}}}, srv, w.ca)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx, span := tp.Tracer("bench").Start(context.Background(), "attempt")
			defer span.End()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/", nil)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := bc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
