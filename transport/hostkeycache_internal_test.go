package transport

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// The retry layer takes a call's host key from a hostKeyCache instead of
// HostKey: its answer, first (a miss) or later (a hit), is HostKey's for
// every Host spelling and scheme, and a Host with userinfo (a secret the
// cache must not keep), one too long, or a scheme other than http and
// https is not kept.
func TestHostKeyCacheAgreesWithHostKey(t *testing.T) {
	hosts := []string{
		"api.example.test", "api.example.test:8443", "API.Example.test.", "api.example.test.",
		"bücher.example", "[FE80:0::1%25ETH0]:9", "[::ffff:7f00:1]", "127.1", "127.0.0.1:0",
		"h:", "h:99999999", "", ":80", "[::1]", "0x7f.1", "api.example.test:0443", "api.example.test:080",
		"user:pass@api.example.test", "@h", strings.Repeat("a", 300) + ".example",
	}
	var c hostKeyCache
	for range 2 {
		for _, scheme := range []string{"https", "http", "HTTPS", "ftp", ""} {
			for _, h := range hosts {
				u := &url.URL{Scheme: scheme, Host: h}
				if got, want := c.of(u), HostKey(u); got != want {
					t.Errorf("of(%q, %q) = %q; want HostKey's %q", scheme, h, got, want)
				}
			}
		}
	}
	if got := c.of(nil); got != "" {
		t.Errorf("of(nil) = %q", got)
	}
	for _, oc := range []*optCache[string, string]{&c.http, &c.https} {
		for k := range *oc.m.Load() {
			if strings.Contains(k, "@") || len(k) > maxHostLen+1+maxPortLen+2 {
				t.Errorf("cache keeps %q", k)
			}
		}
	}
}

// The cache keeps copies of the Host and of its key, not the URL string
// they are pieces of (its query may carry a secret), and past its bound it
// answers without storing, at no allocation.
func TestHostKeyCacheCopiedAndBounded(t *testing.T) {
	var c hostKeyCache
	u, err := url.Parse("https://api.example.test:8443/x?token=secret")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.of(u); got != "api.example.test:8443" {
		t.Fatalf("of = %q", got)
	}
	lo, hi := uintptr(unsafe.Pointer(unsafe.StringData(u.Host))), uintptr(unsafe.Pointer(unsafe.StringData(u.Host)))+uintptr(len(u.Host))
	for k, v := range *c.https.m.Load() {
		for _, s := range []string{k, v} {
			if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); p >= lo && p < hi {
				t.Errorf("the cache's %q shares the URL's memory", s)
			}
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
	if got := c.of(past); got != "past.example.test" {
		t.Errorf("of past the bound = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { c.of(past) }); n != 0 {
		t.Errorf("of past the bound: %v allocs, want 0", n)
	}
}
