package transport_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestGuardProxyErrorQuotesNoUserinfo: a Host or URL.Host built by hand
// may hold userinfo ("user:pass@host", which url.Parse would have put in
// URL.User). GuardProxy refuses such a destination (a forward proxy would
// read it as an address or port it must not connect), but its
// *EgressError named the destination with the userinfo in it
// ("http://[user:secret@169.254.169.254]:80: invalid host"), so the
// password reached the error string and every log of it, where
// EgressPolicy.CheckURL, the audit record and the inventory keep it out.
// The refusal stays, through a real http.Transport with a listed proxy
// that must see no connection, and the message names the host without
// the userinfo.
func TestGuardProxyErrorQuotesNoUserinfo(t *testing.T) {
	var conns atomic.Int32 // connections the proxy accepted
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	proxy.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	proxy.Start()
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	sd, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{pu.Host}})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: sd.DialContext, Proxy: sd.GuardProxy(http.ProxyURL(pu))}
	defer tr.CloseIdleConnections()
	for _, tc := range []struct{ name, urlHost, host string }{
		{"Host with userinfo, metadata address", "", "user:Secret9@169.254.169.254"},
		{"Host with userinfo, name and port", "", "user:Secret9@api.example.test:6379"},
		{"Host with user only", "", "Secret9@169.254.169.254"},
		{"URL.Host with userinfo", "user:Secret9@169.254.169.254", ""},
		{"URL.Host with userinfo and port", "user:Secret9@api.example.test:6379", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/x", nil)
			if tc.urlHost != "" {
				req.URL.Host = tc.urlHost
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := tr.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			var ee *transport.EgressError
			if !errors.As(err, &ee) || !errors.Is(err, transport.ErrEgressDenied) {
				t.Fatalf("err = %v, want an *EgressError wrapping ErrEgressDenied", err)
			}
			if msg := strings.ToLower(err.Error()); strings.Contains(msg, "secret9") {
				t.Errorf("error %q quotes the userinfo", err)
			}
			if strings.Contains(strings.ToLower(ee.Origin.Host), "secret9") {
				t.Errorf("EgressError.Origin.Host = %q holds the userinfo", ee.Origin.Host)
			}
			if n := conns.Load(); n != 0 {
				t.Errorf("the proxy got %d connections, want none", n)
			}
		})
	}
}
