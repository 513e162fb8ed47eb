package transport

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/internal/hookpanic"
	"github.com/securecall/securecall/internal/hostname"
)

// Certificate pinning.
//
// A pin is the SHA-256 hash of a certificate's SubjectPublicKeyInfo, written
// in the OkHttp form "sha256/<standard base64>". A PinSet binds pins to a
// host pattern. Pins are checked in tls.Config.VerifyConnection, which Go
// runs after normal chain and hostname verification on every handshake,
// resumed ones included, against ConnectionState.VerifiedChains (the chains
// Go built up to a trusted root) and never against the certificates the
// peer merely presented: an attacker can append a pinned certificate to the
// chain it sends (OkHttp's CVE-2016-2402) but cannot make it part of a
// verified chain. A pin may match any certificate of any verified chain: the
// leaf, an intermediate or the root.
//
// Pinning narrows, never replaces, normal verification: the server still
// needs a chain to a trusted root (tls.Config.RootCAs or the system pool)
// that is valid for the host name.

// PinSet pins one host pattern to a set of SubjectPublicKeyInfo hashes.
//
// The zero values of the optional fields mean: never expires, enforced
// (not report-only), at least two distinct pins required.
type PinSet struct {
	// Host is the host the pins apply to: an exact name
	// ("api.example.com"), a wildcard covering exactly one label
	// ("*.example.com" matches "a.example.com", not "example.com" nor
	// "a.b.example.com"), or an IP literal ("127.0.0.1", "::1"). Case and a
	// trailing dot are ignored, and an internationalised name is its
	// punycode form ("bücher.example" is "xn--bcher-kva.example", the
	// name net/http sends); one that does not convert (IDNA2008 lookup) is
	// refused, and so is a URL given for a host (a "/", "?", "#", "@" or
	// "\\" in it), without being repeated in the error: it may carry
	// credentials. An exact name takes precedence over a wildcard that also
	// matches.
	//
	// Names are matched against the TLS server name (SNI) of the
	// connection, which a TLSConfig.ServerName replaces for every
	// connection of the Base, whatever host is dialed: then only the set
	// for that name applies (NewBase and client.New refuse the others;
	// with an IP address as ServerName, only IP sets). A
	// connection to an IP literal carries no SNI, so for it
	// every pinned IP address that the verified leaf certificate is valid
	// for applies (always including the dialed address when it is pinned).
	// An IP written with a trailing dot ("https://127.0.0.1./", which a
	// custom dialer or a proxy may connect) is that IP: its pins apply.
	Host string
	// Pins are "sha256/<base64 of SHA-256 over SubjectPublicKeyInfo>"
	// strings (the OkHttp form; SPKIPin computes one). A connection is
	// accepted when any certificate of any verified chain has one of them.
	// Include a backup: a pin of a key that is not in the current chain
	// (the next key, or the issuing CA), so that a key rotation does not
	// lock the client out.
	Pins []string
	// Expires, when not zero, is the instant from which the set is no
	// longer enforced. Policy once it passes: normal certificate
	// verification still applies but the pins are ignored, and every
	// handshake with the host emits a PinEvent of kind PinEventExpired and
	// increments the securecall.tls.pin.expired counter. Stale pins are
	// worse than none (Chromium's lesson): an application that nobody
	// updated keeps working instead of locking itself out of its API, and
	// the event and metric tell its operators to ship new pins. It is
	// compared on the wall clock (a monotonic reading, as time.Now().Add
	// gives, is dropped: that clock stops while the machine is suspended).
	Expires time.Time
	// ReportOnly, when true, lets a connection whose chain matches no pin
	// through, after recording the mismatch: a PinEvent of kind
	// PinEventMismatch, the securecall.tls.pin.mismatch counter, and a
	// "securecall.tls.pin_mismatch" event on the span of every request
	// (in its context) that is sent over such a connection. Use it to roll
	// pins out safely.
	ReportOnly bool
	// AllowSinglePin accepts a set with a single distinct pin. Without it
	// NewBase requires at least two, so that a backup exists.
	AllowSinglePin bool
}

// PinEventKind tells what a PinEvent reports.
type PinEventKind uint8

const (
	// PinEventMismatch: no certificate of the verified chains matched the
	// pins. With PinEvent.ReportOnly the connection was let through;
	// otherwise it failed with a *PinMismatchError.
	PinEventMismatch PinEventKind = iota + 1
	// PinEventExpired: the pin set has expired and was not enforced for
	// this handshake (normal verification still applied).
	PinEventExpired
)

// String returns "mismatch" or "expired".
func (k PinEventKind) String() string {
	switch k {
	case PinEventMismatch:
		return "mismatch"
	case PinEventExpired:
		return "expired"
	}
	return fmt.Sprintf("PinEventKind(%d)", uint8(k))
}

// PinEvent describes something the pin checker noticed during a TLS
// handshake. It is passed to BaseConfig.OnPinEvent.
type PinEvent struct {
	// Kind is what happened.
	Kind PinEventKind
	// Host is the pinned host the check was for (the server name, or the
	// pinned IP address for a connection to an IP literal).
	Host string
	// Pattern is the Host of the PinSet that applied.
	Pattern string
	// ReportOnly is true when the set is report-only: a mismatch was let
	// through.
	ReportOnly bool
	// Resumed is true when the handshake resumed an earlier TLS session.
	Resumed bool
	// Seen are the pins of the certificates of the verified chains, in
	// chain order, without duplicates.
	Seen []string
	// Expires is the pin set's expiry (zero: never).
	Expires time.Time
}

// PinMismatchError is returned (wrapped, e.g. in a *url.Error) when the
// server's verified chains contain no pinned key. errors.Is(err,
// ErrPinMismatch) holds for it. Seen lists the pins of the verified chains,
// which is what an operator needs to update a pin set ("fail first, then
// copy the pins"). It is never retried.
type PinMismatchError struct {
	// Host is the pinned host name (or IP) of the connection.
	Host string
	// Seen are the pins of the certificates of the verified chains.
	Seen []string
	// Expected are the pins configured for Host.
	Expected []string
}

// Error names the host, the pins seen and the pins expected.
func (e *PinMismatchError) Error() string {
	return "transport: certificate pin mismatch for " + e.Host +
		": chain has " + strings.Join(e.Seen, ", ") +
		"; expected one of " + strings.Join(e.Expected, ", ")
}

// Unwrap returns ErrPinMismatch.
func (e *PinMismatchError) Unwrap() error { return ErrPinMismatch }

// SPKIPin returns the pin of cert in the OkHttp form
// "sha256/" + base64(SHA-256(SubjectPublicKeyInfo)).
func SPKIPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return pinPrefix + base64.StdEncoding.EncodeToString(sum[:])
}

const (
	pinPrefix = "sha256/"
	// maxPinVerdicts bounds the report-only verdict cache (see pinner.report).
	maxPinVerdicts = 1024
)

// pinSet is a validated PinSet.
type pinSet struct {
	pattern    string
	hashes     [][sha256.Size]byte
	pins       []string // canonical strings, deduplicated, in configured order
	expires    time.Time
	reportOnly bool
}

func (s *pinSet) expired(now time.Time) bool {
	return !s.expires.IsZero() && !now.Before(s.expires)
}

// matches reports whether any certificate of any chain has a pinned key.
func (s *pinSet) matches(chains [][]*x509.Certificate) bool {
	for _, chain := range chains {
		for _, c := range chain {
			sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
			for i := range s.hashes {
				if s.hashes[i] == sum {
					return true
				}
			}
		}
	}
	return false
}

// chainPins returns the pins of the certificates of chains, deduplicated,
// in order.
func chainPins(chains [][]*x509.Certificate) []string {
	var out []string
	for _, chain := range chains {
		for _, c := range chain {
			p := SPKIPin(c)
			dup := false
			for _, q := range out {
				if q == p {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, p)
			}
		}
	}
	return out
}

// pinner holds the validated pin sets of a Base and checks connections
// against them.
type pinner struct {
	exact map[string]*pinSet     // exact host names
	wild  map[string]*pinSet     // "*.example.com" stored under "example.com"
	ips   map[netip.Addr]*pinSet // IP literals

	now      func() time.Time
	onEvent  func(PinEvent)
	mismatch metric.Int64Counter
	expired  metric.Int64Counter

	anyReportOnly bool
	verdicts      sync.Map // verdictKey -> *pinVerdict
	nverdicts     atomic.Int64
}

// verdictKey indexes the verdict for the verified chains of a connection
// checked against a set. Go shares parsed certificates between connections
// (crypto/tls keeps a cache keyed by the DER bytes), so the pointers
// identify the certificates. A pin may match an intermediate, so the key
// names the first chain's leaf, first intermediate and root and the number
// of chains, and a verdict is used only for the very chains it was found
// for (pinVerdict.chains): chains sharing a key (another path through a
// cross-signed certificate) recompute theirs.
type verdictKey struct {
	leaf, mid, root *x509.Certificate
	nchains         int
	set             *pinSet
}

type pinVerdict struct {
	chains   [][]*x509.Certificate // the verified chains the verdict is for
	mismatch bool
	seen     []string
}

// sameChains reports whether a and b are the same certificates in the same
// chains.
func sameChains(a, b [][]*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

// newPinner validates sets. Option names in errors are "Pins[i]...".
func newPinner(sets []PinSet) (*pinner, error) {
	p := &pinner{
		exact: map[string]*pinSet{},
		wild:  map[string]*pinSet{},
		ips:   map[netip.Addr]*pinSet{},
	}
	seen := map[string]int{}
	for i, in := range sets {
		opt := fmt.Sprintf("Pins[%d]", i)
		pattern, kind, err := parsePinHost(in.Host)
		if err != nil {
			return nil, configErrorf(opt+".Host", nil, "%v", err)
		}
		if j, dup := seen[pattern]; dup {
			return nil, configErrorf(opt+".Host", nil, "host %q is already pinned by Pins[%d]", pattern, j)
		}
		seen[pattern] = i
		// The expiry is a wall-clock instant: Expires made with
		// time.Now().Add keeps a monotonic reading, which would compare
		// on the monotonic clock, stopped while the machine is
		// suspended, so the pins would be enforced past their date by
		// every suspend's length (an application that nobody updated
		// locked out of its rotated API the expiry was set to spare).
		s := &pinSet{pattern: pattern, expires: in.Expires.Round(0), reportOnly: in.ReportOnly}
		for j, pin := range in.Pins {
			h, err := parsePin(pin)
			if err != nil {
				return nil, configErrorf(fmt.Sprintf("%s.Pins[%d]", opt, j), nil, "%v", err)
			}
			dup := false
			for _, k := range s.hashes {
				if k == h {
					dup = true
					break
				}
			}
			if !dup {
				s.hashes = append(s.hashes, h)
				s.pins = append(s.pins, pinPrefix+base64.StdEncoding.EncodeToString(h[:]))
			}
		}
		switch {
		case len(s.hashes) == 0:
			return nil, configErrorf(opt+".Pins", nil, "no pins")
		case len(s.hashes) < 2 && !in.AllowSinglePin:
			return nil, configErrorf(opt+".Pins", nil,
				"%d distinct pin(s); at least 2 are required (one a backup for key rotation) unless AllowSinglePin is set", len(s.hashes))
		}
		switch kind {
		case hostExact:
			p.exact[pattern] = s
		case hostWildcard:
			p.wild[strings.TrimPrefix(pattern, "*.")] = s
		case hostIP:
			p.ips[netip.MustParseAddr(pattern)] = s
		}
		p.anyReportOnly = p.anyReportOnly || s.reportOnly
	}
	return p, nil
}

// serverNameErr refuses a set of sets (those p was built from) that no
// connection of a Base whose TLSConfig.ServerName is serverName (checked
// by checkServerName) ever checks: net/http keeps that name for every
// handshake, whatever host is dialed, and the pins are looked up by the
// connection's server name (see forEachSet). A name is checked against
// its own set only (an exact one before a wildcard covering it); an IP
// address is sent as no server name, so only IP sets apply (those the
// leaf is valid for). The set for another name (a typo, or the public
// name beside an internal ServerName) would leave its host silently
// unpinned: a *ConfigError naming Pins[i].Host. client.New refuses the
// same sets (WithPins).
func (p *pinner) serverNameErr(sets []PinSet, serverName string) error {
	name := strings.TrimSuffix(strings.TrimPrefix(serverName, "["), "]")
	_, nameErr := netip.ParseAddr(strings.TrimSuffix(name, "."))
	var applies *pinSet
	if nameErr != nil {
		applies = p.lookupName(name)
	}
	for i, in := range sets {
		pattern, kind, err := parsePinHost(in.Host)
		if err != nil {
			return err // newPinner refused it first
		}
		if nameErr == nil && kind == hostIP || applies != nil && applies.pattern == pattern {
			continue
		}
		return configErrorf(fmt.Sprintf("Pins[%d].Host", i), nil,
			"host %q is never checked: TLSConfig.ServerName %q is the server name of every TLS connection of the Base, and pins are matched against it", pattern, serverName)
	}
	return nil
}

type hostKind uint8

const (
	hostExact hostKind = iota
	hostWildcard
	hostIP
)

// parsePinHost validates and canonicalises a PinSet.Host.
// An IP address written with a trailing dot ("127.0.0.1.") is that IP, as
// in lookupName: as a name it would be stored where no connection ever
// looks it up, and the set would silently never apply.
func parsePinHost(h string) (string, hostKind, error) {
	if urlLike(h) {
		// A URL given for a host, perhaps with credentials: not
		// repeated, as for a HostLimit pattern.
		return "", 0, errURLPattern
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(h, ".")); err == nil {
		if a.Zone() != "" {
			return "", 0, fmt.Errorf("host %q: IP zones cannot be pinned", h)
		}
		return a.Unmap().String(), hostIP, nil
	}
	in := h
	h = strings.TrimSuffix(lowerASCII(h), ".")
	if h == "" {
		return "", 0, fmt.Errorf("empty host")
	}
	kind := hostExact
	name := h
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		kind, name = hostWildcard, rest
	}
	if !isASCII(name) {
		// An internationalised name is pinned by its punycode form, the
		// server name net/http sends (it converts with idna.Lookup, as
		// originHost does).
		a, err := hostname.ToASCII(name)
		if err != nil {
			return "", 0, fmt.Errorf("host %q: not a valid internationalised name: %v", in, err)
		}
		name = strings.ToLower(a)
		h = name
		if kind == hostWildcard {
			h = "*." + name
		}
	}
	for _, label := range strings.Split(name, ".") {
		if !validPinLabel(label) {
			return "", 0, fmt.Errorf("host %q: want a host name, \"*.\" + a host name (one label), or an IP address; not a URL, port or other wildcard", h)
		}
	}
	return h, kind, nil
}

func validPinLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parsePin decodes "sha256/<standard base64 of 32 bytes>".
func parsePin(pin string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	b64, ok := strings.CutPrefix(pin, pinPrefix)
	if !ok {
		return h, fmt.Errorf("pin %q: want the form \"sha256/<base64 of the SHA-256 of the SubjectPublicKeyInfo>\"", pin)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != sha256.Size {
		return h, fmt.Errorf("pin %q: want standard base64 (with padding) of a 32-byte SHA-256 hash", pin)
	}
	copy(h[:], raw)
	return h, nil
}

// enforced reports whether a pin set was enforced on the connection with
// state cs, for the inventory's "pinned" mark: a set applies to it as in
// the handshake check (by the server name the handshake verified, which a
// TLSConfig.ServerName overrides, or by the leaf's IPs for a connection to
// an IP literal) and is neither report-only nor expired now. The
// handshake succeeded, so an enforced set matched the verified chains. A
// set that expires while a connection it checked is still in use counts
// as not enforced from then on.
func (p *pinner) enforced(cs *tls.ConnectionState) bool {
	now := p.now()
	found := false
	_ = p.forEachSet(cs, func(_ string, s *pinSet) error {
		if !s.reportOnly && !s.expired(now) {
			found = true
		}
		return nil
	})
	return found
}

// lookupName returns the set for a server name (SNI), or nil. An IP
// address with a trailing dot ("127.0.0.1.", which crypto/tls reports as
// the ServerName "127.0.0.1" of a connection to https://127.0.0.1./ and
// verifies as a DNS name) is that IP: its set is the IP's.
func (p *pinner) lookupName(name string) *pinSet {
	if name == "" {
		return nil
	}
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if a, err := netip.ParseAddr(name); err == nil {
		return p.ips[a.Unmap()]
	}
	if s := p.exact[name]; s != nil {
		return s
	}
	if len(p.wild) > 0 {
		if i := strings.IndexByte(name, '.'); i > 0 {
			return p.wild[name[i+1:]]
		}
	}
	return nil
}

// forEachSet calls f for every set that applies to a connection with state
// cs, with the pinned host it applies as. A named connection has at most
// one set; a connection to an IP literal (no SNI) gets the set of every
// pinned IP its leaf certificate is valid for.
func (p *pinner) forEachSet(cs *tls.ConnectionState, f func(host string, s *pinSet) error) error {
	if cs.ServerName != "" {
		if s := p.lookupName(cs.ServerName); s != nil {
			return f(s.hostFor(cs.ServerName), s)
		}
		return nil
	}
	if len(p.ips) == 0 || len(cs.PeerCertificates) == 0 {
		return nil
	}
	for _, ip := range cs.PeerCertificates[0].IPAddresses {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		if s := p.ips[a.Unmap()]; s != nil {
			if err := f(s.pattern, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// hostFor returns the host name to report for a connection to name.
func (s *pinSet) hostFor(name string) string {
	if s.pattern[0] != '*' {
		return s.pattern
	}
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// countInHandshake adds 1 to c, a counter of the caller's MeterProvider,
// inside a TLS handshake, which net/http's Transport makes on a dialing
// goroutine of its own where no caller's recover reaches: a counter that
// panics (a bug in it) would end the whole process, so its panic is
// recovered and logged (hookpanic), as OnPinEvent's is, and the pin
// check's verdict stands.
func countInHandshake(c metric.Int64Counter, opts ...metric.AddOption) {
	defer hookpanic.Recover("transport: BaseConfig.MeterProvider counter")
	c.Add(context.Background(), 1, opts...)
}

// verifyConnection is installed as (part of) tls.Config.VerifyConnection.
func (p *pinner) verifyConnection(cs tls.ConnectionState) error {
	return p.forEachSet(&cs, func(host string, s *pinSet) error {
		return p.check(host, s, &cs)
	})
}

func (p *pinner) check(host string, s *pinSet, cs *tls.ConnectionState) error {
	now := p.now()
	if s.expired(now) {
		countInHandshake(p.expired, metric.WithAttributes(attribute.String("server.address", host)))
		p.emit(PinEvent{Kind: PinEventExpired, Host: host, Pattern: s.pattern, ReportOnly: s.reportOnly,
			Resumed: cs.DidResume, Seen: chainPins(cs.VerifiedChains), Expires: s.expires})
		return nil
	}
	// Fail closed if there is no verified chain (cannot happen with
	// InsecureSkipVerify refused, but never accept on an absence).
	if len(cs.VerifiedChains) > 0 && s.matches(cs.VerifiedChains) {
		if s.reportOnly {
			p.remember(s, cs, &pinVerdict{})
		}
		return nil
	}
	seen := chainPins(cs.VerifiedChains)
	countInHandshake(p.mismatch, metric.WithAttributes(
		attribute.String("server.address", host),
		attribute.Bool("securecall.tls.pin.report_only", s.reportOnly)))
	p.emit(PinEvent{Kind: PinEventMismatch, Host: host, Pattern: s.pattern, ReportOnly: s.reportOnly,
		Resumed: cs.DidResume, Seen: seen, Expires: s.expires})
	if s.reportOnly {
		p.remember(s, cs, &pinVerdict{mismatch: true, seen: seen})
		return nil
	}
	return &PinMismatchError{Host: host, Seen: seen, Expected: append([]string(nil), s.pins...)}
}

// emit calls OnPinEvent. It runs inside the handshake, which net/http's
// Transport makes on a goroutine of its own, where no caller's recover
// reaches: a panicking hook would end the process. Its panic is recovered and logged;
// the pin check's verdict stands.
func (p *pinner) emit(ev PinEvent) {
	if p.onEvent != nil {
		defer hookpanic.Recover("transport: BaseConfig.OnPinEvent")
		p.onEvent(ev)
	}
}

func verdictKeyOf(s *pinSet, cs *tls.ConnectionState) (verdictKey, bool) {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return verdictKey{}, false
	}
	ch := cs.VerifiedChains[0]
	k := verdictKey{leaf: ch[0], root: ch[len(ch)-1], nchains: len(cs.VerifiedChains), set: s}
	if len(ch) > 2 {
		k.mid = ch[1]
	}
	return k, true
}

// remember caches the verdict of a report-only check of the verified
// chains of cs for the requests that will use the connection, replacing
// one cached for other chains under the same key. The cache is bounded:
// when full it is emptied; a miss only costs a recomputation.
func (p *pinner) remember(s *pinSet, cs *tls.ConnectionState, v *pinVerdict) {
	k, ok := verdictKeyOf(s, cs)
	if !ok {
		return
	}
	v.chains = cs.VerifiedChains
	if _, loaded := p.verdicts.Swap(k, v); !loaded {
		if p.nverdicts.Add(1) > maxPinVerdicts {
			p.verdicts.Clear()
			p.nverdicts.Store(0)
		}
	}
}

// report adds a span event to the span in req's context when resp came
// over a connection to a report-only host whose chain matched no pin. It
// costs nothing unless a report-only set exists and the span is recording,
// and then a map lookup per request: the verdict was cached by the
// handshake (recomputed from the connection state on a cache miss).
func (p *pinner) report(span trace.Span, cs *tls.ConnectionState) {
	_ = p.forEachSet(cs, func(host string, s *pinSet) error {
		if !s.reportOnly || s.expired(p.now()) {
			return nil
		}
		var v *pinVerdict
		if k, ok := verdictKeyOf(s, cs); ok {
			if got, ok := p.verdicts.Load(k); ok && sameChains(got.(*pinVerdict).chains, cs.VerifiedChains) {
				v = got.(*pinVerdict)
			}
		}
		if v == nil {
			v = &pinVerdict{}
			if len(cs.VerifiedChains) == 0 || !s.matches(cs.VerifiedChains) {
				v = &pinVerdict{mismatch: true, seen: chainPins(cs.VerifiedChains)}
			}
			p.remember(s, cs, v)
		}
		if v.mismatch {
			span.AddEvent(EventPinMismatch, trace.WithAttributes(
				attribute.String("server.address", host),
				attribute.StringSlice("securecall.tls.pin.seen", v.seen),
				attribute.StringSlice("securecall.tls.pin.expected", s.pins)))
		}
		return nil
	})
}
