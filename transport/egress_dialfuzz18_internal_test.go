package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/idna"

	"github.com/securecall/securecall/internal/ascii"
)

// The property FuzzEgressDialedAddress checks: whatever the URL host (and
// Host header) of a request, when the egress layer and the SSRF-safe
// dialer let it through, the address Go's dialer is about to connect to
// (net/http's own parsing of the URL, Go's resolver, here answered by an
// in-process DNS stub) is one the allowlist allows for that scheme and
// port and the dialer's deny list does not deny, and the Host header
// net/http would send names an allowed host. The stack is the one
// client.New builds (egress layer over the base transport, the dialer
// configured from DialAllowances as client.dialConfig does); the dial is
// stopped in the dialer's Control hook once the dialer's own check has
// passed, so nothing is connected.

// fuzzPolicy is one configuration of the egress allowlist and the dialer.
type fuzzPolicy struct {
	allow     []string
	allowHTTP bool
	networks  []netip.Prefix
}

var fuzzPolicies = []fuzzPolicy{
	{
		allow: []string{
			"api.example.com", "*.svc.example.com:*", "https://10.0.0.5:8443",
			"[::ffff:10.1.2.3]", "http://127.0.0.1:8080", "[fd00::5]",
			"bücher.example", "http://localhost:8081", "[2001:db8::7]:9443",
		},
		allowHTTP: true,
		networks: []netip.Prefix{
			netip.MustParsePrefix("192.168.0.0/16"),
			netip.MustParsePrefix("169.254.0.0/16"),
			netip.MustParsePrefix("100.64.0.0/10"),
		},
	},
	{
		allow:    []string{"api.example.com", "*.svc.example.com", "10.0.0.5", "[::ffff:10.1.2.3]:8443"},
		networks: []netip.Prefix{netip.MustParsePrefix("64:ff9b::/96")},
	},
	{}, // no allowlist: any https host, the dialer alone checks addresses
	{
		allow:     nil,
		allowHTTP: true,
		networks:  []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("fe80::/10")},
	},
	{
		// The ranges whose addresses embed IPv4 ones opened: 6to4,
		// Teredo and IPv4-compatible, with a private IPv4 range the
		// embedded address may fall in.
		networks: []netip.Prefix{
			netip.MustParsePrefix("2002::/16"), netip.MustParsePrefix("2001::/32"),
			netip.MustParsePrefix("::/96"), netip.MustParsePrefix("10.0.0.0/8"),
		},
	},
	{
		// IPv6 broadly, and the metadata address named exactly: an
		// embedded 169.254.169.254 is dialed, no other embedded
		// special-purpose address.
		networks: []netip.Prefix{
			netip.MustParsePrefix("::/0"), netip.MustParsePrefix("169.254.169.254/32"),
		},
	},
}

// fuzzDNS is the stub zone: names not listed below svc.example.com
// resolve to an address of fuzzPool chosen by the name's hash (the
// attacker's DNS answers as it likes); other names do not exist.
var fuzzDNS = map[string][]netip.Addr{
	"api.example.com.":        {netip.MustParseAddr("93.184.216.34")},
	"xn--bcher-kva.example.":  {netip.MustParseAddr("93.184.216.35")},
	"a.svc.example.com.":      {netip.MustParseAddr("10.0.0.5")},
	"meta.svc.example.com.":   {netip.MustParseAddr("169.254.169.254")},
	"lo.svc.example.com.":     {netip.MustParseAddr("127.0.0.1")},
	"mapped.svc.example.com.": {netip.MustParseAddr("::ffff:169.254.169.254")},
	"nat.svc.example.com.":    {netip.MustParseAddr("64:ff9b::a9fe:a9fe")},
	"nat8.svc.example.com.":   {netip.MustParseAddr("64:ff9b::808:808")},
	"6to4.svc.example.com.":   {netip.MustParseAddr("2002:a9fe:a9fe::1")},
	"6to4p.svc.example.com.":  {netip.MustParseAddr("2002:808:808::1")},
	"teredo.svc.example.com.": {netip.MustParseAddr("2001:0:808:808::f5ff:fffa")},
	"compat.svc.example.com.": {netip.MustParseAddr("::a9fe:a9fe")},
	"evil.example.":           {netip.MustParseAddr("127.0.0.1")},
	"127.1.":                  {netip.MustParseAddr("127.0.0.1")},
}

var fuzzPool = []netip.Addr{
	netip.MustParseAddr("93.184.216.34"),
	netip.MustParseAddr("10.0.0.5"),
	netip.MustParseAddr("10.0.0.6"),
	netip.MustParseAddr("127.0.0.1"),
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("169.254.1.1"),
	netip.MustParseAddr("192.168.1.1"),
	netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("168.63.129.16"),
	netip.MustParseAddr("::1"),
	netip.MustParseAddr("::ffff:127.0.0.1"),
	netip.MustParseAddr("::ffff:10.1.2.3"),
	netip.MustParseAddr("64:ff9b::7f00:1"),
	netip.MustParseAddr("64:ff9b::808:808"),
	netip.MustParseAddr("2002:7f00:1::"),
	netip.MustParseAddr("fd00::5"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("2606:4700::1111"),
	netip.MustParseAddr("::127.0.0.1"),
	netip.MustParseAddr("0.0.0.0"),
	netip.MustParseAddr("2002:a00:5::"),
	netip.MustParseAddr("2002:a9fe:a9fe::"),
	netip.MustParseAddr("2001:0:808:808::a247:27dd"),
	netip.MustParseAddr("2001:0:a9fe:a9fe::a247:27dd"),
	netip.MustParseAddr("::808:808"),
	netip.MustParseAddr("::a00:5"),
}

func fuzzLookup(name string) []netip.Addr {
	name = strings.ToLower(name)
	if a, ok := fuzzDNS[name]; ok {
		return a
	}
	if strings.HasSuffix(name, ".svc.example.com.") {
		h := fnv.New32a()
		h.Write([]byte(name))
		return []netip.Addr{fuzzPool[h.Sum32()%uint32(len(fuzzPool))]}
	}
	return nil
}

// fuzzResolver answers every query from fuzzLookup over an in-memory
// stream (Go's resolver speaks DNS over TCP framing to a Conn that is no
// PacketConn), never the network.
func fuzzResolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, s := net.Pipe()
		go serveFuzzDNS(s)
		return c, nil
	}}
}

func serveFuzzDNS(c net.Conn) {
	defer c.Close()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(msg)
		if err != nil {
			return
		}
		q, err := p.Question()
		if err != nil {
			return
		}
		addrs := fuzzLookup(q.Name.String())
		rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true}
		if addrs == nil {
			rh.RCode = dnsmessage.RCodeNameError
		}
		b := dnsmessage.NewBuilder(make([]byte, 2, 512), rh)
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 1}
		for _, a := range addrs {
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				_ = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
			case q.Type == dnsmessage.TypeAAAA && !a.Is4():
				_ = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
		out, err := b.Finish()
		if err != nil {
			return
		}
		binary.BigEndian.PutUint16(out, uint16(len(out)-2))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// errFuzzStop stops a dial the dialer's check let through.
var errFuzzStop = errors.New("fuzz: dial stopped after the check")

type fuzzDial struct {
	mu      sync.Mutex
	dialed  []string // addresses net/http handed the dialer ("host:port")
	control []string // addresses the socket was about to connect ("ip:port")
}

// fuzzStack builds the stack client.New builds for policy fp: the egress
// layer over the base transport, whose dialer is configured as
// client.dialConfig configures it (AddDialAllowances), its resolver the stub and its dials
// recorded and stopped.
func fuzzStack(t *testing.T, fp fuzzPolicy) (http.RoundTripper, *fuzzDial, *EgressPolicy, DialConfig) {
	t.Helper()
	p, err := NewEgressPolicy(EgressConfig{Allow: fp.allow, AllowHTTP: fp.allowHTTP})
	if err != nil {
		t.Fatal(err)
	}
	dc := p.AddDialAllowances(DialConfig{AllowPrefixes: slices.Clone(fp.networks), Resolver: fuzzResolver(), Timeout: 5 * time.Second}, nil, nil)
	sd, err := NewSafeDialer(dc)
	if err != nil {
		t.Fatal(err)
	}
	rec := &fuzzDial{}
	stop := func(check func(string, string, syscall.RawConn) error) func(string, string, syscall.RawConn) error {
		return func(network, address string, c syscall.RawConn) error {
			if err := check(network, address, c); err != nil {
				return err
			}
			rec.mu.Lock()
			rec.control = append(rec.control, address)
			rec.mu.Unlock()
			return errFuzzStop
		}
	}
	// Names, and the IP literals of AllowLiterals (dialed as written).
	sd.d.Control = stop(sd.control)
	sd.lit.Control = stop(sd.controlLiteral)
	b, err := NewBase(BaseConfig{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		rec.mu.Lock()
		rec.dialed = append(rec.dialed, addr)
		rec.mu.Unlock()
		return sd.DialContext(ctx, network, addr)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	return NewEgressWithPolicy(b, p), rec, p, dc
}

// refDenied is the reference deny list: the IANA special-purpose ranges
// and the Azure WireServer.
var refDeniedV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("168.63.129.16/32"),
}

var refDeniedV6 = []netip.Prefix{
	netip.MustParsePrefix("2001::/23"), netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"), netip.MustParsePrefix("3fff::/20"),
}

var refMetadata = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("fd20:ce::254"), netip.MustParseAddr("fd00:c1::a9fe:a9fe"),
	netip.MustParseAddr("169.254.170.2"), netip.MustParseAddr("169.254.170.23"),
	netip.MustParseAddr("fd00:ec2::23"), netip.MustParseAddr("100.100.100.200"),
	netip.MustParseAddr("168.63.129.16"), netip.MustParseAddr("169.254.42.42"),
	netip.MustParseAddr("fd00:42::42"), netip.MustParseAddr("169.254.0.23"),
	netip.MustParseAddr("fd00:a9fe:a9fe::1"), netip.MustParseAddr("192.0.0.192"),
}

// refEmbeddedIPv4 returns the IPv4 addresses the IPv6 address a (no
// zone, not IPv4-mapped) embeds, decoded here from the RFCs, not by the
// dialer's code: the NAT64 well-known prefix 64:ff9b::/96 (RFC 6052 §2.1:
// the last 32 bits), 6to4 2002::/16 (RFC 3056 §2: bits 16-47, the site's
// router), the deprecated IPv4-compatible ::/96 (RFC 4291 §2.5.5.1: the
// last 32 bits; ::/104, whose 0.0.0.0/8 names no remote host, :: and ::1
// among them, embeds none) and Teredo 2001::/32 (RFC 4380 §4: the
// server's address in bits 32-63, and the client's in the last 32 bits,
// each bit inverted; a relay sends to both).
func refEmbeddedIPv4(a netip.Addr) []netip.Addr {
	if !a.Is6() {
		return nil
	}
	hex := a.StringExpanded() // 8 groups of 4 hex digits
	groups := strings.Split(hex, ":")
	v4 := func(hi, lo string, invert bool) netip.Addr {
		x, _ := strconv.ParseUint(hi+lo, 16, 32)
		if invert {
			x = ^x & 0xffffffff
		}
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	zero := func(gs []string) bool {
		for _, g := range gs {
			if g != "0000" {
				return false
			}
		}
		return true
	}
	switch {
	case groups[0] == "0064" && groups[1] == "ff9b" && zero(groups[2:6]):
		return []netip.Addr{v4(groups[6], groups[7], false)}
	case groups[0] == "2002":
		return []netip.Addr{v4(groups[1], groups[2], false)}
	case groups[0] == "2001" && groups[1] == "0000":
		return []netip.Addr{v4(groups[2], groups[3], false), v4(groups[6], groups[7], true)}
	case zero(groups[:6]) && groups[6][:2] != "00":
		return []netip.Addr{v4(groups[6], groups[7], false)}
	}
	return nil
}

// refAllow returns the prefixes the reference allows a dial of a: the
// dialer's AllowPrefixes, and a itself when the dial names a as an IP
// literal (literal) that AllowLiterals lists (an IPv4-mapped one as its
// IPv4 address, a zone ignored). A name resolving to such an address is
// allowed no more than any name.
func refAllow(dc DialConfig, a netip.Addr, literal bool) []netip.Prefix {
	u := a.WithZone("").Unmap()
	if !literal {
		return dc.AllowPrefixes
	}
	for _, l := range dc.AllowLiterals {
		if l.WithZone("").Unmap() == u {
			return append(slices.Clip(dc.AllowPrefixes), netip.PrefixFrom(u, u.BitLen()))
		}
	}
	return dc.AllowPrefixes
}

// refAddrOK reports whether the reference lets the dialer connect to a
// (its zone ignored) with the dialer's allowed prefixes.
func refAddrOK(a netip.Addr, allow []netip.Prefix) bool {
	a = a.WithZone("").Unmap()
	allowed, named := false, false
	for _, p := range allow {
		if p.Addr().Is4() != a.Is4() {
			continue
		}
		if p.Contains(a) {
			allowed = true
			named = named || p.Bits() == a.BitLen()
		}
	}
	if slices.Contains(refMetadata, a) && !named {
		return false
	}
	if allowed {
		// An allowed IPv6 address that embeds IPv4 ones is dialed only
		// when each of them is.
		for _, v4 := range refEmbeddedIPv4(a) {
			if !refAddrOK(v4, allow) {
				return false
			}
		}
		return true
	}
	if a.Is4() {
		for _, p := range refDeniedV4 {
			if p.Contains(a) {
				return false
			}
		}
		return true
	}
	if !netip.MustParsePrefix("2000::/3").Contains(a) {
		return false
	}
	for _, p := range refDeniedV6 {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// refHostOK reports whether the reference allowlist lets scheme://host:port
// through: host as net/http dials or sends it (no brackets).
func refHostOK(fp fuzzPolicy, scheme, host string, port int) bool {
	if scheme != "https" && !(scheme == "http" && fp.allowHTTP) {
		return false
	}
	if len(fp.allow) == 0 {
		return true
	}
	var addr netip.Addr
	isAddr := false
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return false
		}
		addr, isAddr = a.Unmap(), true
	} else {
		host = strings.ToLower(strings.TrimSuffix(host, "."))
	}
	for _, e := range fp.allow {
		es, rest, ok := strings.Cut(e, "://")
		if !ok {
			es, rest = "", e
		}
		eh, ep := rest, ""
		if strings.HasPrefix(rest, "[") {
			i := strings.IndexByte(rest, ']')
			eh, ep = rest[1:i], strings.TrimPrefix(rest[i+1:], ":")
		} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			eh, ep = rest[:i], rest[i+1:]
		}
		if es != "" && es != scheme {
			continue
		}
		switch ep {
		case "*":
		case "":
			if !(scheme == "https" && port == 443 || scheme == "http" && port == 80) {
				continue
			}
		default:
			if strconv.Itoa(port) != ep {
				continue
			}
		}
		if ea, err := netip.ParseAddr(eh); err == nil {
			if isAddr && ea.Unmap() == addr {
				return true
			}
			continue
		}
		if isAddr {
			continue
		}
		if eh == "bücher.example" {
			eh = "xn--bcher-kva.example"
		}
		if d, ok := strings.CutPrefix(eh, "*"); ok {
			if len(host) > len(d) && strings.HasSuffix(host, d) {
				return true
			}
		} else if host == eh {
			return true
		}
	}
	return false
}

// sentHost returns the host the base transport writes in the Host header
// of req (a non-ASCII host in idna.Lookup's form, as the base converts it,
// then Request.write: Host over URL.Host, punycode, no zone), and whether
// it would send one at all.
func sentHost(req *http.Request) (string, bool) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if isASCII(host) || strings.HasPrefix(host, "[") {
		// as written
	} else if hh, port, err := net.SplitHostPort(host); err == nil {
		if a, err := idna.Lookup.ToASCII(hh); err == nil {
			host = a + ":" + port
		}
	} else if a, err := idna.Lookup.ToASCII(host); err == nil {
		host = a
	}
	h, err := httpguts.PunycodeHostPort(host)
	if err != nil {
		return "", false
	}
	if i := strings.IndexByte(h, '%'); strings.HasPrefix(h, "[") && i >= 0 {
		if j := strings.LastIndexByte(h[i:], ']'); j >= 0 {
			h = h[:i] + h[i+j:]
		}
	}
	if !httpguts.ValidHostHeader(h) {
		return "", false
	}
	return h, true
}

func FuzzEgressDialedAddress(f *testing.F) {
	seeds := []struct {
		policy    uint8
		https     bool
		handBuilt bool
		authority string
		host      string
	}{
		{0, true, false, "api.example.com", ""},
		{0, true, false, "API.Example.COM.", ""},
		{0, true, false, "api.example.com:0443", ""},
		{0, true, false, "api.example.com:", ""},
		{0, true, false, "api.example.com:0", ""},
		{0, true, false, "api.example.com:65536", ""},
		{0, true, false, "api.example.com:443", "evil.example"},
		{0, true, false, "api.example.com", "api.example.com:8443"},
		{0, true, false, "u:p@api.example.com", ""},
		{0, true, false, "api.example.com@169.254.169.254", ""},
		{0, true, false, "a.svc.example.com:9000", ""},
		{0, true, false, "meta.svc.example.com", ""},
		{0, true, false, "mapped.svc.example.com", ""},
		{0, true, false, "nat.svc.example.com", ""},
		{0, true, false, "lo.svc.example.com:8080", ""},
		{0, true, false, "10.0.0.5:8443", ""},
		{0, true, false, "10.0.0.5:08443", ""},
		{0, true, false, "[::ffff:10.0.0.5]:8443", ""},
		{0, true, false, "[::ffff:a00:5]:8443", ""},
		{0, true, false, "[::10.0.0.5]:8443", ""},
		{0, true, false, "[64:ff9b::a00:5]:8443", ""},
		{0, true, false, "167772165:8443", ""},
		{0, true, false, "0xa.0.0.5:8443", ""},
		{0, true, false, "012.0.0.5:8443", ""},
		{0, true, false, "10.5:8443", ""},
		{0, true, false, "10.1.2.3", ""},
		{0, true, false, "[::ffff:10.1.2.3]", ""},
		{0, true, false, "[::ffff:10.1.2.3%25lo]", ""},
		{0, true, false, "[fd00::5]", ""},
		{0, true, false, "[fd00::5%25lo]", ""},
		{0, true, false, "[FD00:0::5]:443", ""},
		{0, true, false, "[2001:db8::7]:9443", ""},
		{0, false, false, "127.0.0.1:8080", ""},
		{0, false, false, "127.1:8080", ""},
		{0, false, false, "2130706433:8080", ""},
		{0, false, false, "0x7f.0.0.1:8080", ""},
		{0, false, false, "0177.0.0.1:8080", ""},
		{0, false, false, "127.0.0.1.:8080", ""},
		{0, false, false, "[::ffff:127.0.0.1]:8080", ""},
		{0, false, false, "[::1]:8080", ""},
		{0, false, false, "localhost:8081", ""},
		{0, false, false, "LOCALHOST.:8081", ""},
		{0, false, false, "localhost:8081", "evil.example:8081"},
		{0, false, false, "127.0.0.1:8080", "[::1]:8080"},
		{0, true, false, "b%C3%BCcher.example", ""},
		{0, true, false, "bücher.example", ""},
		{0, true, false, "BÜCHER.example", ""},
		{0, true, false, "xn--bcher-kva.example", ""},
		{0, true, false, "bücher.example", "bücher.example"},
		{0, true, false, "x.svc.example.com%2f@evil", ""},
		{0, true, true, "[api.example.com]", ""},
		{0, true, true, "api.example.com\x00.evil", ""},
		{0, true, true, "169.254.169.254", ""},
		{1, true, false, "nat8.svc.example.com", ""},
		{1, true, false, "nat.svc.example.com", ""},
		{1, true, false, "[64:ff9b::a9fe:a9fe]", ""},
		{1, true, false, "[64:ff9b::808:808]", ""},
		{1, true, false, "[::ffff:10.1.2.3]:8443", ""},
		{1, true, false, "10.1.2.3:8443", ""},
		{1, true, false, "10.0.0.5", ""},
		{1, true, false, "a.svc.example.com:8443", ""},
		{2, true, false, "169.254.169.254", ""},
		{2, true, false, "[::ffff:169.254.169.254]", ""},
		{2, true, false, "[::ffff:a9fe:a9fe%25eth0]", ""},
		{2, true, false, "[fe80::1%25eth0]", ""},
		{2, true, false, "[64:ff9b::a9fe:a9fe]", ""},
		{2, true, false, "[2002:a9fe:a9fe::]", ""},
		{2, true, false, "[2606:4700::1111]", ""},
		{2, true, false, "[2606:4700::1111]:8443", ""},
		{2, true, false, "localhost", ""},
		{2, true, false, "evil.example", ""},
		{2, true, false, "mapped.svc.example.com", ""},
		{3, false, false, "[fd00:ec2::254]", ""},
		{3, false, false, "[fd00::1]", ""},
		{3, false, false, "127.0.0.1", ""},
		{3, false, false, "[::ffff:7f00:1]", ""},
		{3, false, false, "[::1]", ""},
		{3, false, false, "localhost", ""},
		{3, false, false, "[fe80::1%25eth0]", ""},
		{3, false, false, "[fd00::1%25eth0]", ""},
		{3, false, false, "[fd00:ec2::254%25eth0]", ""},
		{3, false, false, "[::ffff:127.0.0.1%25lo]", ""},
		{4, true, false, "[2002:a00:5::]", ""},
		{4, true, false, "[2002:808:808::1]", ""},
		{4, true, false, "[2002:a9fe:a9fe::]", ""},
		{4, true, false, "[2002:7f00:1::]", ""},
		{4, true, false, "[2002:c0a8:101::]", ""},
		{4, true, false, "[2001:0:808:808::a247:27dd]", ""},
		{4, true, false, "[2001:0:808:808::f5ff:fffa]", ""},
		{4, true, false, "[2001:0:a9fe:a9fe::a247:27dd]", ""},
		{4, true, false, "[2001:0:808:808::5601:5601]", ""},
		{4, true, false, "[2001:0:7f00:1::a247:27dd]", ""},
		{4, true, false, "[::808:808]", ""},
		{4, true, false, "[::a00:5]", ""},
		{4, true, false, "[::a9fe:a9fe]", ""},
		{4, true, false, "[::7f00:1]", ""},
		{4, true, false, "[::1]", ""},
		{4, true, false, "[::ff:ffff]", ""},
		{4, true, false, "[64:ff9b::a9fe:a9fe]", ""},
		{4, true, false, "[64:ff9b::808:808]", ""},
		{4, true, false, "[2606:4700::1111]", ""},
		{4, true, false, "6to4.svc.example.com", ""},
		{4, true, false, "6to4p.svc.example.com", ""},
		{4, true, false, "teredo.svc.example.com", ""},
		{4, true, false, "compat.svc.example.com", ""},
		{5, true, false, "[2002:a00:5::]", ""},
		{5, true, false, "[2002:808:808::1]", ""},
		{5, true, false, "[2002:a9fe:a9fe::]", ""},
		{5, true, false, "[2002:7f00:1::]", ""},
		{5, true, false, "[2002:c0a8:101::]", ""},
		{5, true, false, "[2001:0:808:808::a247:27dd]", ""},
		{5, true, false, "[2001:0:808:808::f5ff:fffa]", ""},
		{5, true, false, "[2001:0:a9fe:a9fe::a247:27dd]", ""},
		{5, true, false, "[2001:0:808:808::5601:5601]", ""},
		{5, true, false, "[2001:0:7f00:1::a247:27dd]", ""},
		{5, true, false, "[::808:808]", ""},
		{5, true, false, "[::a00:5]", ""},
		{5, true, false, "[::a9fe:a9fe]", ""},
		{5, true, false, "[::7f00:1]", ""},
		{5, true, false, "[::1]", ""},
		{5, true, false, "[::ff:ffff]", ""},
		{5, true, false, "[64:ff9b::a9fe:a9fe]", ""},
		{5, true, false, "[64:ff9b::808:808]", ""},
		{5, true, false, "[2606:4700::1111]", ""},
		{5, true, false, "6to4.svc.example.com", ""},
		{5, true, false, "6to4p.svc.example.com", ""},
		{5, true, false, "teredo.svc.example.com", ""},
		{5, true, false, "compat.svc.example.com", ""},
	}
	// A zone holding a bracket, which random exploration found the
	// reference allowing where the layer refuses it (an invalid host).
	for _, hb := range []bool{false, true} {
		f.Add(uint8(4), true, hb, "[2000::%25]]", "")
		f.Add(uint8(4), true, hb, "[2000::%]]", "")
	}
	for _, s := range seeds {
		f.Add(s.policy, s.https, s.handBuilt, s.authority, s.host)
	}
	stacks := make([]struct {
		once sync.Once
		rt   http.RoundTripper
		rec  *fuzzDial
		dc   DialConfig
	}, len(fuzzPolicies))
	f.Fuzz(func(t *testing.T, policy uint8, https, handBuilt bool, authority, host string) {
		pi := int(policy) % len(fuzzPolicies)
		fp := fuzzPolicies[pi]
		st := &stacks[pi]
		st.once.Do(func() { st.rt, st.rec, _, st.dc = fuzzStack(t, fp) })
		scheme := "http"
		if https {
			scheme = "https"
		}
		var u *url.URL
		if handBuilt {
			u = &url.URL{Scheme: scheme, Host: authority, Path: "/"}
		} else {
			var err error
			if u, err = url.Parse(scheme + "://" + authority + "/"); err != nil {
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := (&http.Request{Method: http.MethodGet, URL: u, Host: host, Header: http.Header{}}).WithContext(ctx)
		rec := st.rec
		rec.mu.Lock()
		rec.dialed, rec.control = nil, nil
		rec.mu.Unlock()
		resp, err := st.rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
			t.Fatalf("%s://%q Host %q: got a response", scheme, authority, host)
		}
		rec.mu.Lock()
		dialed, control := slices.Clone(rec.dialed), slices.Clone(rec.control)
		rec.mu.Unlock()
		if len(control) == 0 {
			// Refused (by the egress layer, net/http or the dialer): an
			// IP literal the reference allows must not be.
			if a, ok := fuzzAllowedLiteral(fp, st.dc, scheme, u, host); ok {
				t.Errorf("%s://%q Host %q: %v allowed by the reference, refused: %v", scheme, authority, host, a, err)
			}
			return
		}
		if !errors.Is(err, errFuzzStop) {
			t.Fatalf("%s://%q Host %q: connect to %v, error %v", scheme, authority, host, control, err)
		}
		for _, c := range control {
			ap, perr := netip.ParseAddrPort(c)
			if perr != nil {
				t.Fatalf("%s://%q Host %q: the dialer let %q through, which is no address", scheme, authority, host, c)
			}
			// Dialed as an IP literal: net/http asked for that
			// address itself, which Go connects without resolving.
			literal := false
			if len(dialed) == 1 {
				if dh, _, err := net.SplitHostPort(dialed[0]); err == nil {
					if da, err := netip.ParseAddr(dh); err == nil && da.WithZone("").Unmap() == ap.Addr().WithZone("").Unmap() {
						literal = true
					}
				}
			}
			if !refAddrOK(ap.Addr(), refAllow(st.dc, ap.Addr(), literal)) {
				t.Errorf("%s://%q Host %q: dialed %v (asked %q): a denied address", scheme, authority, host, c, dialed)
			}
			if !st.dc.AnyPort && !slices.Contains(st.dc.Ports, ap.Port()) {
				t.Errorf("%s://%q Host %q: dialed %v: port not in %v", scheme, authority, host, c, st.dc.Ports)
			}
			for _, d := range dialed {
				dh, _, serr := net.SplitHostPort(d)
				if serr != nil {
					t.Fatalf("%s://%q Host %q: net/http dialed %q", scheme, authority, host, d)
				}
				if !refHostOK(fp, scheme, dh, int(ap.Port())) {
					t.Errorf("%s://%q Host %q: dialed host %q port %d, which the allowlist does not allow", scheme, authority, host, dh, ap.Port())
				}
			}
		}
		if sh, ok := sentHost(req); ok {
			h := sh
			if hh, _, err := net.SplitHostPort(sh); err == nil {
				h = hh
			} else {
				h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
			}
			ap, _ := netip.ParseAddrPort(control[0])
			if !refHostOK(fp, scheme, h, int(ap.Port())) {
				t.Errorf("%s://%q Host %q: would send Host %q, which the allowlist does not allow", scheme, authority, host, sh)
			}
		}
	})
}

// fuzzAllowedLiteral reports whether the reference lets a request to u
// through without DNS: u's host an IP literal that net/http dials as it
// is, allowed by the allowlist and the dialer at the port net/http dials
// (u's, else the scheme's), and no Host header of another host. An
// IPv4-mapped address with a zone is left out: Go dials it as
// "a.b.c.d%zone", which the dialer refuses (SafeDialer.Check says so). So
// is one with a non-ASCII zone, which the client and Base refuse as an
// invalid request (errors.md, ErrInvalidRequest: Go's HTTP/2 transport
// keys it with its brackets and dials it without), and one whose zone
// holds a bracket ("[2000::%25]]", which url.Parse takes), an invalid
// host to the egress layer: the authority has a "]" after the literal's.
func fuzzAllowedLiteral(fp fuzzPolicy, dc DialConfig, scheme string, u *url.URL, host string) (netip.AddrPort, bool) {
	if host != "" && host != u.Host || u.User != nil || u.Opaque != "" {
		return netip.AddrPort{}, false
	}
	if !strings.HasPrefix(u.Host, "[") && strings.Count(u.Host, ":") > 1 {
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil || a.Is4In6() && a.Zone() != "" || !ascii.Is(a.Zone()) || strings.ContainsAny(a.Zone(), "[]") {
		return netip.AddrPort{}, false
	}
	port := 443
	if scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return netip.AddrPort{}, false
		}
		port = n
	}
	ap := netip.AddrPortFrom(a, uint16(port))
	if !dc.AnyPort && !slices.Contains(dc.Ports, uint16(port)) {
		return ap, false
	}
	return ap, refHostOK(fp, scheme, u.Hostname(), port) && refAddrOK(a, refAllow(dc, a, true))
}
