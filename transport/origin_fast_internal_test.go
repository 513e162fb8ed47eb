package transport

import (
	"net/http"
	"net/url"
	"testing"
)

// allowsByOrigin is Origins.Allows without its fast path: the answer the
// fast path must always give.
func allowsByOrigin(o Origins, u *url.URL) bool {
	got := destOrigin(OriginOf(u))
	if got.Scheme == "" || got.Host == "" {
		return false
	}
	for _, want := range o {
		if want == got || sameDest(want, got) {
			return true
		}
	}
	return false
}

// originSeeds are the origins the fast-path tests compare against: canonical
// ones, as ParseOrigin makes them, and hand-built ones that no URL matches
// (upper case, a trailing dot, an empty or non-numeric port, an empty
// host), which the fast path must not start matching.
var originSeeds = Origins{
	{Scheme: "https", Host: "api.example.com", Port: "443"},
	{Scheme: "https", Host: "api.example.com", Port: "8443"},
	{Scheme: "http", Host: "127.0.0.1", Port: "80"},
	{Scheme: "https", Host: "::1", Port: "443"},
	{Scheme: "https", Host: "xn--bcher-kva.example", Port: "443"},
	{Scheme: "https", Host: "a_b.internal", Port: "0443"},
	{Scheme: "HTTPS", Host: "up.example.com", Port: "443"},
	{Scheme: "https", Host: "Upper.example.com", Port: "443"},
	{Scheme: "https", Host: "dot.example.com.", Port: "443"},
	{Scheme: "https", Host: "noport.example.com", Port: ""},
	{Scheme: "https", Host: "alpha.example.com", Port: "abc"},
	{Scheme: "https", Host: "", Port: "443"},
}

// TestOriginsAllowsFastPath checks that comparing a plain authority as
// written answers as OriginOf does, for URLs in and out of the fast path's
// form and for origins no URL can match.
func TestOriginsAllowsFastPath(t *testing.T) {
	for _, raw := range []string{
		"https://api.example.com/x", "https://api.example.com:443/x", "https://api.example.com:8443/",
		"https://API.example.com/", "https://api.example.com./", "https://api.example.com.:443/",
		"http://127.0.0.1/", "http://127.0.0.1:80/", "https://[::1]/", "https://[::1]:443/",
		"https://bücher.example/", "https://xn--bcher-kva.example/", "https://a_b.internal:0443/",
		"https://a_b.internal:443/", "HTTPS://up.example.com/", "https://up.example.com/",
		"https://upper.example.com/", "https://Upper.example.com/", "https://dot.example.com./",
		"https://dot.example.com/", "https://noport.example.com/", "https://noport.example.com:/",
		"https://alpha.example.com:abc/", "https://:443/", "http://api.example.com/", "ftp://api.example.com/",
		"/relative", "https://api.example.com:/", "https://api.example.com:44/",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		for i := range originSeeds {
			o := originSeeds[i : i+1]
			if got, want := o.Allows(u), allowsByOrigin(o, u); got != want {
				t.Errorf("Origins{%+v}.Allows(%q) = %v, OriginOf gives %v", o[0], raw, got, want)
			}
		}
	}
	// Hand-built URLs, which url.Parse would not make.
	for _, u := range []*url.URL{
		{Scheme: "HTTPS", Host: "up.example.com:443"},
		{Scheme: "https", Host: "alpha.example.com:abc"},
		{Scheme: "https", Host: ":443"},
		{Scheme: "https", Host: "noport.example.com:"},
		{Scheme: "https", Host: "api.example.com.:443"},
	} {
		for i := range originSeeds {
			o := originSeeds[i : i+1]
			if got, want := o.Allows(u), allowsByOrigin(o, u); got != want {
				t.Errorf("Origins{%+v}.Allows(%#v) = %v, OriginOf gives %v", o[0], u, got, want)
			}
		}
	}
}

// FuzzOriginsAllowsFastPath: for any scheme and authority, the fast path
// answers as OriginOf does, against every seed origin.
func FuzzOriginsAllowsFastPath(f *testing.F) {
	for _, s := range []string{"api.example.com", "api.example.com:443", "api.example.com.", "API.example.com:8443", "127.0.0.1:80", "[::1]:443", ":443", "a_b.internal:0443", "alpha.example.com:abc", "noport.example.com:", "[0::1]:0443", "[::ffff:7f00:1]:80", "api.example.com:0"} {
		f.Add("https", s)
		f.Add("http", s)
	}
	f.Fuzz(func(t *testing.T, scheme, host string) {
		u := &url.URL{Scheme: scheme, Host: host}
		for i := range originSeeds {
			o := originSeeds[i : i+1]
			if got, want := o.Allows(u), allowsByOrigin(o, u); got != want {
				t.Fatalf("Origins{%+v}.Allows(%q, %q) = %v, OriginOf gives %v", o[0], scheme, host, got, want)
			}
		}
	})
}

// BenchmarkScopeAllows: a credential layer's scope check of a request to a
// configured origin (the URL's Host and the request's Host the same).
func BenchmarkScopeAllows(b *testing.B) {
	o, err := ParseOrigins("https://api.example.com", "https://other.example.com")
	if err != nil {
		b.Fatal(err)
	}
	var s Scope = o // as the layers hold it
	req, err := http.NewRequest(http.MethodGet, "https://other.example.com/v1/items?x=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !scopeAllows(s, req) {
			b.Fatal("not allowed")
		}
	}
}
