package transport_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

func TestParseOrigin(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want transport.Origin
		str  string
	}{
		{"https://api.example.com", transport.Origin{"https", "api.example.com", "443"}, "https://api.example.com:443"},
		{"https://API.Example.COM/", transport.Origin{"https", "api.example.com", "443"}, "https://api.example.com:443"},
		{"HTTPS://api.example.com:443", transport.Origin{"https", "api.example.com", "443"}, "https://api.example.com:443"},
		{"http://localhost", transport.Origin{"http", "localhost", "80"}, "http://localhost:80"},
		{"https://api.example.com:8443", transport.Origin{"https", "api.example.com", "8443"}, "https://api.example.com:8443"},
		{"http://127.0.0.1:8080", transport.Origin{"http", "127.0.0.1", "8080"}, "http://127.0.0.1:8080"},
		{"https://[::1]:8443", transport.Origin{"https", "::1", "8443"}, "https://[::1]:8443"},
		{"https://[2001:DB8::1]", transport.Origin{"https", "2001:db8::1", "443"}, "https://[2001:db8::1]:443"},
	} {
		got, err := transport.ParseOrigin(tc.in)
		if err != nil {
			t.Errorf("ParseOrigin(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseOrigin(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		if got.String() != tc.str {
			t.Errorf("ParseOrigin(%q).String() = %q, want %q", tc.in, got.String(), tc.str)
		}
	}
}

func TestParseOriginRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"api.example.com",              // no scheme
		"ftp://api.example.com",        // scheme
		"wss://api.example.com",        // scheme
		"https://",                     // no host
		"https://:443",                 // empty host name
		"https://user@api.example.com", // userinfo
		"https://user:pw@api.example.com",
		"https://api.example.com/v1", // path
		"https://api.example.com/?q=1",
		"https://api.example.com?q=1", // query
		"https://api.example.com#frag",
		"https://api.example.com/%zz", // bad escape
		"https://[::1",                // bad IPv6 literal
		// Ports net/http would dial differently from what the origin says
		// (or not at all): a credential scope that can never match, and
		// an egress allowlist entry NewEgressPolicy refuses.
		"https://api.example.com:0",
		"https://api.example.com:99999",
		"https://api.example.com:0443",
	} {
		if o, err := transport.ParseOrigin(in); err == nil {
			t.Errorf("ParseOrigin(%q) = %#v, want an error", in, o)
		}
	}
}

func TestOriginEqualityWithDefaultPorts(t *testing.T) {
	same := [][2]string{
		{"https://a.example", "https://a.example:443"},
		{"http://a.example", "http://a.example:80"},
		{"https://A.Example", "https://a.example"},
		{"https://[::1]", "https://[::1]:443"},
	}
	for _, p := range same {
		a, errA := transport.ParseOrigin(p[0])
		b, errB := transport.ParseOrigin(p[1])
		if errA != nil || errB != nil || a != b {
			t.Errorf("%q and %q: %v / %v, want the same origin", p[0], p[1], a, b)
		}
	}
	different := [][2]string{
		{"https://a.example", "http://a.example"},
		{"https://a.example:80", "http://a.example"},
		{"http://a.example:443", "https://a.example"},
		{"https://a.example", "https://a.example:8443"},
		{"https://a.example", "https://b.example"},
		{"https://a.example", "https://sub.a.example"},
		{"https://[::1]", "https://127.0.0.1"},
	}
	for _, p := range different {
		a, _ := transport.ParseOrigin(p[0])
		b, _ := transport.ParseOrigin(p[1])
		if a == b {
			t.Errorf("%q and %q are the same origin %v", p[0], p[1], a)
		}
	}
}

func TestOriginOf(t *testing.T) {
	u, _ := url.Parse("HTTPS://User:pw@API.example.com/v1/items?x=1#f")
	want := transport.Origin{"https", "api.example.com", "443"}
	if got := transport.OriginOf(u); got != want {
		t.Fatalf("OriginOf = %#v, want %#v", got, want)
	}
	if got := transport.OriginOf(nil); got != (transport.Origin{}) {
		t.Fatalf("OriginOf(nil) = %#v, want the zero Origin", got)
	}
	if s := (transport.Origin{}).String(); s != "" {
		t.Fatalf("zero Origin String = %q", s)
	}
}

func TestOriginsAllows(t *testing.T) {
	scope, err := transport.ParseOrigins("https://api.example.com", "http://127.0.0.1:8080", "https://[::1]:8443")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://api.example.com/v1?x=1", true},
		{"https://api.example.com:443/", true},
		{"https://API.EXAMPLE.COM/v1", true},
		{"https://user@api.example.com/", true}, // userinfo is not part of the origin
		{"http://api.example.com/", false},      // scheme
		{"https://api.example.com:8443/", false},
		{"https://evil.example.com/", false},
		{"https://api.example.com.evil.test/", false},
		{"https://sub.api.example.com/", false},
		{"http://127.0.0.1:8080/x", true},
		{"https://127.0.0.1:8080/x", false},
		{"http://127.0.0.1/x", false},
		{"http://localhost:8080/x", false}, // names are not resolved
		{"https://[::1]:8443/", true},
		{"https://[::1]/", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := scope.Allows(u); got != tc.want {
			t.Errorf("Allows(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
	if scope.Allows(nil) {
		t.Error("Allows(nil) = true")
	}
	var none transport.Origins
	if none.Allows(&url.URL{Scheme: "https", Host: "api.example.com"}) {
		t.Error("an empty Origins allowed a URL")
	}
}

func TestOriginsImplementsScope(t *testing.T) {
	var s transport.Scope = transport.Origins{{Scheme: "https", Host: "a.example", Port: "443"}}
	if !s.Allows(&url.URL{Scheme: "https", Host: "a.example"}) {
		t.Fatal("Scope did not allow its origin")
	}
}

func TestParseOriginsStopsAtFirstError(t *testing.T) {
	if o, err := transport.ParseOrigins("https://a.example", "https://b.example/path"); err == nil || o != nil {
		t.Fatalf("ParseOrigins = %v, %v; want nil and an error", o, err)
	}
	o, err := transport.ParseOrigins()
	if err != nil || len(o) != 0 {
		t.Fatalf("ParseOrigins() = %v, %v", o, err)
	}
}

func TestParseOriginErrorsDoNotEchoSecrets(t *testing.T) {
	for _, in := range []string{
		"https://user:CANARY@a.test",
		"https://a.test/?token=CANARY",
		"https://a.test/CANARY",
		"ftp://CANARY.test",
		"https://a.test/%zzCANARY",
		"https://a.test#CANARY",
	} {
		_, err := transport.ParseOrigin(in)
		if err == nil {
			t.Errorf("ParseOrigin(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), "CANARY") {
			t.Errorf("ParseOrigin(%q) error leaks input: %v", in, err)
		}
	}
}

func TestZeroOriginMatchesNothing(t *testing.T) {
	o := transport.Origins{transport.Origin{}}
	for _, u := range []*url.URL{{Path: "/x"}, {}, {Scheme: "https"}} {
		if o.Allows(u) {
			t.Errorf("zero Origin allowed %#v", u)
		}
	}
}
