package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A fully qualified name with its trailing dot ("api.example.com.") is the
// same host as without it: DNS resolves both to the same records, and
// certificate verification and pinning ignore the dot. Every per-host
// identity of the package must agree, and must still tell apart a name
// that is not the same host ("api.example.com..", which nothing resolves).

func TestHostKeyIgnoresTrailingDot(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"https://api.example.com./x", "https://api.example.com/y"},
		{"https://API.Example.COM.:443/", "https://api.example.com/"},
		{"https://api.example.com.:8443/", "https://api.example.com:8443/"},
		{"http://api.example.com.:80/", "http://api.example.com/"},
		// An internationalised name is the ASCII name net/http sends.
		{"https://bücher.example/", "https://xn--bcher-kva.example/"},
		{"https://BÜCHER.example.:8443/", "https://xn--bcher-kva.example:8443/"},
		{"https://b%C3%BCcher.example/", "https://XN--BCHER-KVA.example:443/"},
	} {
		ka, kb := transport.HostKey(mustURL(t, tc.a)), transport.HostKey(mustURL(t, tc.b))
		if ka != kb {
			t.Errorf("HostKey(%s) = %q, HostKey(%s) = %q: one host, two keys (separate breaker and throttle state)", tc.a, ka, tc.b, kb)
		}
	}
	if ka, kb := transport.HostKey(mustURL(t, "https://api.example.com../")), transport.HostKey(mustURL(t, "https://api.example.com/")); ka == kb {
		t.Errorf("HostKey of a name with two trailing dots = %q, the same as the name's", ka)
	}
	u := mustURL(t, "https://api.example.com./x")
	if n := testing.AllocsPerRun(100, func() { transport.HostKey(u) }); n != 0 {
		t.Errorf("HostKey allocates %v times for a trailing-dot name", n)
	}
}

func TestOriginIgnoresTrailingDot(t *testing.T) {
	a, errA := transport.ParseOrigin("https://api.example.com.")
	b, errB := transport.ParseOrigin("https://API.example.com:443")
	if errA != nil || errB != nil || a != b {
		t.Fatalf("ParseOrigin: %#v (%v) and %#v (%v), want the same origin", a, errA, b, errB)
	}
	for _, s := range []string{"https://.", "https://.:443"} {
		if o, err := transport.ParseOrigin(s); err == nil {
			t.Errorf("ParseOrigin(%q) = %#v, want an error (no host)", s, o)
		}
	}
	scope := transport.Origins{b}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://api.example.com./v1", true},
		{"https://api.example.com.:443/v1", true},
		{"https://api.example.com../v1", false},
		{"https://api.example.com.evil.test./v1", false},
		{"http://api.example.com./v1", false},
		{"https://./", false},
	} {
		if got := scope.Allows(mustURL(t, tc.url)); got != tc.want {
			t.Errorf("Allows(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
	// An origin configured with the dot scopes the name without it too.
	if !(transport.Origins{a}).Allows(mustURL(t, "https://api.example.com/")) {
		t.Error("origin https://api.example.com. does not allow https://api.example.com/")
	}
}

func TestRedirectTrailingDotIsSameOrigin(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer CANARY"}}
	// No Origins: the first request's origin is the client's.
	p := &transport.RedirectPolicy{}
	hop, via := redirectHop(t, "https://api.example.com/a", "https://api.example.com./b", h)
	if err := p.Check(hop, via); err != nil {
		t.Fatalf("hop to the same host with a trailing dot refused: %v", err)
	}
	if hop.Header.Get("Authorization") == "" {
		t.Error("same-host hop lost its credential")
	}
	// A name that is not the same host stays foreign: refused.
	hop, via = redirectHop(t, "https://api.example.com/a", "https://api.example.com../b", h)
	if err := p.Check(hop, via); err == nil {
		t.Error("hop to api.example.com.. followed as same-origin")
	}
	own, _ := transport.ParseOrigins("https://api.example.com")
	p = &transport.RedirectPolicy{Origins: own}
	hop, via = redirectHop(t, "https://api.example.com./a", "https://api.example.com./b", h)
	if err := p.Check(hop, via); err != nil || hop.Header.Get("Authorization") == "" {
		t.Errorf("own-origin hop with a trailing dot: %v, Authorization %q", err, hop.Header.Get("Authorization"))
	}
}

func TestEgressTrailingDots(t *testing.T) {
	p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"api.example.com", "*.svc.example.net", "dotted.example.org."}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://api.example.com./", true},
		{"https://a.svc.example.net./", true},
		{"https://dotted.example.org/", true},
		{"https://dotted.example.org./", true},
		{"https://api.example.com../", false},
		{"https://a.svc.example.net../", false},
		{"https://dotted.example.org../", false},
		{"https://svc.example.net./", false},
		{"https://./", false},
	} {
		if err := p.CheckURL(mustURL(t, tc.url)); (err == nil) != tc.ok {
			t.Errorf("CheckURL(%s) = %v, want allowed %v", tc.url, err, tc.ok)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
	req.Host = "api.example.com.."
	if err := p.Check(req); err == nil {
		t.Error("Host header api.example.com.. allowed")
	}
}

func TestInventoryTrailingDotIsOneEntry(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	for _, s := range []string{"https://api.example.com/x", "https://api.example.com./x", "https://API.example.com.:443/x", "https://api.example.com.:8443/x"} {
		inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, s), StatusCode: 200})
	}
	snap := inv.Snapshot()
	if len(snap.Entries) != 2 {
		t.Fatalf("%d entries, want 2: %+v", len(snap.Entries), snap.Entries)
	}
	e, ok := findEntry(snap, "GET", "https://api.example.com:443", "/x")
	if !ok || e.Calls != 3 || e.Host != "api.example.com" {
		t.Fatalf("entry %+v (found %v), want 3 calls to host api.example.com", e, ok)
	}
	if e, ok := findEntry(snap, "GET", "https://api.example.com:8443", "/x"); !ok || e.Host != "api.example.com" || e.Port != 8443 {
		t.Fatalf("port entry %+v (found %v)", e, ok)
	}
}

// TestInventoryInternationalisedNameIsOneEntry: an internationalised name
// is one entry under its punycode form, the name net/http dials, as for
// Origin and HostKey; before, "BÜCHER.example" was even its own entry
// ("bÜcher.example": only ASCII letters were lower-cased).
func TestInventoryInternationalisedNameIsOneEntry(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	for _, s := range []string{"https://bücher.example/x", "https://xn--bcher-kva.example/x", "https://BÜCHER.example.:443/x"} {
		inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, s), StatusCode: 200})
	}
	snap := inv.Snapshot()
	e, ok := findEntry(snap, "GET", "https://xn--bcher-kva.example:443", "/x")
	if len(snap.Entries) != 1 || !ok || e.Calls != 3 || e.Host != "xn--bcher-kva.example" {
		t.Fatalf("entries %+v, want one with 3 calls to host xn--bcher-kva.example", snap.Entries)
	}
}

// TestTrailingDotFromIDNAMapping: IDNA maps the ideographic full stop
// (U+3002) and its variants to ".", so "bücher.example。" converts to
// "xn--bcher-kva.example." and is the fully qualified name of
// bücher.example, the name net/http sends. Its trailing dot must be dropped
// after the conversion, as OriginOf does, or HostKey, the inventory and
// the egress allowlist see another host than Origin does.
func TestTrailingDotFromIDNAMapping(t *testing.T) {
	dotted := mustURL(t, "https://bücher.example。/x")
	plain := mustURL(t, "https://xn--bcher-kva.example/x")
	if ka, kb := transport.HostKey(dotted), transport.HostKey(plain); ka != kb {
		t.Errorf("HostKey = %q and %q: one host, two keys", ka, kb)
	}
	if ka, kb := transport.HostKey(mustURL(t, "https://bücher.example。:8443/")), transport.HostKey(mustURL(t, "https://xn--bcher-kva.example:8443/")); ka != kb {
		t.Errorf("HostKey with port = %q and %q: one host, two keys", ka, kb)
	}
	// Only one dot: "bücher.example。." is another host.
	if ka, kb := transport.HostKey(mustURL(t, "https://bücher.example。./")), transport.HostKey(plain); ka == kb {
		t.Errorf("HostKey of a name with two trailing dots = %q, the same as the name's", ka)
	}

	inv := newInventory(t, transport.InventoryConfig{})
	inv.Record(transport.Observation{Method: "GET", URL: dotted, StatusCode: 200})
	inv.Record(transport.Observation{Method: "GET", URL: plain, StatusCode: 200})
	if snap := inv.Snapshot(); len(snap.Entries) != 1 {
		t.Errorf("inventory entries %+v, want one", snap.Entries)
	}

	p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: []string{"bücher.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckURL(dotted); err != nil {
		t.Errorf("CheckURL(bücher.example。) = %v, want allowed by an entry for bücher.example", err)
	}
	if err := p.CheckURL(mustURL(t, "https://bücher.example。./")); err == nil {
		t.Error("CheckURL(bücher.example。.) allowed: two trailing dots are another host")
	}
}
