package transport

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// The call and attempt traces take server.address and server.port from a
// serverCache instead of serverOf: its answer, first (a miss) or later (a
// hit), is serverOf's for every Host spelling and scheme, and a Host with
// userinfo (a secret the cache must not keep), one too long, or a scheme
// other than http and https is not kept.
func TestServerCacheAgreesWithServerOf(t *testing.T) {
	hosts := []string{
		"api.example.test", "api.example.test:8443", "API.Example.test.", "api.example.test.",
		"bücher.example", "[FE80:0::1%25ETH0]:9", "[::ffff:7f00:1]", "127.1", "127.0.0.1:0",
		"h:", "h:99999999", "", ":80", "[::1]", "0x7f.1",
		"user:pass@api.example.test", "@h", strings.Repeat("a", 300) + ".example",
	}
	var c serverCache
	for range 2 {
		for _, scheme := range []string{"https", "http", "ftp", ""} {
			for _, h := range hosts {
				u := &url.URL{Scheme: scheme, Host: h}
				srv, gh, gp := c.of(u)
				wh, wp := serverOf(u)
				if gh != wh || gp != wp {
					t.Errorf("of(%q, %q) = %q, %d; want serverOf's %q, %d", scheme, h, gh, gp, wh, wp)
				}
				keep := (scheme == "https" || scheme == "http") && !strings.Contains(h, "@") && len(h) <= maxServerKey
				if (srv != nil) != keep {
					t.Errorf("of(%q, %q): cached %v, want %v", scheme, h, srv != nil, keep)
				}
				if srv != nil && (srv.host != wh || srv.port != wp) {
					t.Errorf("of(%q, %q): server %+v", scheme, h, *srv)
				}
			}
		}
	}
	for _, oc := range []*optCache[string, *server]{&c.http, &c.https} {
		for k := range *oc.m.Load() {
			if strings.Contains(k, "@") || len(k) > maxServerKey {
				t.Errorf("cache keeps %q", k)
			}
		}
	}
}

// The cache keeps a copy of the Host, not the URL string it is a piece of
// (its query may carry a secret), and past its bound it answers without
// storing, at no allocation.
func TestServerCacheKeyCopiedAndBounded(t *testing.T) {
	var c serverCache
	u, err := url.Parse("https://api.example.test/x?token=secret")
	if err != nil {
		t.Fatal(err)
	}
	c.of(u)
	for k := range *c.https.m.Load() {
		if unsafe.StringData(k) == unsafe.StringData(u.Host) {
			t.Error("the cache's key shares the URL's memory")
		}
	}
	if n := testing.AllocsPerRun(100, func() { c.of(u) }); n != 0 {
		t.Errorf("of on a cached Host: %v allocs, want 0", n)
	}
	for i := range maxCacheEntries + 5 {
		c.of(&url.URL{Scheme: "http", Host: "h" + strconv.Itoa(i) + ".example"})
	}
	if n := len(*c.http.m.Load()); n != maxCacheEntries {
		t.Errorf("cache holds %d hosts, want the bound %d", n, maxCacheEntries)
	}
	past := &url.URL{Scheme: "http", Host: "past.example.test"}
	if srv, h, p := c.of(past); srv != nil || h != "past.example.test" || p != 80 {
		t.Errorf("of past the bound = %v, %q, %d", srv, h, p)
	}
	if n := testing.AllocsPerRun(100, func() { c.of(past) }); n != 0 {
		t.Errorf("of past the bound: %v allocs, want 0", n)
	}
}
