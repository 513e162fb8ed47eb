package redact

import (
	"net/url"
	"strings"
	"testing"
)

// A URL built by hand with neither scheme nor host whose path begins with
// "//" is written as a network-path reference, which every reader
// (url.Parse among them) reads as "//userinfo@host/path": its userinfo
// was shown as it is.
func TestURLNetworkPathWithUserinfo(t *testing.T) {
	p := &Policy{QueryKeys: []string{"page"}}
	for _, tc := range []struct {
		u    *url.URL
		want string
	}{
		{&url.URL{Path: "//user:CANARY@host/x"}, "REDACTED"},
		{&url.URL{Path: "//user:CANARY@host/x", RawQuery: "page=2&t=CANARY"}, "REDACTED?page=2&t=REDACTED"},
		{&url.URL{Path: "//host/x@y"}, "REDACTED"},
		{&url.URL{Path: "//host/x"}, "//host/x"},
		{&url.URL{Path: "/x/user:pw@y"}, "/x/user:pw@y"},
	} {
		got := p.URL(tc.u)
		if got != tc.want {
			t.Errorf("URL(%#v) = %q, want %q", tc.u.Path, got, tc.want)
		}
		if strings.Contains(got, "CANARY") {
			t.Errorf("URL(%#v) = %q shows the password", tc.u.Path, got)
		}
		if u, err := url.Parse(got); err == nil && u.User != nil {
			t.Errorf("URL(%#v) = %q parses with userinfo", tc.u.Path, got)
		}
	}
}
