package transport_test

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestOriginKeepsZoneCase: an IPv6 zone names an interface, and interface
// names are case-sensitive ("eth0" and "ETH0" are two links on Linux), so
// an origin with one zone is not the origin of a URL with the other: a
// credential scoped to "[::1%LO]" does not go to "[::1%lo]". The address
// itself is compared without case, as before.
func TestOriginKeepsZoneCase(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())

	scope, err := transport.ParseOrigins("http://[::1%25LO]:" + port)
	if err != nil {
		t.Fatal(err)
	}
	if got := scope[0].Host; got != "::1%LO" {
		t.Errorf("ParseOrigin host = %q, want the zone as written", got)
	}
	rt, err := transport.NewAuth(&http.Transport{DisableKeepAlives: true}, transport.AuthConfig{
		Source: tokens.Static(tokens.NewToken("tok", "Bearer", time.Time{})), Scope: scope,
	})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: rt}
	// "LO" and "lo": Go dials both at [::1] (no interface "LO" here: no
	// scope), so the one server sees both requests.
	for _, c := range []struct {
		url, want string
	}{
		{"http://[::1%25LO]:" + port + "/", "Bearer tok"},
		{"http://[::1%25lo]:" + port + "/", ""},
		{"http://[::1%25Lo]:" + port + "/", ""},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		resp, err := hc.Get(c.url)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		resp.Body.Close()
		mu.Lock()
		if len(seen) != 1 || seen[0] != c.want {
			t.Errorf("%s: server saw Authorization %q, want %q", c.url, seen, c.want)
		}
		mu.Unlock()
	}
}
