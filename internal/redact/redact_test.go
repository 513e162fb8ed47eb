package redact

import (
	"net/url"
	"testing"
)

func TestURL(t *testing.T) {
	allow := &Policy{QueryKeys: []string{"page", "a", "debug", "api_key", "a b"}}
	tests := []struct {
		name   string
		policy *Policy
		in     string
		want   string
	}{
		{"no query", nil, "https://api.example.com/v1/items", "https://api.example.com/v1/items"},
		{"query value", nil, "https://api.example.com/v1?api_key=SECRET", "https://api.example.com/v1?api_key=REDACTED"},
		{"allowlisted value", allow, "https://h/x?page=2&token=SECRET", "https://h/x?page=2&token=REDACTED"},
		{"encoded ampersand stays in value", allow, "https://h/x?q=a%26api_key%3DSECRET&page=1", "https://h/x?q=REDACTED&page=1"},
		{"encoded ampersand in allowed value", allow, "https://h/x?page=1%26x", "https://h/x?page=1%26x"},
		{"semicolon separates", allow, "https://h/x?a=1;api_key2=SECRET", "https://h/x?a=1;api_key2=REDACTED"},
		{"repeated key", nil, "https://h/x?k=S1&k=S2", "https://h/x?k=REDACTED&k=REDACTED"},
		{"repeated allowed key", allow, "https://h/x?page=1&page=2", "https://h/x?page=1&page=2"},
		{"bare component", nil, "https://h/x?SECRETTOKEN", "https://h/x?REDACTED"},
		{"bare allowed component", allow, "https://h/x?debug&k=S", "https://h/x?debug&k=REDACTED"},
		{"empty value", nil, "https://h/x?k=", "https://h/x?k=REDACTED"},
		{"value with equals", nil, "https://h/x?k=a=SECRET", "https://h/x?k=REDACTED"},
		{"empty segments", nil, "https://h/x?&&k=S&", "https://h/x?&&k=REDACTED&"},
		{"encoded allowed key", allow, "https://h/x?api%5Fkey=v", "https://h/x?api%5Fkey=v"},
		{"plus in allowed key", allow, "https://h/x?a+b=v", "https://h/x?a+b=v"},
		{"bad escape in key", allow, "https://h/x?api%zzkey=S", "https://h/x?api%zzkey=REDACTED"},
		{"userinfo with password", nil, "https://user:p%40ss@h:8443/x", "https://h:8443/x"},
		{"userinfo without password", nil, "https://token@h/x", "https://h/x"},
		{"fragment dropped", nil, "https://h/x#access_token=SECRET", "https://h/x"},
		{"fragment after query", nil, "https://h/x?k=S#frag", "https://h/x?k=REDACTED"},
		{"ipv6", nil, "https://[::1]:8443/x?y=1", "https://[::1]:8443/x?y=REDACTED"},
		{"escaped path kept", nil, "https://h/a%2Fb/c%20d", "https://h/a%2Fb/c%20d"},
		{"host only", nil, "https://h", "https://h"},
		{"relative", nil, "/p?x=1", "/p?x=REDACTED"},
		{"file", nil, "file:///etc/hosts", "file:///etc/hosts"},
		{"scheme and query only", nil, "https:?x=1", "https:?x=REDACTED"},
		{"opaque", nil, "mailto:joe@example.com", "mailto:REDACTED"},
		{"opaque with query", nil, "urn:x:SECRET?k=v", "urn:REDACTED?k=REDACTED"},
		{"force query", nil, "https://h/x?", "https://h/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.policy.URL(u); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := tt.policy.URLString(tt.in); got != tt.want {
				t.Errorf("URLString(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestURLBuiltByHand(t *testing.T) {
	tests := []struct {
		name string
		u    *url.URL
		want string
	}{
		{"nil", nil, ""},
		{"opaque authority form", &url.URL{Scheme: "https", Opaque: "//user:pw@h/a%2Fb", Host: "h", RawQuery: "t=SECRET"}, "https://h/a%2Fb?t=REDACTED"},
		{"opaque authority without path", &url.URL{Scheme: "https", Opaque: "//user:pw@h"}, "https://h"},
		{"userinfo smuggled into Host", &url.URL{Scheme: "https", Host: "user:pw@h", Path: "/x"}, "https://h/x"},
		{"path without leading slash", &url.URL{Scheme: "https", Host: "h", Path: "x"}, "https://h/x"},
		{"user with empty host", &url.URL{Scheme: "https", User: url.UserPassword("u", "SECRET"), Path: "/x"}, "https:///x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&Policy{}).URL(tt.u); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestURLStringUnparsable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://user:SECRET@h/x y%zz?k=SECRET#f", "https://h/x y%zz?k=REDACTED"},
		{"https://user:SECRET@h:bad/x?k=SECRET", "https://h:bad/x?k=REDACTED"},
		{"https://user:SECRET@h:bad", "https://h:bad"},
		{"1user:SECRET@h?k=SECRET", "REDACTED?k=REDACTED"},
		{"%zz?k=SECRET", "%zz?k=REDACTED"},
	}
	for _, tt := range tests {
		if _, err := url.Parse(tt.in); err == nil && tt.in != "" {
			t.Fatalf("%q parses; the case must not", tt.in)
		}
		if got := (*Policy)(nil).URLString(tt.in); got != tt.want {
			t.Errorf("URLString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQuery(t *testing.T) {
	p := &Policy{QueryKeys: []string{"page"}}
	if got, want := p.Query("page=2&k=v"), "page=2&k=REDACTED"; got != want {
		t.Errorf("Query = %q, want %q", got, want)
	}
	if got := p.Query(""); got != "" {
		t.Errorf("Query(\"\") = %q", got)
	}
}

func TestHeader(t *testing.T) {
	p := &Policy{Headers: []string{"content-type", "X-Request-Id", "Authorization", "x-api-key", "Content-Type"}}
	tests := []struct {
		name, value, want string
	}{
		{"Content-Type", "application/json", "application/json"},
		{"content-type", "application/json", "application/json"},
		{"X-REQUEST-ID", "abc", "abc"},
		{"Authorization", "Bearer SECRET", Redacted},
		{"authorization", "Bearer SECRET", Redacted},
		{"X-Api-Key", "SECRET", Redacted},
		{"Cookie", "s=SECRET", Redacted},
		{"Accept", "*/*", Redacted},
	}
	for _, tt := range tests {
		if got := p.Header(tt.name, tt.value); got != tt.want {
			t.Errorf("Header(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	var zero Policy
	if got := zero.Header("Content-Type", "x"); got != Redacted {
		t.Errorf("zero Policy shows header: %q", got)
	}
	if got := (*Policy)(nil).Header("Content-Type", "x"); got != Redacted {
		t.Errorf("nil Policy shows header: %q", got)
	}
	got := p.VisibleHeaders()
	want := []string{"Content-Type", "X-Request-Id"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("VisibleHeaders = %q, want %q", got, want)
	}
	if (*Policy)(nil).VisibleHeaders() != nil {
		t.Error("nil Policy has visible headers")
	}
}

func TestCredentialHeader(t *testing.T) {
	for _, h := range []string{"authorization", "PROXY-AUTHORIZATION", "Cookie", "set-cookie", "X-API-KEY"} {
		if !CredentialHeader(h) {
			t.Errorf("CredentialHeader(%q) = false", h)
		}
	}
	if CredentialHeader("Content-Type") {
		t.Error("CredentialHeader(Content-Type) = true")
	}
}

func TestAllowsQuery(t *testing.T) {
	p := &Policy{QueryKeys: []string{"Page"}}
	if !p.AllowsQuery("Page") || p.AllowsQuery("page") {
		t.Error("query keys must match exactly, case-sensitively")
	}
	if (*Policy)(nil).AllowsQuery("Page") {
		t.Error("nil Policy allows a key")
	}
}

func TestURLAllocs(t *testing.T) {
	u, _ := url.Parse("https://api.example.com/v1/items")
	p := &Policy{}
	if n := testing.AllocsPerRun(100, func() { _ = p.URL(u) }); n != 1 {
		t.Errorf("URL without query: %v allocs, want 1", n)
	}
	q, _ := url.Parse("https://api.example.com/v1/items?a=1&b=2&c")
	if n := testing.AllocsPerRun(100, func() { _ = p.URL(q) }); n != 1 {
		t.Errorf("URL with query: %v allocs, want 1", n)
	}
}

func BenchmarkURL(b *testing.B) {
	p := &Policy{QueryKeys: []string{"page"}}
	for _, s := range []string{"https://api.example.com/v1/items", "https://api.example.com/v1/items?page=2&api_key=x"} {
		u, _ := url.Parse(s)
		b.Run(s[len("https://api.example.com/v1/items"):]+"x", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = p.URL(u)
			}
		})
	}
}
