package transport

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// referenceCheckURL is EgressPolicy.CheckURL as it was before the per-host
// cache (the same code, with the host worked out on every call): the
// cached policy must give the same answer for every URL.
func referenceCheckURL(p *EgressPolicy, u *url.URL) error {
	if u == nil {
		return &EgressError{Reason: egressNoURL}
	}
	o := OriginOf(u)
	if o.Host == "" || o.Scheme == "" {
		return &EgressError{Origin: o, Reason: egressRelativeURL}
	}
	switch o.Scheme {
	case "https":
	case "http":
		if !p.allowHTTP {
			return &EgressError{Origin: o, Reason: egressScheme}
		}
	default:
		return &EgressError{Origin: o, Reason: egressScheme}
	}
	return referenceCheckHost(p, o, u.Hostname())
}

func referenceCheckHost(p *EgressPolicy, o Origin, raw string) error {
	host, ok := hostOf(raw)
	if !ok {
		return &EgressError{Origin: o, Reason: egressBadHost}
	}
	if p.any {
		return nil
	}
	reason := egressNotAllowed
	for _, r := range p.exact[host] {
		switch p.matchRule(r, o) {
		case matchOK:
			return nil
		case matchPort:
			reason = egressPort
		case matchScheme:
			if reason == egressNotAllowed {
				reason = egressHTTP
			}
		}
	}
	for _, r := range p.wild {
		if len(host) <= len(r.suffix) || !strings.HasSuffix(host, r.suffix) {
			continue
		}
		switch p.matchRule(r, o) {
		case matchOK:
			return nil
		case matchPort:
			reason = egressPort
		case matchScheme:
			if reason == egressNotAllowed {
				reason = egressHTTP
			}
		}
	}
	return &EgressError{Origin: o, Reason: reason}
}

// referenceCheck is EgressPolicy.Check before the cache.
func referenceCheck(p *EgressPolicy, req *http.Request) error {
	if err := referenceCheckURL(p, req.URL); err != nil {
		return err
	}
	if req.Host != "" && req.Host != req.URL.Host {
		o := OriginOf(req.URL)
		h, port := req.Host, ""
		if hh, pp, err := net.SplitHostPort(h); err == nil {
			h, port = hh, pp
		} else if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
			h = h[1 : len(h)-1]
		}
		ho := o
		if port != "" && strings.EqualFold(req.URL.Scheme, "http") {
			// A plain-http request's Host with a port is checked with
			// it (a forward proxy connects it); one without, with the
			// URL's.
			ho.Port = destPort(port)
		}
		if err := referenceCheckHost(p, ho, h); err != nil {
			return &EgressError{Origin: o, Reason: egressHostHeader}
		}
	}
	return p.checkCleartext(req)
}

// sameDecision reports whether two CheckURL/Check results are the same
// decision: both nil, or EgressErrors with the same origin and reason.
func sameDecision(got, want error) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	var g, w *EgressError
	return errors.As(got, &g) && errors.As(want, &w) && *g == *w
}

// egressCacheConfigs are allowlists with exact names, wildcards, ports,
// schemes, IP literals and an internationalised name, and no allowlist.
var egressCacheConfigs = []EgressConfig{
	{Allow: []string{
		"api.example.com", "API.Upper.example.com", "alt.example.com:8443", "*.svc.example.net",
		"anyport.example.org:*", "https://strict.example.com", "192.0.2.10", "[2001:db8::1]:8443",
		"bücher.example", "dotted.example.org.", "k_svc.internal", "*.example.com:9443",
	}},
	{Allow: []string{"api.example.com", "http://plain.example.com", "*.svc.example.net:*", "[::1]:*"}, AllowHTTP: true},
	{},
	{AllowHTTP: true},
}

// egressCacheHosts are raw hosts ([host]:port part of a URL) that differ
// only by case, trailing dots, IDN form, IP-literal spelling, or not at
// all from allowed ones.
var egressCacheHosts = []string{
	"api.example.com", "API.EXAMPLE.COM", "api.example.com.", "Api.Example.Com.", "api.example.com..",
	"api.example.com:443", "api.example.com.:8443", "api.upper.example.com", "alt.example.com:8443", "alt.example.com",
	"a.svc.example.net", "A.B.SVC.example.net.", "svc.example.net", "svc.example.net.", "a.svc.example.net..",
	"xsvc.example.net", "anyport.example.org:1234", "strict.example.com", "x.example.com:9443", "example.com:9443",
	"192.0.2.10", "192.0.2.10:443", "192.0.2.11", "[2001:db8::1]:8443", "[2001:DB8:0::1]:8443", "[2001:db8::1]",
	"[::1]:8080", "[0:0::1]", "[::ffff:192.0.2.10]", "[fe80::1%25eth0]", "127.0.0.1", "localhost",
	"bücher.example", "BÜCHER.example", "bücher.example.", "bücher.example。", "bücher.example。.", "xn--bcher-kva.example",
	"XN--BCHER-KVA.EXAMPLE.", "b%C3%BCcher.example", "dotted.example.org", "dotted.example.org.", "dotted.example.org..",
	"\u212A_svc.internal", "k_svc.internal", "K_SVC.internal.", "plain.example.com", "plain.example.com:80",
	".", "..", "a..b.example.com", "-bad-.example.com", "under_score.svc.example.net",
}

// egressCacheURLs returns every scheme and path combination of the hosts.
func egressCacheURLs(t testing.TB) []*url.URL {
	var us []*url.URL
	for _, h := range egressCacheHosts {
		for _, scheme := range []string{"https", "http", "HTTPS", "ftp"} {
			u, err := url.Parse(scheme + "://" + h + "/v1/x?q=1")
			if err != nil {
				continue // not a URL net/http would send
			}
			us = append(us, u)
		}
	}
	for _, s := range []string{"/relative", "https:///nohost", "https://@/"} {
		if u, err := url.Parse(s); err == nil {
			us = append(us, u)
		}
	}
	if len(us) < 150 {
		t.Fatalf("only %d URLs", len(us))
	}
	return us
}

// TestEgressHostCacheAgreesWithUncached: with the cache cold, warm (every
// spelling of each host cached, in two orders), and full (no more
// insertions), every URL and Host header gets the decision the uncached
// code gives, origin and reason included.
func TestEgressHostCacheAgreesWithUncached(t *testing.T) {
	us := egressCacheURLs(t)
	for ci, cfg := range egressCacheConfigs {
		full, err := NewEgressPolicy(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; full.hosts.len() < egressHostCacheMax; i++ {
			full.hostInfo(fmt.Sprintf("filler-%d.example", i))
		}
		p, err := NewEgressPolicy(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for pass, order := range [][]*url.URL{us, reversed(us), us} {
			for _, u := range order {
				want := referenceCheckURL(p, u)
				if got := p.CheckURL(u); !sameDecision(got, want) {
					t.Errorf("config %d pass %d: CheckURL(%s) = %v, uncached %v", ci, pass, u, got, want)
				}
				if got := full.CheckURL(u); !sameDecision(got, want) {
					t.Errorf("config %d: full cache: CheckURL(%s) = %v, uncached %v", ci, u, got, want)
				}
				if got, want := p.Allows(u), want == nil; got != want {
					t.Errorf("config %d: Allows(%s) = %v, want %v", ci, u, got, want)
				}
			}
		}
		// Host headers: every host as the Host of a request to every URL
		// of the allowed hosts.
		for _, u := range us[:40] {
			for _, h := range egressCacheHosts {
				req := &http.Request{Method: http.MethodGet, URL: u, Host: h, Header: http.Header{}}
				want := referenceCheck(p, req)
				if got := p.Check(req); !sameDecision(got, want) {
					t.Errorf("config %d: Check(%s, Host %q) = %v, uncached %v", ci, u, h, got, want)
				}
			}
		}
		if n := full.hosts.len(); n != egressHostCacheMax {
			t.Errorf("config %d: full cache grew to %d", ci, n)
		}
	}
}

func reversed[T any](s []T) []T {
	r := make([]T, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}

// TestEgressHostCacheBounded: distinct host names past the cap are
// decided without being cached; the names cached first stay cached.
func TestEgressHostCacheBounded(t *testing.T) {
	p, err := NewEgressPolicy(EgressConfig{Allow: []string{"*.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	first := mustParse(t, "https://first.example.com/")
	if err := p.CheckURL(first); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * egressHostCacheMax {
		allowed := mustParse(t, fmt.Sprintf("https://h%d.example.com/", i))
		denied := mustParse(t, fmt.Sprintf("https://h%d.example.org/", i))
		if err := p.CheckURL(allowed); err != nil {
			t.Fatalf("CheckURL(%s) = %v", allowed, err)
		}
		if err := p.CheckURL(denied); !sameDecision(err, referenceCheckURL(p, denied)) || err == nil {
			t.Fatalf("CheckURL(%s) = %v", denied, err)
		}
		if n := p.hosts.len(); n > egressHostCacheMax {
			t.Fatalf("cache holds %d hosts, cap %d", n, egressHostCacheMax)
		}
	}
	if n := p.hosts.len(); n != egressHostCacheMax {
		t.Errorf("cache holds %d hosts, want the cap %d", n, egressHostCacheMax)
	}
	if m := *p.hosts.m.Load(); m["first.example.com"] == nil {
		t.Error("the first host was evicted")
	}
	// A name longer than any host is decided, not cached.
	long := mustParse(t, "https://"+strings.Repeat("a", maxIDNLen)+".example.com/")
	q, _ := NewEgressPolicy(EgressConfig{Allow: []string{"*.example.com"}})
	if err := q.CheckURL(long); !sameDecision(err, referenceCheckURL(q, long)) {
		t.Errorf("CheckURL(long) = %v", err)
	}
	if n := q.hosts.len(); n != 0 {
		t.Errorf("a %d-byte host name was cached", len(long.Hostname()))
	}
}

// TestEgressHostCacheKeyIsCopied: the cache keeps its own copy of the
// host name, not the URL string it was cut from.
func TestEgressHostCacheKeyIsCopied(t *testing.T) {
	p, err := NewEgressPolicy(EgressConfig{Allow: []string{"api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	u := mustParse(t, "https://api.example.com/"+strings.Repeat("x", 1<<16))
	if err := p.CheckURL(u); err != nil {
		t.Fatal(err)
	}
	for k := range *p.hosts.m.Load() {
		if k != "api.example.com" {
			t.Fatalf("cached key %q", k)
		}
	}
}

// TestEgressHostCacheConcurrent runs cold lookups and insertions from
// many goroutines (run it with -race): every decision matches the uncached
// one and the cache stays within its cap.
func TestEgressHostCacheConcurrent(t *testing.T) {
	us := egressCacheURLs(t)
	for i := range egressHostCacheMax {
		us = append(us, mustParse(t, fmt.Sprintf("https://c%d.svc.example.net/", i)))
	}
	p, err := NewEgressPolicy(egressCacheConfigs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := make([]error, len(us))
	for i, u := range us {
		want[i] = referenceCheckURL(p, u)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range len(us) * 2 {
				i := (n*7 + g*31) % len(us)
				if got := p.CheckURL(us[i]); !sameDecision(got, want[i]) {
					t.Errorf("CheckURL(%s) = %v, want %v", us[i], got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	if n := p.hosts.len(); n != egressHostCacheMax {
		t.Errorf("cache holds %d hosts, want the cap %d", n, egressHostCacheMax)
	}
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
