package redact

import (
	"net/url"
	"strings"
	"testing"
)

// TestURLOpaqueQueryRedacted: net/http sends an Opaque "//host/path" as it
// is (RequestURI), so a '?' in it starts the query the server reads, and
// a '#' is sent too. URL showed both: a query value (or a "fragment") in
// the Opaque of a URL built by hand reached spans, errors and the audit
// log unredacted.
func TestURLOpaqueQueryRedacted(t *testing.T) {
	p := &Policy{QueryKeys: []string{"page"}}
	for _, tc := range []struct {
		u    *url.URL
		want string
	}{
		{&url.URL{Scheme: "https", Host: "h", Opaque: "//h/a%2Fb?token=SECRET"}, "https://h/a%2Fb?token=REDACTED"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "//h/a?page=2&token=SECRET", RawQuery: "key=SECRET2"}, "https://h/a?page=2&token=REDACTED"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "//h/a?token=SECRET&page=2", RawQuery: "key=SECRET2"}, "https://h/a?token=REDACTED&page=2?key=SECRET2"}, // page's value, as the server reads it
		{&url.URL{Scheme: "https", Host: "h", Opaque: "//h/a#SECRET"}, "https://h/a"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "//h?SECRET"}, "https://h?REDACTED"},
		{&url.URL{Scheme: "https", Host: "h", Opaque: "//u:SECRET@h?x=SECRET"}, "https://h?x=REDACTED"},
	} {
		got := p.URL(tc.u)
		if got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.u.String(), got, tc.want)
		}
		if s := p.URLString(tc.u.String()); strings.Contains(s, "SECRET") && !strings.Contains(tc.u.String(), "page=2?") {
			t.Errorf("URLString(%q) = %q", tc.u.String(), s)
		}
	}
}
