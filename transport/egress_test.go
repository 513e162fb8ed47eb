package transport_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func egressLayer(t *testing.T, next http.RoundTripper, cfg transport.EgressConfig) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewEgress(next, cfg)
	if err != nil {
		t.Fatalf("NewEgress: %v", err)
	}
	return rt
}

func TestEgressConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return egressLayer(t, next, transport.EgressConfig{Allow: []string{"api.example.test"}})
	})
}

func TestCredentialGuardConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		rt, err := transport.NewCredentialGuard(next, transport.EgressConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	})
}

func TestEgressPatternErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   transport.EgressConfig
		field string
	}{
		{"ftp scheme", transport.EgressConfig{Allow: []string{"ftp://files.example.com"}}, "Allow[0]"},
		{"path", transport.EgressConfig{Allow: []string{"api.example.com/v1"}}, "Allow[0]"},
		{"userinfo", transport.EgressConfig{Allow: []string{"ok.example.com", "u:secret@api.example.com"}}, "Allow[1]"},
		{"query", transport.EgressConfig{Allow: []string{"api.example.com?x=1"}}, "Allow[0]"},
		{"bare star", transport.EgressConfig{Allow: []string{"*"}}, "Allow[0]"},
		{"tld wildcard", transport.EgressConfig{Allow: []string{"*.com"}}, "Allow[0]"},
		{"ip wildcard", transport.EgressConfig{Allow: []string{"*.0.0.1"}}, "Allow[0]"},
		{"unbracketed v6", transport.EgressConfig{Allow: []string{"::1"}}, "Allow[0]"},
		{"v6 zone", transport.EgressConfig{Allow: []string{"[fe80::1%eth0]"}}, "Allow[0]"},
		{"bad port", transport.EgressConfig{Allow: []string{"api.example.com:99999"}}, "Allow[0]"},
		{"port zero", transport.EgressConfig{Allow: []string{"api.example.com:0"}}, "Allow[0]"},
		{"empty port", transport.EgressConfig{Allow: []string{"api.example.com:"}}, "Allow[0]"},
		{"empty", transport.EgressConfig{Allow: []string{""}}, "Allow[0]"},
		{"empty label", transport.EgressConfig{Allow: []string{"api..example.com"}}, "Allow[0]"},
		{"bad char", transport.EgressConfig{Allow: []string{"api$.example.com"}}, "Allow[0]"},
		{"http without AllowHTTP", transport.EgressConfig{Allow: []string{"http://localhost:8080"}}, "Allow[0]"},
		{"bad header", transport.EgressConfig{CredentialHeaders: []string{"X Key"}}, "CredentialHeaders[0]"},
		{"empty query key", transport.EgressConfig{CredentialQueryKeys: []string{""}}, "CredentialQueryKeys[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := transport.NewEgressPolicy(tc.cfg)
			var ce *transport.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *ConfigError", err)
			}
			if ce.Option != tc.field {
				t.Fatalf("Option = %q, want %q", ce.Option, tc.field)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error repeats the entry: %v", err)
			}
		})
	}
}

func TestEgressPolicyMatching(t *testing.T) {
	p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{
		"api.example.com",
		"API.Upper.example.com",
		"alt.example.com:8443",
		"*.svc.example.net",
		"anyport.example.org:*",
		"https://strict.example.com",
		"192.0.2.10",
		"[2001:db8::1]:8443",
		"bücher.example",
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url    string
		ok     bool
		reason string
	}{
		{"https://api.example.com/v1/x?q=1", true, ""},
		{"https://api.example.com:443/", true, ""},
		{"https://API.EXAMPLE.COM/", true, ""},
		{"https://api.example.com./", true, ""},
		{"https://api.upper.example.com/", true, ""},
		{"https://api.example.com:8443/", false, "port not allowed"},
		{"http://api.example.com/", false, "scheme not allowed"},
		{"ftp://api.example.com/", false, "scheme not allowed"},
		{"https://evil.example.com/", false, "not on the egress allowlist"},
		{"https://api.example.com.evil.com/", false, "not on the egress allowlist"},
		{"https://api.example.com@evil.com/", false, "not on the egress allowlist"},
		{"https://evilapi.example.com/", false, "not on the egress allowlist"},
		{"https://alt.example.com:8443/", true, ""},
		{"https://alt.example.com/", false, "port not allowed"},
		{"https://a.svc.example.net/", true, ""},
		{"https://a.b.svc.example.net/", true, ""},
		{"https://svc.example.net/", false, "not on the egress allowlist"},
		{"https://xsvc.example.net/", false, "not on the egress allowlist"},
		{"https://anyport.example.org:1234/", true, ""},
		{"https://strict.example.com/", true, ""},
		{"https://192.0.2.10/", true, ""},
		{"https://192.0.2.11/", false, "not on the egress allowlist"},
		{"https://[2001:db8::1]:8443/", true, ""},
		{"https://[2001:db8:0::1]:8443/", true, ""},
		{"https://[2001:db8::1]/", false, "port not allowed"},
		// IPv4-mapped: Go dials it over IPv4, to the entry's address.
		{"https://[::ffff:192.0.2.10]/", true, ""},
		{"https://[::ffff:192.0.2.11]/", false, "not on the egress allowlist"},
		{"https://xn--bcher-kva.example/", true, ""},
		{"https://b%C3%BCcher.example/", true, ""},
		{"https://127.0.0.1/", false, "not on the egress allowlist"},
		{"https://localhost/", false, "not on the egress allowlist"},
		{"/relative", false, "not absolute"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			err = p.CheckURL(u)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckURL = %v, want allowed", err)
				}
				if !p.Allows(u) {
					t.Fatal("Allows = false")
				}
				return
			}
			var ee *transport.EgressError
			if !errors.As(err, &ee) || !errors.Is(err, transport.ErrEgressDenied) {
				t.Fatalf("CheckURL = %v, want *EgressError wrapping ErrEgressDenied", err)
			}
			if !strings.Contains(ee.Reason, tc.reason) {
				t.Fatalf("Reason = %q, want it to mention %q", ee.Reason, tc.reason)
			}
			if strings.Contains(err.Error(), "/v1") || strings.Contains(err.Error(), "q=1") {
				t.Fatalf("error carries path or query: %v", err)
			}
		})
	}
}

func TestEgressEmptyAllowlistSchemeRules(t *testing.T) {
	p, err := transport.NewEgressPolicy(transport.EgressConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"https://anything.example/", "https://10.0.0.1/"} {
		if err := p.CheckURL(mustURL(t, s)); err != nil {
			t.Errorf("%s: %v, want allowed (no allowlist)", s, err)
		}
	}
	if err := p.CheckURL(mustURL(t, "http://anything.example/")); !errors.Is(err, transport.ErrEgressDenied) {
		t.Errorf("http: %v, want denied", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestEgressDeniedRequestNotSent(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	rt := egressLayer(t, next, transport.EgressConfig{Allow: []string{"api.example.com"}})
	body := transporttest.NewTrackedBody([]byte(`{"a":1}`))
	req, _ := http.NewRequest(http.MethodPost, "https://evil.example.com/steal?token=s3cr3t", body)
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		t.Fatal("got a response for a denied request")
	}
	var ee *transport.EgressError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *EgressError", err)
	}
	if want := (transport.Origin{Scheme: "https", Host: "evil.example.com", Port: "443"}); ee.Origin != want {
		t.Fatalf("Origin = %v, want %v", ee.Origin, want)
	}
	if !strings.Contains(err.Error(), "https://evil.example.com:443") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("message = %q: want the origin and no query", err)
	}
	if next.Calls() != 0 {
		t.Fatalf("next called %d times", next.Calls())
	}
	if !body.Closed() {
		t.Fatal("request body not closed")
	}
	if got := transport.ErrorType(err); got != transport.ErrorTypeEgressDenied {
		t.Fatalf("ErrorType = %q", got)
	}
}

func TestEgressHostHeader(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
	rt := egressLayer(t, next, transport.EgressConfig{Allow: []string{"api.example.com", "alias.example.com"}})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
	req.Host = "admin.internal"
	if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrEgressDenied) || !strings.Contains(err.Error(), "Host header") {
		t.Fatalf("Host: admin.internal: err = %v, want denied", err)
	}
	req.Host = "alias.example.com:443"
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("Host: alias.example.com: %v", err)
	}
	resp.Body.Close()
	if next.Calls() != 1 {
		t.Fatalf("next calls = %d, want 1", next.Calls())
	}
}

// TestEgressHostHeaderIPv6: a Host header naming an allowed IPv6 literal
// without a port ("[2001:db8::1]", as net/http itself writes it for a URL
// without one) is allowed; it used to be refused as an invalid host
// because the brackets were kept.
func TestEgressHostHeaderIPv6(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
	rt := egressLayer(t, next, transport.EgressConfig{Allow: []string{"api.example.com", "[2001:db8::1]"}})
	for _, host := range []string{"[2001:db8::1]", "[2001:db8::1]:443"} {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
		req.Host = host
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("Host: %s: %v", host, err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
	req.Host = "[2001:db8::2]"
	if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("Host: [2001:db8::2]: err = %v, want denied", err)
	}
}

func TestEgressCleartextCredentials(t *testing.T) {
	cfg := transport.EgressConfig{
		Allow:               []string{"localhost:8080", "api.example.com"},
		AllowHTTP:           true,
		CredentialHeaders:   []string{"x-my-key"},
		CredentialQueryKeys: []string{"api_key"},
	}
	for _, tc := range []struct {
		name   string
		url    string
		header string
		value  string
		denied bool
	}{
		{"plain http no credential", "http://localhost:8080/x", "", "", false},
		{"authorization over http", "http://localhost:8080/x", "Authorization", "Bearer t", true},
		{"cookie over http", "http://localhost:8080/x", "Cookie", "sid=1", true},
		{"api key header over http", "http://localhost:8080/x", "X-Api-Key", "k", true},
		{"signature over http", "http://localhost:8080/x", "Signature", "sig1=:AA==:", true},
		{"custom credential header over http", "http://localhost:8080/x", "X-My-Key", "k", true},
		{"userinfo over http", "http://user:pw@localhost:8080/x", "", "", true},
		{"query key over http", "http://localhost:8080/x?api_key=k", "", "", true},
		{"other query over http", "http://localhost:8080/x?page=2", "", "", false},
		{"authorization over https", "https://api.example.com/x", "Authorization", "Bearer t", false},
		{"query key over https", "https://api.example.com/x?api_key=k", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, rt http.RoundTripper, next *transporttest.Responder) {
				req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
				if tc.header != "" {
					req.Header.Set(tc.header, tc.value)
				}
				resp, err := rt.RoundTrip(req)
				if tc.denied {
					if !errors.Is(err, transport.ErrEgressDenied) || !strings.Contains(err.Error(), "plain http") {
						t.Fatalf("err = %v, want a cleartext-credential denial", err)
					}
					if next.Calls() != 0 {
						t.Fatal("denied request reached next")
					}
					return
				}
				if err != nil {
					t.Fatalf("err = %v, want allowed", err)
				}
				resp.Body.Close()
			}
			t.Run("egress", func(t *testing.T) {
				next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
				check(t, egressLayer(t, next, cfg), next)
			})
			t.Run("guard", func(t *testing.T) {
				next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
				g, err := transport.NewCredentialGuard(next, cfg)
				if err != nil {
					t.Fatal(err)
				}
				check(t, g, next)
			})
		})
	}
}

// TestCredentialGuardCatchesInnerLayer: a credential added by a layer below
// the egress check (an auth layer scoped to an http origin) is still never
// sent in clear text when the guard sits under it.
func TestCredentialGuardCatchesInnerLayer(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	guard, err := transport.NewCredentialGuard(next, transport.EgressConfig{})
	if err != nil {
		t.Fatal(err)
	}
	addAuth := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		r := transport.Own(req)
		r.Header.Set("Authorization", "Bearer inner")
		return guard.RoundTrip(r)
	})
	rt := egressLayer(t, addAuth, transport.EgressConfig{AllowHTTP: true})
	req, _ := http.NewRequest(http.MethodGet, "http://localhost:8080/x", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("err = %v, want denied", err)
	}
	if next.Calls() != 0 {
		t.Fatal("credential sent over http")
	}
}

// countingServer counts the requests it receives.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestEgressRedirectIntoDeniedOrigin follows redirects with a real
// http.Client: a hop to an origin not on the allowlist fails with
// ErrEgressDenied and never reaches it; a hop within the allowlist goes
// through.
func TestEgressRedirectIntoDeniedOrigin(t *testing.T) {
	denied, deniedHits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "internal secrets")
	})
	allowedTarget, allowedHits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "fine")
	})
	upstream, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-denied":
			http.Redirect(w, r, denied.URL+"/admin", http.StatusFound)
		case "/to-denied-by-name":
			_, port, _ := net.SplitHostPort(denied.Listener.Addr().String())
			http.Redirect(w, r, "http://localhost:"+port+"/admin", http.StatusTemporaryRedirect)
		case "/to-allowed":
			http.Redirect(w, r, allowedTarget.URL+"/ok", http.StatusMovedPermanently)
		}
	})
	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	rt := egressLayer(t, http.DefaultTransport, transport.EgressConfig{
		Allow:     []string{host(upstream), host(allowedTarget)},
		AllowHTTP: true,
	})
	c := &http.Client{Transport: rt}
	for _, path := range []string{"/to-denied", "/to-denied-by-name"} {
		_, err := c.Get(upstream.URL + path)
		if !errors.Is(err, transport.ErrEgressDenied) {
			t.Fatalf("%s: err = %v, want ErrEgressDenied", path, err)
		}
	}
	if n := deniedHits.Load(); n != 0 {
		t.Fatalf("denied origin received %d requests", n)
	}
	resp, err := c.Get(upstream.URL + "/to-allowed")
	if err != nil {
		t.Fatalf("allowed hop: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "fine" || allowedHits.Load() != 1 {
		t.Fatalf("allowed hop: body %q hits %d", b, allowedHits.Load())
	}
}

func TestEgressPolicyDialAllowances(t *testing.T) {
	p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{
		"https://127.0.0.1:8443", "[::1]:9000", "api.example.com", "*.example.org:7000", "10.0.0.5",
	}})
	if err != nil {
		t.Fatal(err)
	}
	addrs, ports, anyPort := p.DialAllowances()
	if fmt.Sprint(addrs) != "[10.0.0.5 127.0.0.1 ::1]" || fmt.Sprint(ports) != "[7000 8443 9000]" || anyPort {
		t.Fatalf("got %v %v %v", addrs, ports, anyPort)
	}
	p, _ = transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"api.example.com:*"}})
	if _, _, anyPort := p.DialAllowances(); !anyPort {
		t.Fatal("host:* did not allow any port")
	}
}
