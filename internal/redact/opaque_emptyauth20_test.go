package redact

import (
	"net/url"
	"strings"
	"testing"
)

// TestURLOpaqueEmptyAuthorityUserinfo: URL replaces the path of
// "https:///user:pw@host/x", whose userinfo a WHATWG parser or a reader
// finds after the empty authority; net/http sends a hand-set Opaque
// "///user:pw@host/x" as that very request target ("https:" + Opaque),
// but URL showed it whole, password included, in url.full and the audit
// log.
func TestURLOpaqueEmptyAuthorityUserinfo(t *testing.T) {
	p := &Policy{QueryKeys: []string{"page"}}
	for _, tc := range []struct {
		u    *url.URL
		want string
	}{
		{&url.URL{Scheme: "https", Host: "h", Opaque: "///user:SECRET@evil/x"}, "https:REDACTED"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "///SECRET@evil"}, "https:REDACTED"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "///user:SECRET@evil/x?page=2&token=SECRET"}, "https:REDACTED?page=2&token=REDACTED"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "///user:SECRET@evil/x", RawQuery: "token=SECRET"}, "https:REDACTED?token=REDACTED"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "//u:SECRET@/user:SECRET@evil/x"}, "https:REDACTED"},
		// No '@': the path is shown, as in a URL.
		{&url.URL{Scheme: "https", Host: "h", Opaque: "///v1/x"}, "https:///v1/x"},
	} {
		got := p.URL(tc.u)
		if got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.u.String(), got, tc.want)
		}
		if want := p.URLString(tc.u.String()); strings.Contains(tc.u.String(), "@") && got != want {
			t.Errorf("URL(%q) = %q, URLString of its string %q", tc.u.String(), got, want)
		}
	}
}
