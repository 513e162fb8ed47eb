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

// TestProxiedPathWithoutSlashRefused: through a forward proxy, net/http
// writes a plain-http request's target as "http://" + host + the URL's
// escaped path, with nothing between them. A URL built by hand whose Path
// does not start with "/" (&url.URL{Scheme: "http", Host: h, Path: p}
// with a p from elsewhere) so continues the authority: Path
// "@169.254.169.254/latest/meta-data/" makes the target
// "http://api.example.test@169.254.169.254/latest/meta-data/", which the
// proxy connects to the metadata service, ":6379/x" another port,
// ".evil.example/x" another host. The egress allowlist and GuardProxy
// checked URL.Host alone, so all of them reached the proxy's new
// destination. Such a request is refused by either (the egress layer for
// any plain-http request, since it cannot know whether a proxy follows;
// GuardProxy when it goes through one), with an *EgressError wrapping
// ErrEgressDenied; a path starting with "/", an empty one and "*"
// (OPTIONS *) still go, and over https, where the path travels inside
// the tunnel to URL.Host, nothing changes.
func TestProxiedPathWithoutSlashRefused(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host) // the host the proxy connects
		mu.Unlock()
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{pu.Host}})
	if err != nil {
		t.Fatal(err)
	}
	guarded := &http.Transport{DialContext: sd.DialContext, Proxy: sd.GuardProxy(http.ProxyURL(pu))}
	defer guarded.CloseIdleConnections()
	egress, err := transport.NewEgress(&http.Transport{Proxy: http.ProxyURL(pu)}, transport.EgressConfig{Allow: []string{"http://api.example.test"}, AllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	send := func(rt http.RoundTripper, method, path, rawPath string) error {
		req := &http.Request{Method: method, URL: &url.URL{Scheme: "http", Host: "api.example.test", Path: path, RawPath: rawPath}, Header: http.Header{}}
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		return err
	}
	for _, layer := range []struct {
		name string
		rt   http.RoundTripper
	}{{"GuardProxy", guarded}, {"egress", egress}} {
		for _, p := range []struct{ path, rawPath string }{
			{"@169.254.169.254/latest/meta-data/", ""},
			{":6379/x", ""},
			{".evil.example/x", ""},
			{"x", ""},
			{"@169.254.169.254/a/b", "%40169.254.169.254/a%2Fb"},
		} {
			err := send(layer.rt, http.MethodGet, p.path, p.rawPath)
			var ee *transport.EgressError
			if !errors.As(err, &ee) || !errors.Is(err, transport.ErrEgressDenied) {
				t.Errorf("%s: Path %q: err = %v, want an *EgressError wrapping ErrEgressDenied", layer.name, p.path, err)
			}
		}
		if n := count(); n != 0 {
			mu.Lock()
			t.Fatalf("%s: the proxy got %d requests for other destinations (%q), want 0", layer.name, n, seen)
		}
		for _, p := range []struct{ method, path string }{{http.MethodGet, "/ok"}, {http.MethodGet, ""}, {http.MethodOptions, "*"}} {
			if err := send(layer.rt, p.method, p.path, ""); err != nil {
				t.Fatalf("%s: %s Path %q: %v, want it sent", layer.name, p.method, p.path, err)
			}
		}
		if n := count(); n != 3 {
			t.Fatalf("%s: the proxy got %d requests, want 3", layer.name, n)
		}
		mu.Lock()
		seen = nil
		mu.Unlock()
	}
	// Over https the path goes inside the tunnel to URL.Host: not this
	// check's business.
	p, _ := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"api.example.test"}})
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: "api.example.test", Path: "x"}, Header: http.Header{}}
	if err := p.Check(req); err != nil {
		t.Errorf("https, Path \"x\": %v, want allowed", err)
	}
}
