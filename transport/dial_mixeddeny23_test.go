package transport_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestSafeDialerDeniedAddressBesideAllowedOne: a name resolving to an
// address the policy denies and to one it allows (a split-horizon record,
// a rebinding attempt, a dual-stack host with a private IPv6 address)
// gets a connection to the allowed one only. Until session 23, when the
// allowed address failed to connect (nothing listening, a timeout) and
// the denied one came first in Go's order (or was of the Happy Eyeballs
// primary family), the dial returned Go's first error: the egress
// denial. The caller then saw ErrEgressDenied, a permanent policy refusal
// (never retried, no breaker failure), for what was a transient connect
// failure of an allowed address. The error is now that connect failure,
// a never-sent dial error (retryable for any method, a breaker failure),
// naming the denied addresses; ErrEgressDenied only when every address
// the name resolved to was denied. The denied address is never connected.
func TestSafeDialerDeniedAddressBesideAllowedOne(t *testing.T) {
	denied, allowed, port := listenPair(t) // 127.0.0.2 and 127.0.0.1
	allowed.Close()                        // refused on 127.0.0.1
	deniedSrv := newConnCounter(t, denied, "denied")

	v4 := func(s ...string) []netip.Addr {
		var out []netip.Addr
		for _, a := range s {
			out = append(out, netip.MustParseAddr(a))
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		a, aaaa    []netip.Addr
		wantDenied bool   // every address denied: ErrEgressDenied
		mention    string // a denied address the error names
	}{
		// Go keeps the DNS order of two IPv4 loopback addresses (RFC
		// 6724 rule 9 is applied to IPv6 only).
		{name: "denied first", a: v4("127.0.0.2", "127.0.0.1"), mention: "127.0.0.2"},
		{name: "allowed first", a: v4("127.0.0.1", "127.0.0.2"), mention: "127.0.0.2"},
		// ::1 sorts before 127.0.0.1 (RFC 6724 precedence): the
		// denied address is the Happy Eyeballs primary.
		{name: "denied primary family", a: v4("127.0.0.1"), aaaa: v4("::1"), mention: "::1"},
		{name: "every address denied", a: v4("127.0.0.2", "127.0.0.3"), wantDenied: true},
		{name: "every address denied, both families", a: v4("127.0.0.2"), aaaa: v4("::1"), wantDenied: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dns := &fakeDNS{
				answer:  func(string, int) []netip.Addr { return tc.a },
				answer6: func(string) []netip.Addr { return tc.aaaa },
			}
			allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
			if tc.wantDenied {
				allow = nil
			}
			sd := safeDialer(t, transport.DialConfig{AllowPrefixes: allow, AnyPort: true, Resolver: dns.resolver()})
			before := deniedSrv.conns.Load()
			c, err := sd.DialContext(context.Background(), "tcp", "mixed.example.test:"+port)
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded, want an error")
			}
			v := transport.Classify(context.Background(), nil, err, time.Now())
			if tc.wantDenied {
				if !errors.Is(err, transport.ErrEgressDenied) || v.Class != transport.ClassPermanent || v.Breaker != transport.BreakerExcluded {
					t.Fatalf("err = %v (verdict %+v), want ErrEgressDenied, permanent, breaker excluded", err, v)
				}
			} else {
				if errors.Is(err, transport.ErrEgressDenied) {
					t.Fatalf("err = %v: an egress denial, want the allowed address's connect error", err)
				}
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Fatalf("err = %v, want ECONNREFUSED", err)
				}
				if _, ok := errors.AsType[*net.OpError](err); !ok {
					t.Fatalf("err = %v (%T), want a *net.OpError dial error", err, err)
				}
				if v.Class != transport.ClassNeverSent || v.Breaker != transport.BreakerFailure {
					t.Fatalf("verdict %+v, want never sent, breaker failure", v)
				}
				if msg := err.Error(); !strings.Contains(msg, tc.mention) || !strings.Contains(msg, "127.0.0.1:"+port) {
					t.Fatalf("err = %q, want it to name the allowed address and the denied %s", msg, tc.mention)
				}
			}
			if n := deniedSrv.conns.Load() - before; n != 0 {
				t.Fatalf("the denied address accepted %d connections", n)
			}
		})
	}

	// The allowed address listening: it is connected whatever comes
	// first.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ok := newConnCounter(t, ln, "ok")
	_, okPort, _ := net.SplitHostPort(ln.Addr().String())
	dns := &fakeDNS{
		answer:  func(string, int) []netip.Addr { return v4("127.0.0.2", "127.0.0.1") },
		answer6: func(string) []netip.Addr { return v4("::1") },
	}
	sd := safeDialer(t, transport.DialConfig{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, AnyPort: true, Resolver: dns.resolver()})
	if body, err := getBody(safeClient(sd), "http://mixed.example.test:"+okPort+"/"); err != nil || body != "ok" {
		t.Fatalf("allowed address listening: %q %v", body, err)
	}
	if ok.conns.Load() != 1 {
		t.Fatalf("allowed server accepted %d connections, want 1", ok.conns.Load())
	}
}

// TestSafeDialerNameTrace: the SafeDialer resolves a name itself (to
// leave its denied addresses out); as net.Dialer, it reports the
// resolution to the caller's httptrace DNSStart and DNSDone, and only the
// connections to the destination to ConnectStart and ConnectDone, not
// the resolver's own to its DNS server.
func TestSafeDialerNameTrace(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newConnCounter(t, ln, "ok")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dnsLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dnsLn.Close() })
	dns := &fakeDNS{answer: func(string, int) []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}
	}}
	go func() {
		for {
			c, err := dnsLn.Accept()
			if err != nil {
				return
			}
			go dns.serve(c)
		}
	}()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", dnsLn.Addr().String())
	}}
	sd := safeDialer(t, transport.DialConfig{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, AnyPort: true, Resolver: r})
	var connects []string
	var dnsStarts, dnsDones int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		DNSStart:     func(httptrace.DNSStartInfo) { dnsStarts++ },
		DNSDone:      func(httptrace.DNSDoneInfo) { dnsDones++ },
		ConnectStart: func(_, addr string) { connects = append(connects, addr) },
	})
	c, err := sd.DialContext(ctx, "tcp", "traced.example.test:"+port)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if want := []string{"127.0.0.1:" + port}; !slices.Equal(connects, want) || dnsStarts != 1 || dnsDones != 1 {
		t.Fatalf("ConnectStart %q, DNSStart %d, DNSDone %d; want %q, 1, 1", connects, dnsStarts, dnsDones, want)
	}
}

// TestSafeDialerDeniedAddressBesideAllowedOneRetried: through the retry
// layer, a POST to such a name whose allowed address refuses the
// connection is retried (never sent) until MaxAttempts, each attempt
// resolving the name again, and fails with the connect error; until
// session 23 it failed at once with ErrEgressDenied.
func TestSafeDialerDeniedAddressBesideAllowedOneRetried(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // refused
	dns := &fakeDNS{answer: func(string, int) []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")}
	}}
	sd := safeDialer(t, transport.DialConfig{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, AnyPort: true, Resolver: dns.resolver()})
	b, err := transport.NewBase(transport.BaseConfig{DialContext: sd.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	rt, err := transport.NewRetry(b, transport.RetryConfig{MaxAttempts: 3, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://mixed.example.test:"+port+"/", strings.NewReader("x"))
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want the connection refused, not ErrEgressDenied", err)
	}
	dns.mu.Lock()
	n := dns.counts["mixed.example.test"]
	dns.mu.Unlock()
	if n != 3 {
		t.Fatalf("the name was resolved %d times, want 3 (one per attempt)", n)
	}
}
