package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestGuardProxyChecksHostOfPlainHTTPRequest: through a proxy, net/http
// sends a plain-http request with the absolute-form request-target
// "http://" + req.Host + path (net/http's Request.write prefers the Host
// to URL.Host), and the proxy connects the host and port that target
// names. GuardProxy checked URL.Host alone, so "http://api.example.test/"
// with Host "169.254.169.254" reached the metadata service through the
// proxy. The Host of a proxied plain-http request is checked as URL.Host's
// destination is.
func TestGuardProxyChecksHostOfPlainHTTPRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host) // the host a forward proxy connects
		mu.Unlock()
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{pu.Host}})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: sd.DialContext, Proxy: sd.GuardProxy(http.ProxyURL(pu))}
	defer tr.CloseIdleConnections()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	for _, host := range []string{
		"169.254.169.254",
		"169.254.169.254:80",
		"10.0.0.1",
		"127.0.0.1",
		"[::1]",
		"[::ffff:127.0.0.1]",
		"[64:ff9b::a9fe:a9fe]",
		"[fd00:ec2::254]",
		"2852039166", // 169.254.169.254
		"127.1",
		"100.100.100.200",
		"api.example.test:6379",
		"localhost",
		"admin.localhost:80",
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/latest/meta-data/", nil)
		req.Host = host
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Host %q: err = %v, want ErrEgressDenied", host, err)
		}
	}
	if n := count(); n != 0 {
		mu.Lock()
		t.Fatalf("the proxy got %d requests for denied destinations (%q), want 0", n, seen)
	}
	for _, host := range []string{"", "api.example.test", "other.example.test:443", "8.8.8.8"} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/ok", nil)
		req.Host = host
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("Host %q: %v", host, err)
		}
		resp.Body.Close()
	}
	if n := count(); n != 4 {
		t.Fatalf("the proxy got %d requests for allowed destinations, want 4", n)
	}
	// Through a SOCKS proxy net/http connects URL.Host and sends the
	// request in origin-form: the Host is only a header there.
	socks, _ := url.Parse("socks5://" + pu.Host)
	guard := sd.GuardProxy(http.ProxyURL(socks))
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/", nil)
	req.Host = "10.0.0.1"
	if got, err := guard(req); err != nil || got == nil || got.Scheme != "socks5" {
		t.Fatalf("SOCKS proxy, Host 10.0.0.1: %v %v, want the proxy", got, err)
	}
}
