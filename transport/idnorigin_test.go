package transport_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// An internationalised host name is the ASCII (punycode) name net/http
// dials and sends: "https://bücher.example" and
// "https://xn--bcher-kva.example" are one origin, as they are one host for
// HostKey and the egress allowlist. Otherwise a credential scoped to one
// spelling is withheld from the other and a same-host redirect is taken
// for a foreign one.

func TestOriginOfInternationalisedNameIsPunycode(t *testing.T) {
	want := transport.Origin{Scheme: "https", Host: "xn--bcher-kva.example", Port: "443"}
	for _, s := range []string{
		"https://bücher.example/x",
		"https://BÜCHER.example./x",
		"https://b%C3%BCcher.example:443/x",
		"https://bücher。example/x", // an ideographic full stop is a dot
		"https://XN--BCHER-KVA.example/x",
	} {
		if got := transport.OriginOf(mustURL(t, s)); got != want {
			t.Errorf("OriginOf(%s) = %#v, want %#v", s, got, want)
		}
	}
	for _, s := range []string{"https://bücher.example", "https://BÜCHER.example.:443/", "https://xn--bcher-kva.example"} {
		if got, err := transport.ParseOrigin(s); err != nil || got != want {
			t.Errorf("ParseOrigin(%s) = %#v, %v; want %#v", s, got, err, want)
		}
	}
	// An origin configured in either spelling scopes both.
	for _, conf := range []string{"https://bücher.example", "https://xn--bcher-kva.example"} {
		scope, err := transport.ParseOrigins(conf)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"https://bücher.example/v1", "https://xn--bcher-kva.example/v1", "https://BÜCHER.EXAMPLE./v1"} {
			if !scope.Allows(mustURL(t, u)) {
				t.Errorf("origin %s does not allow %s", conf, u)
			}
		}
		if scope.Allows(mustURL(t, "https://bucher.example/v1")) {
			t.Errorf("origin %s allows bucher.example", conf)
		}
	}
}

func TestParseOriginRejectsInvalidInternationalisedName(t *testing.T) {
	for _, s := range []string{"https://-bücher.example", "https://bücher_.example", "https://a\u200d.example"} {
		o, err := transport.ParseOrigin(s)
		if err == nil {
			t.Errorf("ParseOrigin(%q) = %#v, want an error", s, o)
			continue
		}
		if strings.Contains(err.Error(), "cher") || strings.Contains(err.Error(), "example") {
			t.Errorf("ParseOrigin(%q): error %q repeats the input", s, err)
		}
	}
}

func TestRedirectInternationalisedNameIsSameOrigin(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer CANARY"}}
	p := &transport.RedirectPolicy{}
	hop, via := redirectHop(t, "https://bücher.example/a", "https://xn--bcher-kva.example/b", h)
	if err := p.Check(hop, via); err != nil || hop.Header.Get("Authorization") == "" {
		t.Errorf("hop to the same host in punycode: %v, Authorization %q", err, hop.Header.Get("Authorization"))
	}
	own, err := transport.ParseOrigins("https://xn--bcher-kva.example")
	if err != nil {
		t.Fatal(err)
	}
	p = &transport.RedirectPolicy{Origins: own}
	hop, via = redirectHop(t, "https://bücher.example/a", "https://BÜCHER.example/b", h)
	if err := p.Check(hop, via); err != nil || hop.Header.Get("Authorization") == "" {
		t.Errorf("own-origin hop in Unicode: %v, Authorization %q", err, hop.Header.Get("Authorization"))
	}
}

func TestAuditOriginInternationalisedNameIsPunycode(t *testing.T) {
	var log auditLog
	rt := auditLayer(t, transporttest.NewResponder(), transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	req, _ := http.NewRequest(http.MethodGet, "https://bücher.example/x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	recs := log.records(t)
	if len(recs) != 1 || recs[0][transport.AuditOrigin] != "https://xn--bcher-kva.example:443" {
		t.Fatalf("records %v, want server.origin https://xn--bcher-kva.example:443", recs)
	}
}

func TestOriginOfASCIIDoesNotAllocate(t *testing.T) {
	for _, s := range []string{"https://api.example.com/x", "https://API.example.com.:8443/x", "https://[::1]:8443/"} {
		u := mustURL(t, s)
		want := transport.OriginOf(u)
		n := testing.AllocsPerRun(100, func() {
			if transport.OriginOf(u) != want {
				t.Fatal("OriginOf changed")
			}
		})
		// Upper-case letters need a lower-cased copy; nothing else allocates.
		if max := map[bool]float64{true: 1, false: 0}[strings.ContainsAny(s[8:], "APIE")]; n > max {
			t.Errorf("OriginOf(%s) allocates %v times, want at most %v", s, n, max)
		}
	}
}

// A non-ASCII name that is not a valid internationalised name keeps its
// non-ASCII letters in its origin: it is not the origin of the ASCII name
// Unicode lower-casing would make of it. "\u212A_svc.internal" (KELVIN
// SIGN) fails the IDNA lookup (STD3 refuses "_"), so net/http dials it as
// written and sends the Host "xn--_svc-ue8a.internal"; strings.ToLower
// turns it into "k_svc.internal", which a scope listing that origin then
// allowed, handing the other name its credentials.
func TestOriginOfInvalidInternationalisedNameIsNotAnASCIIOrigin(t *testing.T) {
	scope, err := transport.ParseOrigins("https://k_svc.internal", "https://ab--k.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"https://\u212A_svc.internal/x", "https://ab--\u212A.example/x"} {
		u := mustURL(t, s)
		if o := transport.OriginOf(u); isASCIIString(o.Host) {
			t.Errorf("OriginOf(%q) = %#v: an ASCII host for a name net/http does not convert", s, o)
		}
		if scope.Allows(u) {
			t.Errorf("scope %v allows %q", scope, s)
		}
	}
	h := http.Header{"Authorization": {"Bearer CANARY"}}
	hop, via := redirectHop(t, "https://k_svc.internal/a", "https://\u212A_svc.internal/b", h)
	if err := (&transport.RedirectPolicy{}).Check(hop, via); err == nil && hop.Header.Get("Authorization") != "" {
		t.Errorf("hop to %q kept Authorization as a same-origin hop", hop.URL.Host)
	}
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
