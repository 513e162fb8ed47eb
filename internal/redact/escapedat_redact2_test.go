package redact

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The real thing, through http.Client (client.Do's path): the pure-Go
// resolver refuses the name before sending a query.
func TestErrorRedactsUserinfoInHTTPClientDialError(t *testing.T) {
	d := &net.Dialer{Resolver: &net.Resolver{PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no dns in this test")
		}}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	for _, host := range []string{"user:" + secret + "@api.example.com", secret + "@api.example.com:8443", "user:" + secret + "@[2001:db8::1]:8443"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.com/", nil)
		req.URL = &url.URL{Scheme: "https", Host: host, Path: "/v1"}
		_, err := c.Do(req)
		if err == nil {
			t.Fatal("Do succeeded")
		}
		if !strings.Contains(err.Error(), secret) {
			t.Fatalf("the case no longer leaks without redaction: %v", err)
		}
		if got := (&Policy{}).Error(err).Error(); strings.Contains(got, secret) {
			t.Errorf("Error(%v) = %q keeps the userinfo", err, got)
		}
	}
}

// url.URL.String escapes the '@' of userinfo a URL built by hand left in
// its Host ("user:pw@host" becomes "user:pw%40host"); url.Parse refuses
// the result (no host holds an ASCII escape), and the userinfo was shown.
func TestURLStringEscapedAtInHost(t *testing.T) {
	for _, host := range []string{
		"user:" + secret + "@api.example.com",
		secret + "@api.example.com:8443",
		"us@er:" + secret + "@api.example.com",
		"user:" + secret + "@[2001:db8::1]:8443",
	} {
		u := &url.URL{Scheme: "https", Host: host, Path: "/v1", RawQuery: "k=v"}
		got := (&Policy{}).URLString(u.String())
		if strings.Contains(got, secret) || strings.Contains(got, "user") {
			t.Errorf("URLString(%q) = %q keeps the userinfo", u.String(), got)
		}
		if want := (&Policy{}).URL(u); got != want {
			t.Errorf("URLString(%q) = %q, want %q as URL shows it", u.String(), got, want)
		}
	}
}
