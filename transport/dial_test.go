package transport_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"code.dny.dev/ssrf"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/securecall/securecall/transport"
)

func safeDialer(t *testing.T, cfg transport.DialConfig) *transport.SafeDialer {
	t.Helper()
	sd, err := transport.NewSafeDialer(cfg)
	if err != nil {
		t.Fatalf("NewSafeDialer: %v", err)
	}
	return sd
}

// TestSafeDialerRanges checks one address from every denied range, the
// IPv6 forms of IPv4 addresses, and a few public addresses that must pass.
// Check runs the same rules as the dial-time hook; no packet is sent.
func TestSafeDialerRanges(t *testing.T) {
	sd := safeDialer(t, transport.DialConfig{})
	for _, tc := range []struct {
		addr string
		ok   bool
		why  string
	}{
		// IPv4 special-purpose ranges.
		{"0.0.0.0:443", false, "unspecified / this network"},
		{"0.1.2.3:443", false, "this network 0/8"},
		{"10.0.0.1:443", false, "private 10/8"},
		{"10.255.255.255:443", false, "private 10/8, last"},
		{"100.64.0.1:443", false, "shared address space (CGNAT)"},
		{"127.0.0.1:443", false, "loopback"},
		{"127.255.255.254:443", false, "loopback, end of range"},
		{"169.254.169.254:80", false, "link-local: cloud metadata"},
		{"169.254.170.2:80", false, "link-local: ECS task metadata"},
		{"172.16.0.1:443", false, "private 172.16/12"},
		{"172.31.255.255:443", false, "private 172.16/12, last"},
		{"192.0.0.170:443", false, "IETF protocol assignments (NAT64 discovery)"},
		{"192.0.2.1:443", false, "TEST-NET-1"},
		{"192.88.99.1:443", false, "6to4 relay anycast"},
		{"192.168.1.1:443", false, "private 192.168/16"},
		{"198.18.0.1:443", false, "benchmarking"},
		{"198.51.100.1:443", false, "TEST-NET-2"},
		{"203.0.113.1:443", false, "TEST-NET-3"},
		{"224.0.0.1:443", false, "multicast"},
		{"239.255.255.250:443", false, "multicast (SSDP)"},
		{"240.0.0.1:443", false, "reserved"},
		{"255.255.255.255:443", false, "broadcast"},
		// IPv6.
		{"[::]:443", false, "unspecified"},
		{"[::1]:443", false, "loopback"},
		{"[::ffff:127.0.0.1]:443", false, "IPv4-mapped loopback"},
		{"[::ffff:169.254.169.254]:80", false, "IPv4-mapped metadata"},
		{"[::ffff:8.8.8.8]:443", true, "IPv4-mapped public: Go dials 8.8.8.8 over IPv4"},
		{"[::127.0.0.1]:443", false, "IPv4-compatible (deprecated)"},
		{"[64:ff9b::7f00:1]:443", false, "NAT64 of 127.0.0.1"},
		{"[fe80::1]:443", false, "link-local"},
		{"[fe80::1%25eth0]:443", false, "link-local with zone"},
		{"[fc00::1]:443", false, "unique local"},
		{"[fd00:ec2::254]:80", false, "unique local: AWS metadata"},
		{"[ff02::1]:443", false, "multicast"},
		{"[2001:db8::1]:443", false, "documentation"},
		{"[2001::1]:443", false, "Teredo"},
		{"[2002:7f00:1::]:443", false, "6to4 of 127.0.0.1"},
		{"[100::1]:443", false, "discard-only"},
		// Public addresses pass.
		{"8.8.8.8:443", true, "public IPv4"},
		{"1.1.1.1:80", true, "public IPv4, port 80"},
		{"[2606:4700:4700::1111]:443", true, "public IPv6"},
		// Ports: 80 and 443 only by default.
		{"8.8.8.8:22", false, "port 22"},
		{"8.8.8.8:8443", false, "port 8443"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			addr := strings.Replace(tc.addr, "%25", "%", 1)
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				t.Fatal(err)
			}
			err = sd.Check(ap)
			if tc.ok {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want allowed", ap, err)
				}
				return
			}
			var ae *transport.AddressError
			if !errors.As(err, &ae) || !errors.Is(err, transport.ErrEgressDenied) {
				t.Fatalf("Check(%s) = %v, want *AddressError wrapping ErrEgressDenied", ap, err)
			}
			if !errors.Is(err, ssrf.ErrProhibitedIP) && !errors.Is(err, ssrf.ErrProhibitedPort) {
				t.Fatalf("Check(%s) = %v, want an ssrf sentinel", ap, err)
			}
		})
	}
}

func TestSafeDialerAllowAndDenyPrefixes(t *testing.T) {
	sd := safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00:1::/32")},
		DenyPrefixes:  []netip.Prefix{netip.MustParsePrefix("8.8.4.0/24"), netip.MustParsePrefix("2606:4700::/32")},
		Ports:         []uint16{8443},
	})
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"10.1.2.3:8443", true},
		{"10.2.0.1:8443", false},
		{"[fd00:1::5]:8443", true},
		{"[fd00:2::5]:8443", false},
		{"8.8.4.4:8443", false},
		{"8.8.8.8:8443", true},
		{"[2606:4700::1]:8443", false},
		{"8.8.8.8:443", false},           // Ports replaces the default 80/443
		{"[::ffff:10.1.2.3]:8443", true}, // dialed as 10.1.2.3 over IPv4
		{"[::ffff:10.2.0.1]:8443", false},
	} {
		err := sd.Check(netip.MustParseAddrPort(tc.addr))
		if (err == nil) != tc.ok {
			t.Errorf("Check(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

func TestSafeDialerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg   transport.DialConfig
		field string
	}{
		{transport.DialConfig{Timeout: -1}, "Timeout"},
		{transport.DialConfig{AnyPort: true, Ports: []uint16{443}}, "Ports"},
		{transport.DialConfig{Ports: []uint16{443, 0}}, "Ports[1]"},
		{transport.DialConfig{AllowPrefixes: []netip.Prefix{{}}}, "AllowPrefixes[0]"},
		{transport.DialConfig{DenyPrefixes: []netip.Prefix{{}}}, "DenyPrefixes[0]"},
		{transport.DialConfig{Proxies: []string{"proxy.corp"}}, "Proxies[0]"},
	} {
		_, err := transport.NewSafeDialer(tc.cfg)
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.field {
			t.Errorf("%+v: err = %v, want *ConfigError for %s", tc.cfg, err, tc.field)
		}
	}
}

// connCounter is a test server that counts accepted connections.
type connCounter struct {
	*httptest.Server
	conns atomic.Int64
}

func newConnCounter(t *testing.T, ln net.Listener, body string) *connCounter {
	t.Helper()
	c := &connCounter{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	if ln != nil {
		c.Listener.Close()
		c.Listener = ln
	}
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func safeClient(sd *transport.SafeDialer) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: sd.DialContext, DisableKeepAlives: true}}
}

func getBody(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestSafeDialerRealConnections dials a loopback server through an
// http.Transport: refused by default whatever form the address takes,
// allowed once 127.0.0.1 is explicitly allowed, and refused on a port that
// is not allowed.
func TestSafeDialerRealConnections(t *testing.T) {
	srv := newConnCounter(t, nil, "hello")
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)

	deny := safeClient(safeDialer(t, transport.DialConfig{AnyPort: true}))
	for _, u := range []string{
		"http://127.0.0.1:" + port + "/",
		"http://localhost:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
		"http://[::ffff:7f00:1]:" + port + "/",
		"http://[0:0:0:0:0:ffff:127.0.0.1]:" + port + "/",
	} {
		_, err := getBody(deny, u)
		if !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("%s: err = %v, want ErrEgressDenied", u, err)
			continue
		}
		var ae *transport.AddressError
		if !errors.As(err, &ae) || !strings.Contains(ae.Addr, "127.0.0.1") && !strings.Contains(ae.Addr, "::1") {
			t.Errorf("%s: AddressError = %+v, want the resolved loopback address", u, ae)
		}
	}
	if n := srv.conns.Load(); n != 0 {
		t.Fatalf("server accepted %d connections from a denying dialer", n)
	}

	allow := safeClient(safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Ports:         []uint16{uint16(p)},
	}))
	if body, err := getBody(allow, "http://127.0.0.1:"+port+"/"); err != nil || body != "hello" {
		t.Fatalf("allowed dial: %q, %v", body, err)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("server accepted %d connections, want 1", n)
	}

	wrongPort := safeClient(safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	}))
	if _, err := getBody(wrongPort, "http://127.0.0.1:"+port+"/"); !errors.Is(err, ssrf.ErrProhibitedPort) || !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("port %s not in 80/443: err = %v, want ErrProhibitedPort", port, err)
	}
	if got := transport.ErrorType(fmt.Errorf("wrapped: %w", errors.Join(errors.New("x"), &transport.AddressError{Network: "tcp4", Addr: "127.0.0.1:1", Err: ssrf.ErrProhibitedIP}))); got != transport.ErrorTypeEgressDenied {
		t.Fatalf("ErrorType = %q", got)
	}
}

func TestSafeDialerIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := newConnCounter(t, ln, "six")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	deny := safeClient(safeDialer(t, transport.DialConfig{AnyPort: true}))
	if _, err := getBody(deny, "http://[::1]:"+port+"/"); !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("[::1]: err = %v, want ErrEgressDenied", err)
	}
	if srv.conns.Load() != 0 {
		t.Fatal("IPv6 loopback server got a connection")
	}
	allow := safeClient(safeDialer(t, transport.DialConfig{AnyPort: true, AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("::1/128")}}))
	if body, err := getBody(allow, "http://[::1]:"+port+"/"); err != nil || body != "six" {
		t.Fatalf("allowed [::1]: %q %v", body, err)
	}
}

// fakeDNS is an in-memory DNS server for a net.Resolver (PreferGo, Dial
// returning one end of a net.Pipe, so the resolver speaks the TCP framing).
// answer gives the A records for the n-th A query (0-based) of name.
type fakeDNS struct {
	answer func(name string, n int) []netip.Addr
	// answer6, when set, answers AAAA questions (nil: none).
	answer6 func(name string) []netip.Addr
	mu      sync.Mutex
	counts  map[string]int
}

func (f *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, s := net.Pipe()
		go f.serve(s)
		return c, nil
	}}
}

func (f *fakeDNS) serve(c net.Conn) {
	defer c.Close()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		buf := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(buf); err != nil || len(m.Questions) != 1 {
			return
		}
		q := m.Questions[0]
		resp := dnsmessage.Message{
			Header:    dnsmessage.Header{ID: m.ID, Response: true, RecursionDesired: m.RecursionDesired, RecursionAvailable: true, Authoritative: true},
			Questions: []dnsmessage.Question{q},
		}
		name := strings.TrimSuffix(q.Name.String(), ".")
		if q.Type == dnsmessage.TypeA {
			f.mu.Lock()
			if f.counts == nil {
				f.counts = map[string]int{}
			}
			n := f.counts[name]
			f.counts[name]++
			f.mu.Unlock()
			for _, a := range f.answer(name, n) {
				resp.Answers = append(resp.Answers, dnsmessage.Resource{
					Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 0},
					Body:   &dnsmessage.AResource{A: a.As4()},
				})
			}
		}
		if q.Type == dnsmessage.TypeAAAA && f.answer6 != nil {
			for _, a := range f.answer6(name) {
				resp.Answers = append(resp.Answers, dnsmessage.Resource{
					Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET, TTL: 0},
					Body:   &dnsmessage.AAAAResource{AAAA: a.As16()},
				})
			}
		}
		out, err := resp.Pack()
		if err != nil {
			return
		}
		binary.BigEndian.PutUint16(l[:], uint16(len(out)))
		if _, err := c.Write(append(l[:], out...)); err != nil {
			return
		}
	}
}

// listenPair listens on 127.0.0.2 and on 127.0.0.1 with the same port, so
// that one URL reaches either depending on what its name resolves to.
func listenPair(t *testing.T) (public, private net.Listener, port string) {
	t.Helper()
	for range 20 {
		a, err := net.Listen("tcp4", "127.0.0.2:0")
		if err != nil {
			t.Skipf("cannot listen on 127.0.0.2: %v", err)
		}
		_, port, _ = net.SplitHostPort(a.Addr().String())
		b, err := net.Listen("tcp4", "127.0.0.1:"+port)
		if err == nil {
			return a, b, port
		}
		a.Close()
	}
	t.Fatal("no free port pair on 127.0.0.1 and 127.0.0.2")
	return nil, nil, ""
}

// TestSafeDialerDNSRebinding: the name answers an allowed address first
// (so any check made on an earlier resolution passes) and a private one
// next. The check at connect time sees the private address and refuses
// it; the internal server never gets a connection.
func TestSafeDialerDNSRebinding(t *testing.T) {
	pubLn, privLn, port := listenPair(t)
	public := newConnCounter(t, pubLn, "public")
	internal := newConnCounter(t, privLn, "internal secrets")

	dns := &fakeDNS{answer: func(name string, n int) []netip.Addr {
		if name != "rebind.example.test" {
			return nil
		}
		if n == 0 {
			return []netip.Addr{netip.MustParseAddr("127.0.0.2")}
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}}
	res := dns.resolver()
	p, _ := strconv.Atoi(port)
	// 127.0.0.2 stands in for a public address: it is the only one allowed.
	sd := safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Ports:         []uint16{uint16(p)},
		Resolver:      res,
	})

	// An earlier check (what a validate-then-fetch design does) sees the
	// allowed address...
	addrs, err := res.LookupNetIP(context.Background(), "ip4", "rebind.example.test")
	if err != nil || len(addrs) != 1 {
		t.Fatalf("lookup: %v %v", addrs, err)
	}
	if err := sd.Check(netip.AddrPortFrom(addrs[0], uint16(p))); err != nil {
		t.Fatalf("first resolution %v should pass the check: %v", addrs[0], err)
	}
	// ...but the connection resolves again and gets the private one.
	c := safeClient(sd)
	_, err = getBody(c, "http://rebind.example.test:"+port+"/")
	if !errors.Is(err, transport.ErrEgressDenied) || !errors.Is(err, ssrf.ErrProhibitedIP) {
		t.Fatalf("rebound dial: err = %v, want ErrEgressDenied", err)
	}
	if n := internal.conns.Load(); n != 0 {
		t.Fatalf("internal server accepted %d connections", n)
	}
	if n := public.conns.Load(); n != 0 {
		t.Fatalf("public server accepted %d connections", n)
	}

	// The reverse order: a name that resolves to the allowed address at
	// connect time works.
	dns2 := &fakeDNS{answer: func(name string, n int) []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("127.0.0.2")}
	}}
	sd2 := safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Ports:         []uint16{uint16(p)},
		Resolver:      dns2.resolver(),
	})
	if body, err := getBody(safeClient(sd2), "http://stable.example.test:"+port+"/"); err != nil || body != "public" {
		t.Fatalf("stable name: %q %v", body, err)
	}
}

// TestSafeDialerMixedAnswers: a name with one allowed and one denied
// address never gets a connection to the denied one.
func TestSafeDialerMixedAnswers(t *testing.T) {
	pubLn, privLn, port := listenPair(t)
	public := newConnCounter(t, pubLn, "public")
	internal := newConnCounter(t, privLn, "internal")
	dns := &fakeDNS{answer: func(string, int) []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}
	}}
	p, _ := strconv.Atoi(port)
	sd := safeDialer(t, transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		Ports:         []uint16{uint16(p)},
		Resolver:      dns.resolver(),
	})
	c := safeClient(sd)
	for range 3 {
		if body, err := getBody(c, "http://mixed.example.test:"+port+"/"); err != nil || body != "public" {
			t.Fatalf("mixed answers: %q %v", body, err)
		}
	}
	if internal.conns.Load() != 0 || public.conns.Load() != 3 {
		t.Fatalf("connections: internal %d public %d, want 0 and 3", internal.conns.Load(), public.conns.Load())
	}
}

// TestSafeDialerNumericHostForms: hosts that some resolvers turn into
// 127.0.0.1 (decimal, hex, short forms) are refused, because what is
// checked is the address the resolver produced.
func TestSafeDialerNumericHostForms(t *testing.T) {
	srv := newConnCounter(t, nil, "x")
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := &fakeDNS{answer: func(string, int) []netip.Addr { return []netip.Addr{netip.MustParseAddr("127.0.0.1")} }}
	c := safeClient(safeDialer(t, transport.DialConfig{AnyPort: true, Resolver: dns.resolver()}))
	for _, h := range []string{"0x7f000001", "localtest.me", "evil.example.test"} {
		if _, err := getBody(c, "http://"+h+":"+port+"/"); !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("%s: err = %v, want ErrEgressDenied", h, err)
		}
	}
	// Go's resolver does not even look up all-numeric names that are not
	// IP addresses; either way there is no connection.
	for _, h := range []string{"2130706433", "127.1", "0177.0.0.1"} {
		_, err := getBody(c, "http://"+h+":"+port+"/")
		var dnsErr *net.DNSError
		if !errors.Is(err, transport.ErrEgressDenied) && !errors.As(err, &dnsErr) {
			t.Errorf("%s: err = %v, want ErrEgressDenied or a DNS error", h, err)
		}
	}
	if srv.conns.Load() != 0 {
		t.Fatal("loopback server got a connection")
	}
}

// TestSafeDialerProxy: a proxy hides the destination. A listed proxy is
// dialed (it is on a private address, here loopback); an unlisted one on a
// private address is refused like any other destination.
func TestSafeDialerProxy(t *testing.T) {
	var seen atomic.Value
	proxy := newConnCounter(t, nil, "")
	proxy.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.URL.String()) // a forward proxy gets the absolute URL
		io.WriteString(w, "via proxy")
	})
	pu := mustURL(t, proxy.URL)
	tr := func(sd *transport.SafeDialer) *http.Client {
		return &http.Client{Transport: &http.Transport{DialContext: sd.DialContext, Proxy: http.ProxyURL(pu), DisableKeepAlives: true}}
	}
	listed := tr(safeDialer(t, transport.DialConfig{Proxies: []string{pu.Host}}))
	body, err := getBody(listed, "http://api.example.test/v1/x")
	if err != nil || body != "via proxy" {
		t.Fatalf("through listed proxy: %q %v", body, err)
	}
	if got, _ := seen.Load().(string); got != "http://api.example.test/v1/x" {
		t.Fatalf("proxy saw %q", got)
	}
	unlisted := tr(safeDialer(t, transport.DialConfig{AnyPort: true, Proxies: []string{"proxy.corp.example:3128"}}))
	if _, err := getBody(unlisted, "http://api.example.test/v1/x"); !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("through unlisted loopback proxy: err = %v, want ErrEgressDenied", err)
	}
	if proxy.conns.Load() != 1 {
		t.Fatalf("proxy connections = %d, want 1", proxy.conns.Load())
	}
}

// TestSafeDialerWithBase plugs the dialer into the hardened base
// transport through BaseConfig.DialContext.
func TestSafeDialerWithBase(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tls") }))
	defer srv.Close()
	base, err := transport.NewBase(transport.BaseConfig{
		TLSConfig:   srv.Client().Transport.(*http.Transport).TLSClientConfig,
		DialContext: safeDialer(t, transport.DialConfig{AnyPort: true}).DialContext,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer base.CloseIdleConnections()
	if _, err := getBody(&http.Client{Transport: base}, srv.URL); !errors.Is(err, transport.ErrEgressDenied) {
		t.Fatalf("base with safe dialer to loopback: err = %v, want ErrEgressDenied", err)
	}
}

// TestSafeDialerProxyTrailingDot: a listed proxy is the same proxy whether
// the list or the proxy URL writes its name with a trailing dot, as the
// rest of the package treats "name." and "name" as one host (HostKey,
// OriginOf); only one dot is ignored, so "name.." stays another host.
func TestSafeDialerProxyTrailingDot(t *testing.T) {
	proxy := newConnCounter(t, nil, "")
	proxy.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "via proxy")
	})
	_, port, _ := net.SplitHostPort(proxy.Listener.Addr().String())
	dns := &fakeDNS{answer: func(name string, _ int) []netip.Addr {
		if strings.EqualFold(name, "proxy.test") {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
		}
		return nil
	}}
	client := func(listed, proxyHost string) *http.Client {
		sd := safeDialer(t, transport.DialConfig{AnyPort: true, Resolver: dns.resolver(), Proxies: []string{listed + ":" + port}})
		pu := &url.URL{Scheme: "http", Host: proxyHost + ":" + port}
		return &http.Client{Transport: &http.Transport{DialContext: sd.DialContext, Proxy: http.ProxyURL(pu), DisableKeepAlives: true}}
	}
	for _, c := range []struct{ listed, used string }{
		{"proxy.test", "proxy.test"},
		{"proxy.test", "proxy.test."},
		{"Proxy.Test.", "proxy.test"},
		{"proxy.test.", "PROXY.TEST."},
	} {
		if body, err := getBody(client(c.listed, c.used), "http://api.example.test/v1/x"); err != nil || body != "via proxy" {
			t.Errorf("proxy %q listed as %q: %q %v", c.used, c.listed, body, err)
		}
	}
	if n := proxy.conns.Load(); n != 4 {
		t.Fatalf("proxy connections = %d, want 4", n)
	}
	// Not the listed proxy: refused (or not resolvable), never dialed.
	for _, c := range []struct{ listed, used string }{
		{"proxy.test", "proxy.test.."},
		{"proxy.test..", "proxy.test"},
		{"proxy.test..", "proxy.test."},
	} {
		if _, err := getBody(client(c.listed, c.used), "http://api.example.test/v1/x"); err == nil {
			t.Errorf("proxy %q listed as %q: no error", c.used, c.listed)
		}
	}
	if n := proxy.conns.Load(); n != 4 {
		t.Fatalf("proxy connections = %d, want 4", n)
	}
	if _, err := transport.NewSafeDialer(transport.DialConfig{Proxies: []string{".:3128"}}); err == nil {
		t.Error(`Proxies ".:3128": no error`)
	}
}
