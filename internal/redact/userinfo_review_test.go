package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestURLStringUserinfoPastAuthority: a password holding "/", "?" or "#"
// unescaped ends the RFC 3986 authority early, so the string does not
// parse (the rest of the password is an invalid port) and is redacted by
// hand. The authority cut at the first "/", "?" or "#" then holds no "@"
// and the user name and the start of the password were shown. Such a
// string comes from a server's Location header or a url.Parse error.
func TestURLStringUserinfoPastAuthority(t *testing.T) {
	for _, in := range []string{
		"https://user:pa/" + secret + "@api.example.com/x",
		"https://user:" + secret + "/x@api.example.com/x",
		"https://user:" + secret + "?x@api.example.com/x?k=v",
		"https://user:" + secret + "#x@api.example.com/x",
		"//user:" + secret + "#x@api.example.com:bad/x",
		"//user:" + secret + "?x@api.example.com:bad/x",
	} {
		if _, err := url.Parse(in); err == nil {
			t.Fatalf("%q parses; the case must not", in)
		}
		if got := (&Policy{}).URLString(in); strings.Contains(got, secret) || strings.Contains(got, "user") {
			t.Errorf("URLString(%q) = %q keeps the userinfo", in, got)
		}
		_, perr := url.Parse(in)
		flat := fmt.Errorf("failed to parse Location header %q: %v", in, perr)
		err := (&Policy{}).Error(&url.Error{Op: "Get", URL: "https://api.example.com/v1", Err: flat})
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Error(Location %q) = %q keeps the password", in, err)
		}
	}
	// A URL that does not parse for another reason keeps its shape.
	if got, want := (&Policy{}).URLString("https://h:bad/x?k=S"), "https://h:bad/x?k=REDACTED"; got != want {
		t.Errorf("URLString = %q, want %q", got, want)
	}
}

// FuzzPasswordNoCanary puts fuzzed bytes in the user name and around a
// canary in the password of a URL (and of a Location http.Client could
// not parse, and of url.Parse's own error, alone and wrapped): the canary
// never survives unless url.Parse reads the URL with another host (the
// password then is, by RFC 3986, a host or a path, as net/http sends it).
// The seeds hold '[', ']', '@', ':', '/' and '%', whose url.Parse errors
// quote pieces of the authority.
func FuzzPasswordNoCanary(f *testing.F) {
	f.Add("user", "pa/", "@x")
	f.Add("user", "", "?x")
	f.Add("user", "#", "")
	f.Add("user", "%zz", "/")
	f.Add("user", "p@", "")
	f.Add("[u", "", "]/x")
	f.Add("[u", "", "]:/")
	f.Add("[u]", "", "/")
	f.Add("[::1]", "", "/x")
	f.Add("[fe80::1%25", "", "]/x")
	f.Add("u", "[", "]")
	f.Add("@[", ":", "%")
	f.Add("", "%4", "/")
	const canary = "CANARYzz9"
	f.Fuzz(func(t *testing.T, user, before, after string) {
		if strings.Contains(user+before+after, "CANARY") {
			t.Skip()
		}
		for _, raw := range []string{
			"https://" + user + ":" + before + canary + after + "@api.example.com/v1?k=v",
			"//" + user + ":" + before + canary + after + "@api.example.com/v1",
		} {
			u, perr := url.Parse(raw)
			if perr == nil && u.Host != "api.example.com" {
				continue
			}
			p := &Policy{}
			if got := p.URLString(raw); strings.Contains(got, canary) {
				t.Fatalf("URLString(%q) = %q keeps the canary", raw, got)
			}
			var inner error = errors.New("boom")
			if perr != nil {
				inner = fmt.Errorf("failed to parse Location header %q: %v", raw, perr)
				for _, e := range []error{perr, fmt.Errorf("x: %w", perr)} {
					if got := p.Error(e); strings.Contains(got.Error(), canary) {
						t.Fatalf("Error(parse %q) = %q keeps the canary", raw, got)
					}
				}
			}
			err := p.Error(fmt.Errorf("call: %w", &url.Error{Op: "Get", URL: raw, Err: inner}))
			if strings.Contains(err.Error(), canary) {
				t.Fatalf("Error(%q) = %q keeps the canary", raw, err)
			}
		}
	})
}

// TestURLUserinfoInHostlessPath: "https:///user:pw@host/x" and
// "https:/user:pw@host/x" parse with no host and the userinfo in the
// path; WHATWG URL parsers (and people) read "user:pw@host" as the
// authority. net/http refuses the request ("no Host in request URL") and
// the *url.Error, and the call span's url.full, quoted the password.
func TestURLUserinfoInHostlessPath(t *testing.T) {
	for _, in := range []string{
		"https:///user:" + secret + "@api.example.com/x?k=S",
		"https:/user:" + secret + "@api.example.com/x",
		"http:////user:" + secret + "@api.example.com",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := (&Policy{}).URL(u); strings.Contains(got, secret) {
			t.Errorf("URL(%q) = %q keeps the password", in, got)
		}
		e := (&Policy{}).Error(&url.Error{Op: "Get", URL: in, Err: errors.New("http: no Host in request URL")})
		if strings.Contains(e.Error(), secret) {
			t.Errorf("Error(%q) = %q keeps the password", in, e)
		}
	}
	// A path with "@" under a host is shown as it is (npm scopes, @me).
	u, _ := url.Parse("https://registry.example.com/@scope/pkg")
	if got := (&Policy{}).URL(u); got != "https://registry.example.com/@scope/pkg" {
		t.Errorf("URL = %q", got)
	}
}

// TestErrorKeepsPortOfParsedURL: the invalid-port replacement is for a
// URL that does not parse. An ordinary URL with an '@' past its authority
// (an e-mail address in the query, "/@scope" in the path) and a port had
// its ":port" replaced everywhere in the message, the dial error's
// address included, which hides where the call went.
func TestErrorKeepsPortOfParsedURL(t *testing.T) {
	for _, raw := range []string{
		"https://api.example.com:8443/v1?email=a@example.com",
		"https://registry.example.com:8443/@scope/pkg?token=S",
	} {
		e := (&Policy{}).Error(&url.Error{Op: "Get", URL: raw, Err: errors.New("dial tcp 192.0.2.1:8443: connect: connection refused")})
		if !strings.Contains(e.Error(), "192.0.2.1:8443") || !strings.Contains(e.Error(), ".example.com:8443/") {
			t.Errorf("Error(%q) = %q lost the port", raw, e)
		}
	}
}
