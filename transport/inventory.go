package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/hops"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// DefaultInventoryMaxEntries is the number of distinct (method, origin,
// route) entries an Inventory keeps when InventoryConfig.MaxEntries is
// zero. An entry takes about 1.8 KiB for a URL of a few dozen bytes, 2.3
// KiB at most (long hosts and routes, and the spelling of the call that
// added it), so the default bounds (with
// DefaultInventoryMaxOverflowOrigins) hold the inventory under 2.5 MiB.
const DefaultInventoryMaxEntries = 1000

// DefaultInventoryMaxOverflowOrigins is the number of origins first
// called once an Inventory holds MaxEntries entries that still get an
// entry under their name, their overflow entry, when
// InventoryConfig.MaxOverflowOrigins is zero. An egress allowlist names
// far fewer origins; the entries take about 0.2 MiB at most.
const DefaultInventoryMaxOverflowOrigins = 100

// Names of the inventory's instruments and of its attributes that are not
// OTel semantic conventions.
const (
	// MetricAPICalls is the observable counter of calls per inventory entry
	// and status class (unit "{call}"). Attributes: http.request.method,
	// url.scheme, server.address, server.port, url.template and
	// securecall.status_class.
	MetricAPICalls = "securecall.api.calls"
	// MetricAPIEndpoint is an observable gauge, always 1, one series per
	// inventory entry, whose attributes describe how the endpoint is
	// called: those of MetricAPICalls without the status class, plus
	// securecall.auth, tls.protocol.version and securecall.tls.pinned.
	MetricAPIEndpoint = "securecall.api.endpoint"
	// StatusClassKey is the status class attribute: "1xx" to "5xx",
	// "other" (a status outside 100-599) or "error" (no response).
	StatusClassKey = attribute.Key("securecall.status_class")
	// AuthKey is the authentication kinds seen ("bearer+hmac", "none").
	AuthKey = attribute.Key("securecall.auth")
	// PinnedKey reports whether every TLS call of the entry had a pin set
	// enforced on its connection.
	PinnedKey = attribute.Key("securecall.tls.pinned")
)

// The identity of the global overflow entry, which counts the calls of
// every (method, origin, route) past MaxEntries that has no overflow entry
// of its origin's; an origin's overflow entry has the same method and
// route.
const (
	overflowMethod = "_OTHER"
	overflowOrigin = "_overflow"
	overflowRoute  = "_overflow"
)

// invalidOrigin is the origin of the calls whose URL has no usable origin:
// no scheme or no host (a relative URL), a host longer than a DNS name
// (253 bytes) or holding a control
// character or one of "@/\\?#" (a credential in a Host built by hand,
// "user:pass@host"), a port of more than five digits (leading zeros aside:
// ":0443" is port 443, as net/http dials it) or not all digits,
// or a scheme longer than maxSchemeLen or not made of RFC 3986 scheme
// characters. The URL is the caller's, perhaps chosen
// by a user (webhooks), and refused calls are recorded too: folding such
// origins into one keeps each entry small.
const invalidOrigin = "_invalid"

// Bounds of the parts of an inventory origin.
const (
	maxHostLen   = 253 // a DNS name, without its trailing dot
	maxPortLen   = 5   // 65535
	maxSchemeLen = 32
	// maxIDNLen bounds the non-ASCII host an entry converts to punycode:
	// a longer one (4 bytes a rune) cannot give a DNS name of maxHostLen.
	maxIDNLen = 4 * maxHostLen
)

// InventoryConfig configures NewInventory.
type InventoryConfig struct {
	// MaxEntries bounds the distinct (method, origin, route) entries.
	// Past the bound, the calls of a new combination are counted in an
	// overflow entry: its origin's (see MaxOverflowOrigins) when the
	// origin has no entry yet, else the global one (method "_OTHER",
	// origin and route "_overflow"). Zero means
	// DefaultInventoryMaxEntries. MetricAPICalls can have seven series
	// per entry: for every series to be exported, the meter provider's
	// cardinality limit (2000 by default in the OTel SDK) must be at
	// least 7*(MaxEntries+MaxOverflowOrigins+1)+1; past it, the series
	// that first had calls are the ones kept, at every collection (see
	// inventory.md).
	MaxEntries int
	// MaxOverflowOrigins bounds the origins that, first called once the
	// inventory holds MaxEntries entries, get an overflow entry of their
	// own: method "_OTHER", the origin, route "_overflow", counting all
	// their calls. So a flood of paths on one origin does not hide a call
	// to a new origin in the global overflow entry: every origin called
	// has an entry under its name as long as the service calls at most
	// MaxOverflowOrigins origins (an egress allowlist bounds them). Past
	// the bound, a new origin's calls go to the global overflow entry.
	// Zero means DefaultInventoryMaxOverflowOrigins; a negative value is a
	// *ConfigError naming MaxOverflowOrigins.
	MaxOverflowOrigins int
	// MeterProvider provides the meter for MetricAPICalls and
	// MetricAPIEndpoint, observed when a reader collects (nothing is done
	// per call). nil means otel's global provider; one holding a nil
	// pointer (a *sdkmetric.MeterProvider never assigned) is a
	// *ConfigError.
	MeterProvider metric.MeterProvider
	// Now returns the current time, for durations and first/last seen.
	// nil means time.Now. One that panics (a bug in it) in the layer
	// (NewInventoryLayer) has the request's body closed, or the
	// response's once it came back, and its panic goes on; one that
	// panics while another panic (next's) is on its way to the caller,
	// as the layer records the call, has its own panic dropped, so the
	// caller sees the first, and the call is recorded with no duration.
	Now func() time.Time
}

// Inventory is the live list of the APIs a client calls: per method,
// origin and route, the calls by status class, a latency summary, the
// authentication kinds and TLS versions seen, whether the connections
// were pinned, and when the entry was first and last seen. It answers
// "which third-party APIs does this service call, how, and with what
// credentials" from the running service.
//
// Record it with NewInventoryLayer; export it with Snapshot, MarshalJSON or
// Handler (JSON) and as OTel metrics. It is safe for concurrent use;
// recording a call whose entry exists takes no lock and allocates nothing.
type Inventory struct {
	max       int
	now       func() time.Time
	realClock bool                                 // now is time.Now: the layer may share the call's readings
	mu        sync.Mutex                           // serialises insertions
	entries   atomic.Pointer[map[string]*invEntry] // copy on write
	// spellings finds the entry of a call spelled as the one that added
	// it without building its key. Copy on write, with entries.
	spellings atomic.Pointer[invSpellings]
	// origins lists the origins with an entry, and the overflow entries
	// of those first called when the inventory was full. Copy on write,
	// published under mu.
	origins    atomic.Pointer[invOrigins]
	maxOrigins int       // MaxOverflowOrigins
	overflow   *invEntry // the global overflow entry
	reg        metric.Registration

	// obsMu serialises metric collections (one per reader may run at
	// once); series lists the status-class series of MetricAPICalls in
	// the order they first had calls, the order they are observed in.
	obsMu  sync.Mutex
	series []invSeries
}

// invSeries is one series of MetricAPICalls: an entry and a status class.
type invSeries struct {
	e     *invEntry
	class int
	attrs attribute.Set
}

// NewInventory returns an empty Inventory, or a *ConfigError.
func NewInventory(cfg InventoryConfig) (*Inventory, error) {
	if cfg.MaxEntries < 0 {
		return nil, configErrorf("MaxEntries", nil, "must not be negative, got %d", cfg.MaxEntries)
	}
	if cfg.MaxOverflowOrigins < 0 {
		return nil, configErrorf("MaxOverflowOrigins", nil, "must not be negative, got %d", cfg.MaxOverflowOrigins)
	}
	inv := &Inventory{
		max:        nonZeroOr(cfg.MaxEntries, DefaultInventoryMaxEntries),
		maxOrigins: nonZeroOr(cfg.MaxOverflowOrigins, DefaultInventoryMaxOverflowOrigins),
		now:        cfg.Now,
	}
	if inv.now == nil {
		inv.now = time.Now
		inv.realClock = true
	}
	m := make(map[string]*invEntry)
	inv.entries.Store(&m)
	inv.spellings.Store(&invSpellings{})
	inv.origins.Store(&invOrigins{})
	inv.overflow = &invEntry{method: overflowMethod, origin: overflowOrigin, route: overflowRoute, overflow: true}
	inv.overflow.first.Store(-1)

	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	} else if v := reflect.ValueOf(mp); v.Kind() == reflect.Pointer && v.IsNil() {
		// A *sdkmetric.MeterProvider never assigned: its Meter would
		// dereference it here.
		return nil, configErrorf("MeterProvider", nil, "is a nil %T", mp)
	}
	meter := mp.Meter(meterName)
	calls, err := meter.Int64ObservableCounter(MetricAPICalls,
		metric.WithDescription("Calls per API endpoint (method, origin, route) and status class"),
		metric.WithUnit("{call}"))
	if err != nil {
		return nil, configErrorf("MeterProvider", err, "instrument %s", MetricAPICalls)
	}
	endpoint, err := meter.Int64ObservableGauge(MetricAPIEndpoint,
		metric.WithDescription("One series per API endpoint called, describing authentication, TLS version and pinning"),
		metric.WithUnit("{endpoint}"))
	if err != nil {
		return nil, configErrorf("MeterProvider", err, "instrument %s", MetricAPIEndpoint)
	}
	inv.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		inv.observe(o, calls, endpoint)
		return nil
	}, calls, endpoint)
	if err != nil {
		return nil, configErrorf("MeterProvider", err, "callback")
	}
	return inv, nil
}

// Close stops the inventory's metric callback. The inventory itself keeps
// working.
func (inv *Inventory) Close() error {
	if inv.reg != nil {
		return inv.reg.Unregister()
	}
	return nil
}

// Observation is one call as the inventory records it.
type Observation struct {
	// Method is the request method; methods other than the standard ones
	// are recorded as "_OTHER".
	Method string
	// URL is the request URL; only its scheme, host and port (and, when
	// Route is empty, its path) are used. A URL without a scheme or a host
	// (a relative URL, "https:///x"), one with a host longer than
	// 253 bytes or holding a control character or one of "@/\\?#" (a
	// credential in a Host built by hand), a port of more than five digits
	// (leading zeros aside: ":0443" is recorded as ":443") or not all
	// digits, or a scheme longer than 32 bytes or not a valid scheme is
	// recorded under the origin "_invalid".
	URL *url.URL
	// Route is the call's route template, cut to 256 bytes with the
	// marker "/{...}" when longer (as WithRoute says), bytes that are not
	// UTF-8 replaced by U+FFFD; empty: the URL's
	// path (a hand-set Opaque's, without its query, scheme and authority)
	// with identifiers folded to "{id}" (see NormalizePath).
	Route string
	// StatusCode is the response status; ignored when Err is set.
	StatusCode int
	// Err is the call's error, nil when a response came.
	Err error
	// Duration is how long the call took until the response headers
	// arrived or it failed.
	Duration time.Duration
	// Auth is the authentication used.
	Auth AuthKind
	// TLSVersion is the TLS version of the connection (tls.VersionTLS13...),
	// 0 for plain text (an http:// call through an https:// proxy too: the
	// proxy's TLS connection is not the server's) or when unknown (no
	// response).
	TLSVersion uint16
	// Pinned reports whether a pin set was enforced on the connection:
	// one that applies to the server name the handshake verified and is
	// neither report-only nor expired.
	Pinned bool
	// At is when the call ended; zero means now.
	At time.Time
}

// Record adds one call to the inventory. Recording a call whose entry
// exists takes no lock and allocates nothing. A zero Inventory (not made
// by NewInventory) records nothing; NewInventoryLayer and
// client.WithInventory refuse it.
func (inv *Inventory) Record(o Observation) {
	sp := inv.spellings.Load()
	if o.URL == nil || sp == nil {
		return
	}
	e := sp.find(&o)
	if e == nil {
		var buf [keyBufLen]byte
		key := appendKey(buf[:0], &o)
		e = (*inv.entries.Load())[string(key)]
		if e == nil {
			e = inv.insert(key, &o)
		}
	}
	at := o.At
	if at.IsZero() {
		at = inv.now()
	}
	e.record(&o, at.UnixNano())
}

// invSpellings holds, for each entry, the spelling of the call that added
// it: what its key is made of (appendKey) as the caller wrote it, the
// method, the URL's scheme and host, and the route, or when there is none
// the URL's path (Path and RawPath, which EscapedPath reads). A call
// spelled the same has the same key. The spellings are listed by route
// and by path, a string map (one string hashed) so that a call of another
// path (an identifier in it) pays little for the miss. Immutable once
// published (copy on write).
type invSpellings struct {
	byRoute, byPath map[string][]invSpelled
}

// invSpelled is one spelling, but for the route or path it is listed by.
type invSpelled struct {
	method, scheme, host, rawPath string
	e                             *invEntry
}

// Bounds of the spellings kept: the bytes of one, so that a long URL does
// not grow an entry past what its key bounds, and the spellings of one
// route or path, so that a lookup compares a few at most ("/" of many
// hosts).
const (
	maxSpellingLen    = 256
	maxSpellingsByKey = 8
)

// find returns the entry of a call spelled as o, or nil.
func (sp *invSpellings) find(o *Observation) *invEntry {
	var list []invSpelled
	rawPath := ""
	if o.Route != "" {
		list = sp.byRoute[o.Route]
	} else {
		if o.URL.Opaque != "" {
			return nil // its path is in Opaque (requestPath): found by its key
		}
		list = sp.byPath[o.URL.Path]
		rawPath = o.URL.RawPath
	}
	for i := range list {
		s := &list[i]
		if s.host == o.URL.Host && s.method == o.Method && s.scheme == o.URL.Scheme && s.rawPath == rawPath {
			return s.e
		}
	}
	return nil
}

// with returns sp with o's spelling for e added, or sp when it is not
// kept (too long, or its route or path has maxSpellingsByKey). The strings
// are copied into one allocation, holding none of the caller's memory.
func (sp *invSpellings) with(o *Observation, e *invEntry) *invSpellings {
	byRoute, byPath, rawPath := sp.byRoute, sp.byPath, ""
	m, k := byRoute, o.Route
	if k == "" {
		if o.URL.Opaque != "" {
			return sp // found by its key (see find)
		}
		m, k, rawPath = byPath, o.URL.Path, o.URL.RawPath
	}
	parts := [...]string{k, o.Method, o.URL.Scheme, o.URL.Host, rawPath}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	old := m[k]
	if n > maxSpellingLen || len(old) >= maxSpellingsByKey {
		return sp
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		b.WriteString(p)
	}
	all := b.String()
	for i, p := range parts {
		parts[i], all = all[:len(p)], all[len(p):]
	}
	list := make([]invSpelled, len(old), len(old)+1)
	copy(list, old)
	list = append(list, invSpelled{method: parts[1], scheme: parts[2], host: parts[3], rawPath: parts[4], e: e})
	nm := make(map[string][]invSpelled, len(m)+1)
	for k, v := range m {
		nm[k] = v
	}
	nm[parts[0]] = list
	if o.Route != "" {
		byRoute = nm
	} else {
		byPath = nm
	}
	return &invSpellings{byRoute: byRoute, byPath: byPath}
}

// keyBufLen is the stack buffer for entry keys; a longer key (a very long
// route) is built on the heap.
const keyBufLen = 512

// maxRouteLen and maxRouteSegments bound a route derived from a path.
const (
	maxRouteLen      = 256
	maxRouteSegments = 16
)

// appendKey appends the entry key of o: method, origin and route,
// separated by NUL bytes.
func appendKey(b []byte, o *Observation) []byte {
	b = append(b, stdMethod(o.Method)...)
	b = append(b, 0)
	b = appendOrigin(b, o.URL)
	b = append(b, 0)
	if o.Route != "" {
		return append(b, boundRoute(o.Route)...)
	}
	return appendFoldedPath(b, requestPath(o.URL))
}

// requestPath returns the escaped path of the request-target net/http
// sends for u: u.EscapedPath(), or, for a hand-set u.Opaque (the target
// written as it is sent, whose Path is empty), the target's path: without
// its query, and without the scheme and authority of an absolute-form
// target ("//api.example.com/v1/x" is "/v1/x", "//api.example.com" is
// "/").
func requestPath(u *url.URL) string {
	o := u.Opaque
	if o == "" {
		return u.EscapedPath()
	}
	if i := strings.IndexAny(o, "?#"); i >= 0 {
		o = o[:i]
	}
	switch i := strings.Index(o, "://"); {
	case strings.HasPrefix(o, "//"):
		o = o[len("//"):]
	case i > 0 && strings.IndexByte(o[:i], '/') < 0:
		o = o[i+len("://"):]
	default:
		return o // origin-form ("/v1/x"), or no path at all ("*")
	}
	if i := strings.IndexByte(o, '/'); i >= 0 {
		return o[i:]
	}
	return "/"
}

// routeCut marks where a route was cut.
const routeCut = "/{...}"

// boundRoute returns route when it is at most 256 bytes long, else route
// cut to fit 256 bytes with the marker "/{...}": cut after its last "/"
// that leaves room for the marker (at a UTF-8 character boundary when
// there is none), as NormalizePath cuts a long path. The inventory and the
// audit log apply it to the route a caller gives (WithRoute, SetRoute,
// Observation.Route), which is a string of the caller's and may be built
// from request data: a route is bookkeeping, so a long one is cut rather
// than failing the call, and the memory an inventory entry holds stays
// bounded. Bytes that are not UTF-8 are first replaced by U+FFFD: the
// route becomes a metric and span attribute (url.template), and OTLP
// rejects a whole export batch over one string that is not valid UTF-8.
func boundRoute(route string) string {
	if !utf8.ValidString(route) {
		route = strings.ToValidUTF8(route, "\uFFFD")
	}
	if len(route) <= maxRouteLen {
		return route
	}
	n := maxRouteLen - len(routeCut)
	if i := strings.LastIndexByte(route[:n+1], '/'); i > 0 {
		n = i
	} else {
		for n > 0 && !utf8.RuneStart(route[n]) {
			n--
		}
	}
	return route[:n] + routeCut
}

// stdMethod returns m when it is a standard method, else "_OTHER" (keeps
// the inventory's cardinality bounded).
func stdMethod(m string) string {
	switch m {
	case "", http.MethodGet:
		return http.MethodGet
	case http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodTrace, http.MethodConnect, "QUERY":
		return m
	}
	return overflowMethod
}

// appendOrigin appends scheme://host:port, lower-cased, without a trailing
// dot of the host and with an internationalised name in its punycode form
// (as Origin and HostKey), the port explicit and without leading zeros, as
// net/http dials it (":0443" is ":443"; IPv6 hosts
// keep their brackets, as in URL.Host); or invalidOrigin when a part is out
// of its bounds (see invalidOrigin).
func appendOrigin(b []byte, u *url.URL) []byte {
	h, port := u.Host, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i > strings.LastIndexByte(h, ']') {
		h, port = h[:i], h[i+1:] // "host:" has the default port
		port = destPort(port)    // "0443" is dialed as 443: the same origin
	}
	// One pass over the host tells whether it is ASCII, holds a byte no
	// host holds (see validOriginParts) or an upper-case letter.
	var class uint8
	for i := 0; i < len(h); i++ {
		class |= hostByteClass[h[i]]
	}
	if class&hostByteWide != 0 {
		if len(h) <= maxIDNLen {
			h, _ = originHost(h) // "bücher.example" as net/http sends it, without its trailing dot
		} else {
			h = strings.TrimSuffix(h, ".")
		}
		if !validOriginParts(u.Scheme, h, port) {
			return append(b, invalidOrigin...)
		}
		class = hostByteUpper // h is lower-cased by appendLower below
	} else {
		// An ASCII host: its trailing dot changes none of its classes.
		h = strings.TrimSuffix(h, ".")
		if class&hostByteBad != 0 || !validOriginBounds(u.Scheme, h, port) {
			return append(b, invalidOrigin...)
		}
	}
	b = appendLower(b, u.Scheme)
	b = append(b, "://"...)
	if class&hostByteUpper != 0 {
		b = appendLower(b, h)
	} else {
		b = append(b, h...)
	}
	if port != "" {
		b = append(b, ':')
		return appendLower(b, port)
	}
	switch {
	case u.Scheme == "https" || strings.EqualFold(u.Scheme, "https"):
		return append(b, ":443"...)
	case u.Scheme == "http" || strings.EqualFold(u.Scheme, "http"):
		return append(b, ":80"...)
	}
	return append(b, ':')
}

// validOriginParts reports whether an origin's scheme, host (IPv6
// brackets included, trailing dot removed) and port are within bounds.
func validOriginParts(scheme, host, port string) bool {
	if !validOriginBounds(scheme, host, port) {
		return false
	}
	for i := 0; i < len(host); i++ {
		if hostByteClass[host[i]]&hostByteBad != 0 {
			return false
		}
	}
	return true
}

// Classes of a host's bytes (hostByteClass), for appendOrigin.
const (
	// hostByteBad is a delimiter no host holds: "user:pass@host" or
	// "token@host" in a URL built by hand carries a credential url.Parse
	// would have put in User.
	hostByteBad   = 1 << iota
	hostByteUpper // 'A' to 'Z'
	hostByteWide  // not ASCII
)

// hostByteClass holds the classes of each byte.
var hostByteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = hostByteWide
		case c <= ' ' || c == 0x7f || c == '@' || c == '/' || c == '\\' || c == '?' || c == '#':
			t[c] = hostByteBad
		case 'A' <= c && c <= 'Z':
			t[c] = hostByteUpper
		}
	}
	return t
}()

// validOriginBounds is validOriginParts without the check of the host's
// bytes: the lengths, the scheme and the port.
func validOriginBounds(scheme, host, port string) bool {
	hostLen := len(host)
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		hostLen -= 2
	}
	if scheme == "" || hostLen == 0 {
		return false // a relative URL ("/users/1"), or "https:///x": no origin
	}
	if len(scheme) > maxSchemeLen || hostLen > maxHostLen || len(port) > maxPortLen {
		return false
	}
	for i := 0; i < len(scheme); i++ {
		if c := scheme[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false // not an RFC 3986 scheme (a NUL would split the entry key)
		}
	}
	for i := 0; i < len(port); i++ {
		if c := port[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// appendLower appends s lower-cased (ASCII).
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			for j := 0; j < len(s); j++ {
				b = append(b, lower(s[j]))
			}
			return b
		}
	}
	return append(b, s...)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// NormalizePath returns the route the inventory uses for a request sent
// without one: the escaped path with every segment that looks like an
// identifier replaced by "{id}" — all digits, a UUID, 12 or more hex
// digits, 8 or more characters of which a third are digits, 16 or more
// characters with a digit, 16 or more characters of which a third are
// upper-case and a third lower-case letters (a random token of letters
// only), or anything with "@" or a %-escape (user data) —, in any other
// segment every run of letters and digits that looks like one
// ("customer-1234" is "customer-{id}", "users;id=7" "users;id={id}",
// "42.json" "{id}.json"; a number of fewer than four digits inside a
// word stays: "gpt-4", "sha-256"), a segment of digits and dots ("8.8.8.8")
// as a whole, but for a dotted version ("v1.2", "1.1", "v2.0.10"), which
// stays, and cut after 16 segments or 256 bytes
// ("/{...}"). It is a heuristic;
// give a route (WithRoute, Template) for an exact one.
func NormalizePath(escapedPath string) string {
	return string(appendFoldedPath(nil, escapedPath))
}

func appendFoldedPath(b []byte, p string) []byte {
	if p == "" || p == "/" {
		return append(b, '/')
	}
	start := len(b)
	rest := strings.TrimPrefix(p, "/")
	for segs := 0; ; segs++ {
		seg, tail, more := strings.Cut(rest, "/")
		if segs == maxRouteSegments || len(b)-start+1+len(seg) > maxRouteLen {
			return append(b, "/{...}"...)
		}
		b = append(b, '/')
		id, digits, alnum := segmentShape(seg)
		dot := digits > 0 && alnum < len(seg) && strings.IndexByte(seg, '.') >= 0
		switch {
		case dot && isDottedVersion(seg):
			b = append(b, seg...) // a name, however many digits
		case id || dot && isNumeric(seg):
			b = append(b, "{id}"...)
		case alnum == len(seg) || digits == 0 && len(seg) < 12:
			// One token, the whole segment, which is no identifier; or
			// no token can look like one (without a digit it needs 12
			// hex letters or 16 letters).
			b = append(b, seg...)
		default:
			b = appendFoldedTokens(b, seg)
		}
		if !more {
			return b
		}
		rest = tail
	}
}

// appendFoldedTokens appends seg, a segment that is no identifier as a
// whole, with each of its tokens (runs of ASCII letters and digits) that
// is one replaced by "{id}": a number of four digits or more after a word
// ("customer-1234"), a parameter's value ("users;id=7") or a number named
// before its extension ("42.json") would otherwise make an entry per
// value, 10 000 of them for four digits. A shorter number inside a word
// is part of a name ("gpt-4", "sha-256", "utf-8") and stays.
func appendFoldedTokens(b []byte, seg string) []byte {
	start := -1
	for i := 0; i <= len(seg); i++ {
		if i < len(seg) && isAlnum(seg[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			tok := seg[start:i]
			id := isIDSegment(tok)
			if id && len(tok) < 4 && ascii.AllDigits(tok) {
				// A short number: an identifier as a parameter's value
				// or as the name before an extension only.
				id = start > 0 && seg[start-1] == '=' || start == 0 && i < len(seg) && seg[i] == '.'
			}
			if id {
				b = append(b, "{id}"...)
			} else {
				b = append(b, tok...)
			}
			start = -1
		}
		if i < len(seg) {
			b = append(b, seg[i])
		}
	}
	return b
}

// isNumeric reports whether s is digits and dots with a digit: an IPv4
// address, a date ("2024.01.31"), a decimal number; not a dotted version,
// which is checked first.
func isNumeric(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c != '.':
			return false
		}
	}
	return digit
}

// isDottedVersion reports whether seg is an API version with dots: an
// optional "v" or "V", then two or three groups of one to three digits
// joined by dots ("v1.2", "1.1", "v2.0.1", "v1.10.100"; an IPv4 address
// has four).
func isDottedVersion(seg string) bool {
	if seg != "" && (seg[0] == 'v' || seg[0] == 'V') {
		seg = seg[1:]
	}
	groups, digits := 0, 0
	for i := 0; i <= len(seg); i++ {
		if i < len(seg) && seg[i] >= '0' && seg[i] <= '9' {
			if digits++; digits > 3 {
				return false
			}
			continue
		}
		if digits == 0 || i < len(seg) && seg[i] != '.' {
			return false
		}
		groups++
		digits = 0
	}
	return groups == 2 || groups == 3
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isIDSegment reports whether a path segment looks like an identifier.
func isIDSegment(s string) bool {
	id, _, _ := segmentShape(s)
	return id
}

// segmentShape reports whether s looks like an identifier (isIDSegment),
// and how many of its bytes are digits and ASCII letters or digits.
func segmentShape(s string) (id bool, digits, alnum int) {
	if s == "" {
		return false, 0, 0
	}
	hex, upper, lower := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c == '@' || c == '%':
			return true, digits, 0
		}
		switch {
		case c >= 'a' && c <= 'z':
			lower++
			if c <= 'f' {
				hex++
			}
		case c >= 'A' && c <= 'Z':
			upper++
			if c <= 'F' {
				hex++
			}
		}
	}
	alnum = digits + upper + lower
	switch {
	case digits == len(s):
		return true, digits, alnum
	case len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' && hex == 32:
		return true, digits, alnum
	case len(s) >= 12 && hex == len(s):
		return true, digits, alnum
	case len(s) >= 8 && digits*3 >= len(s):
		return true, digits, alnum
	case len(s) >= 16 && digits > 0:
		return true, digits, alnum
	case len(s) >= 16 && upper*3 >= len(s) && lower*3 >= len(s):
		// A random token of letters only: a third of each case, where a
		// camelCase name ("listOrganizationMembers") has few capitals.
		return true, digits, alnum
	}
	return false, digits, alnum
}

// insert adds the entry for key, and o's spelling to the spellings (or
// returns the one another goroutine added, or an overflow entry when the
// inventory is full: see overflowFor).
//
// A full inventory stays full (entries are never removed), so once it is
// full a new key lands in an overflow entry without taking the lock: a
// flood of distinct URLs (an attacker's paths) does not serialise the
// callers on it.
func (inv *Inventory) insert(key []byte, o *Observation) *invEntry {
	if len(*inv.entries.Load()) >= inv.max {
		return inv.overflowFor(key, o)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if testHookInsertLocked != nil {
		testHookInsertLocked()
	}
	old := *inv.entries.Load()
	if e := old[string(key)]; e != nil {
		return e
	}
	if len(old) >= inv.max {
		return inv.originOverflowLocked(keyOrigin(key), o)
	}
	k := string(key)
	method, rest, _ := strings.Cut(k, "\x00")
	origin, route, _ := strings.Cut(rest, "\x00")
	e := newInvEntry(method, origin, route, o)
	e.seq = len(old)
	m := make(map[string]*invEntry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[k] = e
	inv.entries.Store(&m)
	inv.spellings.Store(inv.spellings.Load().with(o, e))
	if ors := inv.origins.Load(); !ors.has(origin) {
		inv.origins.Store(ors.with(origin, nil))
	}
	return e
}

// overflowFor returns the overflow entry of a call of a new key once the
// inventory is full: the overflow entry of its origin, added when the
// origin has no entry yet and fewer than MaxOverflowOrigins origins have
// one (so a new origin is never hidden by another origin's paths), else
// the global overflow entry. The lock is taken only to add an origin's
// overflow entry, once per origin.
func (inv *Inventory) overflowFor(key []byte, o *Observation) *invEntry {
	origin := keyOrigin(key)
	ors := inv.origins.Load()
	if e, known := ors.byOrigin[string(origin)]; known || len(ors.overflow) >= inv.maxOrigins {
		return inv.orGlobal(e)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if testHookInsertLocked != nil {
		testHookInsertLocked()
	}
	return inv.originOverflowLocked(origin, o)
}

// originOverflowLocked is overflowFor under inv.mu.
func (inv *Inventory) originOverflowLocked(origin []byte, o *Observation) *invEntry {
	ors := inv.origins.Load()
	if e, known := ors.byOrigin[string(origin)]; known || len(ors.overflow) >= inv.maxOrigins {
		return inv.orGlobal(e)
	}
	e := newInvEntry(overflowMethod, string(origin), overflowRoute, o)
	e.overflow = true
	inv.origins.Store(ors.with(e.origin, e))
	return e
}

// orGlobal returns e, or the global overflow entry when e is nil.
func (inv *Inventory) orGlobal(e *invEntry) *invEntry {
	if e == nil {
		return inv.overflow
	}
	return e
}

// keyOrigin returns the origin of an entry key (appendKey).
func keyOrigin(key []byte) []byte {
	_, rest, _ := bytes.Cut(key, []byte{0})
	origin, _, _ := bytes.Cut(rest, []byte{0})
	return origin
}

// newInvEntry returns an entry for method, origin and route, the host
// taken from o's URL.
func newInvEntry(method, origin, route string, o *Observation) *invEntry {
	e := &invEntry{method: method, origin: origin, route: route}
	if origin != invalidOrigin {
		e.scheme, _, _ = strings.Cut(origin, "://")
		e.host, _ = originHost(o.URL.Hostname())
		if i := strings.LastIndexByte(origin, ':'); i >= 0 {
			e.port, _ = strconv.Atoi(origin[i+1:])
		}
	}
	e.first.Store(-1)
	return e
}

// invOrigins lists the origins of an Inventory's entries. Immutable once
// published (copy on write).
type invOrigins struct {
	// byOrigin maps every origin with an entry to its overflow entry, nil
	// for an origin with entries of its own (whose calls of new keys, past
	// MaxEntries, go to the global overflow entry).
	byOrigin map[string]*invEntry
	// overflow lists the origins' overflow entries in the order added.
	overflow []*invEntry
}

func (ors *invOrigins) has(origin string) bool {
	_, ok := ors.byOrigin[origin]
	return ok
}

// with returns ors with origin added, mapped to e (an overflow entry, or
// nil).
func (ors *invOrigins) with(origin string, e *invEntry) *invOrigins {
	m := make(map[string]*invEntry, len(ors.byOrigin)+1)
	for k, v := range ors.byOrigin {
		m[k] = v
	}
	m[origin] = e
	n := &invOrigins{byOrigin: m, overflow: ors.overflow}
	if e != nil {
		n.overflow = append(ors.overflow[:len(ors.overflow):len(ors.overflow)], e)
	}
	return n
}

// Status classes, in the order of invEntry.classes.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other", "error"}

const classError = 6

// Flag bits of invEntry.flags besides the AuthKind bits.
const (
	entryAuthNone = 1 << 20
	entryPinned   = 1 << 21 // a TLS call was pinned
	entryUnpinned = 1 << 22 // a TLS call was not pinned
	entryTLSShift = 24      // TLS version bits from here: none, 1.0..1.3, other
)

var tlsNames = [...]string{"none", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3", "other"}

// tlsBit returns the entry flag for a TLS version (0: plain text).
func tlsBit(v uint16) uint32 {
	i := 5
	switch v {
	case 0:
		i = 0
	case tls.VersionTLS10:
		i = 1
	case tls.VersionTLS11:
		i = 2
	case tls.VersionTLS12:
		i = 3
	case tls.VersionTLS13:
		i = 4
	}
	return 1 << (entryTLSShift + i)
}

// invShards is the number of counter shards per entry (a power of two).
const invShards = 4

// invShard holds the counters every call adds to: one 64-byte cache line.
type invShard struct {
	classes [len(statusClasses)]atomic.Uint64
	durSum  atomic.Int64 // ns
}

// lastSeenGranularity: last-seen is updated at most once per this many
// nanoseconds, to spare a contended write per call.
const lastSeenGranularity = int64(time.Millisecond)

// latencyBuckets is the number of log-linear latency buckets: four per
// power of two of microseconds, so a quantile is known within 12.5%, up
// to about 70 minutes.
const latencyBuckets = 128

// invEntry is one (method, origin, route) of an Inventory. The identity
// fields are immutable; the counters are atomics.
type invEntry struct {
	// shards spread the counters every call updates over several cache
	// lines, so parallel calls to one endpoint contend less.
	shards [invShards]invShard

	method, origin, route string
	scheme, host          string
	port                  int
	overflow              bool

	first, last atomic.Int64 // unix ns; first is -1 until set
	flags       atomic.Uint32
	durMin      atomic.Int64 // ns + 1; 0 until the first call (a call of 0 ns is 1)
	durMax      atomic.Int64
	buckets     [latencyBuckets]atomic.Uint64

	attrOnce sync.Once
	attrs    attribute.Set // identity attributes, for the metrics

	seq    int   // insertion index: entries are never removed, so 0..len-1
	listed uint8 // status classes already in Inventory.series; under obsMu
}

func (e *invEntry) record(o *Observation, at int64) {
	class := classError
	var fl uint32
	if o.Err == nil {
		switch s := o.StatusCode; {
		case s >= 100 && s < 600:
			class = s/100 - 1
		default:
			class = 5
		}
		fl = tlsBit(o.TLSVersion)
		if o.TLSVersion != 0 {
			if o.Pinned {
				fl |= entryPinned
			} else {
				fl |= entryUnpinned
			}
		}
	}
	if o.Auth == AuthNone {
		fl |= entryAuthNone
	} else {
		fl |= uint32(o.Auth & authAll)
	}
	if e.flags.Load()&fl != fl {
		e.flags.Or(fl)
	}
	// The status counter is bumped last: a snapshot or metric collection
	// that counts the call finds its latency, first and last seen stored.
	sh := &e.shards[rand.Uint32()&(invShards-1)]

	d := int64(o.Duration)
	if d < 0 {
		d = 0
	}
	// The bucket first, then the sum and the rest: a snapshot that finds
	// the buckets holding exactly the calls the status counters held
	// before it read the sum knows the sum is of those calls (export).
	e.buckets[latencyBucket(d)].Add(1)
	sh.durSum.Add(d)
	dm := min(d, math.MaxInt64-1) + 1 // durMin's form
	for {
		m := e.durMin.Load()
		if (m != 0 && m <= dm) || e.durMin.CompareAndSwap(m, dm) {
			break
		}
	}
	for {
		m := e.durMax.Load()
		if m >= d || e.durMax.CompareAndSwap(m, d) {
			break
		}
	}
	// First-seen is the earliest end recorded: calls that end together
	// are recorded in any order. One load once it is set and this call is
	// not earlier, as before.
	for {
		f := e.first.Load()
		if f >= 0 && f <= at || e.first.CompareAndSwap(f, at) {
			break
		}
	}
	// Last-seen only moves forward: a compare-and-swap, so a call that
	// read it before a concurrent, later-ending call stored its time does
	// not overwrite that with its own earlier reading.
	for {
		l := e.last.Load()
		if at-l < lastSeenGranularity {
			break
		}
		if testHookLastSeen != nil {
			testHookLastSeen()
		}
		if e.last.CompareAndSwap(l, at) {
			break
		}
	}
	sh.classes[class].Add(1)
}

// testHookInsertLocked, when set by a test, runs each time insert takes
// the insertion lock.
var testHookInsertLocked func()

// testHookLastSeen, when set by a test, runs between reading last-seen
// and updating it, where a concurrent call can record a later time.
var testHookLastSeen func()

// totals sums the status counters of the shards.
func (e *invEntry) totals() (classes [len(statusClasses)]uint64) {
	for i := range e.shards {
		sh := &e.shards[i]
		for c := range sh.classes {
			classes[c] += sh.classes[c].Load()
		}
	}
	return classes
}

// durSum sums the durations of the shards.
func (e *invEntry) durSum() (ns int64) {
	for i := range e.shards {
		ns += e.shards[i].durSum.Load()
	}
	return ns
}

// exportTries is how many times export reads a busy entry for figures
// of one set of calls before it settles for figures a few calls apart.
const exportTries = 8

// latencyBucket returns the bucket of a duration in nanoseconds.
func latencyBucket(ns int64) int {
	v := uint64(ns / 1000) // µs
	if v < 4 {
		return int(v)
	}
	exp := bits.Len64(v) - 1 // >= 2
	sub := int(v>>(exp-2)) & 3
	i := 4*(exp-1) + sub
	if i >= latencyBuckets {
		return latencyBuckets - 1
	}
	return i
}

// bucketBounds returns the [lo, hi) bounds of bucket i in microseconds.
func bucketBounds(i int) (float64, float64) {
	if i < 4 {
		return float64(i), float64(i + 1)
	}
	exp := i/4 + 1
	sub := i % 4
	lo := uint64(4+sub) << (exp - 2)
	hi := uint64(5+sub) << (exp - 2)
	return float64(lo), float64(hi)
}

// InventoryEntry is the exported view of one inventory entry.
type InventoryEntry struct {
	// Method, Origin ("https://api.example.com:443") and Route identify the
	// entry; Scheme, Host and Port repeat the origin's parts.
	Method string `json:"method"`
	Origin string `json:"origin"`
	Scheme string `json:"scheme"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Route  string `json:"route"`
	// Overflow marks an entry counting calls past MaxEntries: an origin's
	// overflow entry (method "_OTHER", route "_overflow": every call of an
	// origin first called once the inventory was full), or the global one
	// (origin "_overflow" too: the other calls of new method, origin and
	// route combinations).
	Overflow bool `json:"overflow,omitempty"`
	// Calls is the number of calls recorded.
	Calls uint64 `json:"calls"`
	// Status counts calls by status class: "1xx" to "5xx", "other",
	// "error" (no response). Classes with no call are left out.
	Status map[string]uint64 `json:"status"`
	// Latency summarises the call durations.
	Latency LatencySummary `json:"latency"`
	// Auth lists the authentication kinds seen ("none" when some call had
	// no credential).
	Auth []string `json:"auth"`
	// TLS lists the TLS versions of the responses ("TLS 1.3", "none" for
	// plain text); empty (never nil) when no call had a response.
	TLS []string `json:"tls"`
	// Pinned is true when at least one call went over TLS and every TLS
	// call's connection had a pin set enforced (not report-only, not
	// expired, for the server name the handshake verified).
	Pinned bool `json:"pinned"`
	// FirstSeen and LastSeen are when the earliest and the latest call of
	// the entry ended. LastSeen is kept to the millisecond and never goes back
	// (a call that ends after a later-ending one does not move it).
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// LatencySummary summarises durations in milliseconds. The quantiles are
// estimates from log-linear buckets, within 12.5%.
type LatencySummary struct {
	Count  uint64  `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// InventorySnapshot is the inventory at one point in time.
type InventorySnapshot struct {
	GeneratedAt        time.Time        `json:"generated_at"`
	MaxEntries         int              `json:"max_entries"`
	MaxOverflowOrigins int              `json:"max_overflow_origins"`
	Entries            []InventoryEntry `json:"entries"`
}

// Snapshot returns the entries, origins' overflow entries included, sorted
// by origin, route and method, with the global overflow entry last when it
// has calls. Counters are read one by one
// while calls go on: the times and latency of an entry always include
// every call its status counts hold (a call's status is counted last),
// and an entry is read again (a few times at most) until its latency
// count matches its calls, so that every figure is of the same calls. An
// entry whose calls never pause for that long may show a latency count a
// few calls above its calls; its mean and quantiles stay within its min
// and max.
//
// A zero Inventory (not made by NewInventory) has no entry: its snapshot
// is empty.
func (inv *Inventory) Snapshot() InventorySnapshot {
	if inv.entries.Load() == nil {
		return InventorySnapshot{Entries: []InventoryEntry{}}
	}
	// The origins first: an origin's overflow entry is added once the
	// entries are full, so the entries loaded after it hold every entry.
	ors := inv.origins.Load()
	m := *inv.entries.Load()
	s := InventorySnapshot{
		GeneratedAt: inv.now().UTC(), MaxEntries: inv.max, MaxOverflowOrigins: inv.maxOrigins,
		Entries: make([]InventoryEntry, 0, len(m)+len(ors.overflow)+1),
	}
	for _, e := range m {
		if ie, ok := e.export(); ok {
			s.Entries = append(s.Entries, ie)
		}
	}
	for _, e := range ors.overflow {
		if ie, ok := e.export(); ok {
			s.Entries = append(s.Entries, ie)
		}
	}
	slices.SortFunc(s.Entries, func(a, b InventoryEntry) int {
		if c := strings.Compare(a.Origin, b.Origin); c != 0 {
			return c
		}
		if c := strings.Compare(a.Route, b.Route); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	if ie, ok := inv.overflow.export(); ok {
		s.Entries = append(s.Entries, ie)
	}
	return s
}

// Len returns the number of distinct entries (without the overflow
// entries): 0 for a zero Inventory.
func (inv *Inventory) Len() int {
	if m := inv.entries.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// export returns the entry's figures, false when it has no call.
//
// The counters are read while calls go on. The status counters are read
// first: a call's are bumped last, so every other figure read after them
// includes the calls they count, and perhaps calls still being recorded.
// When the latency buckets, bumped first, hold as many calls as the status
// counters did, no call was being recorded between the two reads, and
// every figure is of exactly those calls; else the entry is read again,
// up to exportTries times. Past that, the latency count may be a few calls
// above the calls; the mean is then kept within min and max, as the
// quantiles are.
func (e *invEntry) export() (InventoryEntry, bool) {
	for try := 1; ; try++ {
		ie, seen, exact := e.exportOnce()
		if !seen || exact || try == exportTries {
			return ie, seen
		}
	}
}

func (e *invEntry) exportOnce() (ie InventoryEntry, seen, exact bool) {
	ie = InventoryEntry{
		Method: e.method, Origin: e.origin, Scheme: e.scheme, Host: e.host, Port: e.port,
		Route: e.route, Overflow: e.overflow, Status: map[string]uint64{},
	}
	classes := e.totals()
	for i, n := range classes {
		if n > 0 {
			ie.Status[statusClasses[i]] = n
			ie.Calls += n
		}
	}
	if ie.Calls == 0 {
		return ie, false, true
	}
	fl := e.flags.Load()
	if fl&entryAuthNone != 0 {
		ie.Auth = append(ie.Auth, "none")
	}
	ie.Auth = append(ie.Auth, AuthKind(fl&uint32(authAll)).Names()...)
	for i, n := range tlsNames {
		if fl&(1<<(entryTLSShift+i)) != 0 {
			ie.TLS = append(ie.TLS, n)
		}
	}
	if ie.TLS == nil {
		// No call had a response: an empty list, not JSON's null.
		ie.TLS = []string{}
	}
	ie.Pinned = fl&entryPinned != 0 && fl&entryUnpinned == 0
	if f := e.first.Load(); f >= 0 {
		ie.FirstSeen = time.Unix(0, f).UTC()
	}
	ie.LastSeen = time.Unix(0, e.last.Load()).UTC()
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	ie.Latency = LatencySummary{
		MinMs: ms(max(e.durMin.Load()-1, 0)),
		MaxMs: ms(e.durMax.Load()),
	}
	durSum := e.durSum()

	// Read last: a call being recorded that stored any figure read above
	// bumped its bucket before, and is counted here.
	var counts [latencyBuckets]uint64
	var total uint64
	for i := range e.buckets {
		counts[i] = e.buckets[i].Load()
		total += counts[i]
	}
	ie.Latency.Count = total
	exact = total == ie.Calls
	if total > 0 {
		ie.Latency.MeanMs = min(max(ms(durSum)/float64(total), ie.Latency.MinMs), ie.Latency.MaxMs)
		ie.Latency.P50Ms = quantile(counts[:], total, 0.50)
		ie.Latency.P90Ms = quantile(counts[:], total, 0.90)
		ie.Latency.P99Ms = quantile(counts[:], total, 0.99)
		// The bucket midpoints can stray outside the observed range.
		for _, p := range []*float64{&ie.Latency.P50Ms, &ie.Latency.P90Ms, &ie.Latency.P99Ms} {
			*p = min(max(*p, ie.Latency.MinMs), ie.Latency.MaxMs)
		}
	}
	return ie, true, exact
}

// quantile estimates the q-quantile, in milliseconds, as the midpoint of
// the bucket that holds it.
func quantile(counts []uint64, total uint64, q float64) float64 {
	rank := uint64(q*float64(total) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i, n := range counts {
		cum += n
		if cum >= rank {
			lo, hi := bucketBounds(i)
			return (lo + hi) / 2 / 1000
		}
	}
	return 0
}

// MarshalJSON encodes Snapshot. For a zero Inventory (not made by
// NewInventory) it returns a *ConfigError.
func (inv *Inventory) MarshalJSON() ([]byte, error) {
	if zeroReason(inv) != "" {
		return nil, zeroErr(inv)
	}
	return json.Marshal(inv.Snapshot())
}

// Handler returns an http.Handler serving the inventory as JSON (GET and
// HEAD; other methods get 405). It has no authentication of its own:
// mount it on an admin listener, since it tells which APIs the service
// calls and how. A zero Inventory's (not made by NewInventory) answers
// 500, saying so.
func (inv *Inventory) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if zeroReason(inv) != "" {
			http.Error(w, "inventory: not made by NewInventory", http.StatusInternalServerError)
			return
		}
		b, err := json.MarshalIndent(inv.Snapshot(), "", "  ")
		if err != nil {
			http.Error(w, "inventory: encoding failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(append(b, '\n'))
	})
}

// observe reports every entry to the metric observer, in a stable order.
//
// The OTel SDK keeps a bounded number of series per instrument and
// collection (its cardinality limit, 2000 by default): the first distinct
// attribute sets observed are kept, the rest are added into one series
// with otel.metric.overflow=true. So that the same series win at every
// collection, and a series once exported stays exported, the endpoint
// gauge is observed in the order the entries were inserted (the origins'
// overflow entries, added once the inventory is full, after the others,
// and the global overflow entry last), and the calls counter in the order
// its series first had calls. See inventory.md for sizing
// the limit.
func (inv *Inventory) observe(o metric.Observer, calls metric.Int64ObservableCounter, endpoint metric.Int64ObservableGauge) {
	ors := inv.origins.Load() // first, as in Snapshot
	m := *inv.entries.Load()
	order := make([]*invEntry, len(m), len(m)+len(ors.overflow)+1)
	for _, e := range m {
		order[e.seq] = e
	}
	order = append(append(order, ors.overflow...), inv.overflow)

	inv.obsMu.Lock()
	defer inv.obsMu.Unlock()
	for _, e := range order {
		e.observeEndpoint(o, endpoint)
		classes := e.totals()
		for c, n := range classes {
			if n == 0 || e.listed&(1<<c) != 0 {
				continue
			}
			e.listed |= 1 << c
			base := e.identity().ToSlice()
			kv := append(base[:len(base):len(base)], StatusClassKey.String(statusClasses[c]))
			inv.series = append(inv.series, invSeries{e: e, class: c, attrs: attribute.NewSet(kv...)})
		}
	}
	for i := range inv.series {
		s := &inv.series[i]
		o.ObserveInt64(calls, int64(s.e.classTotal(s.class)), metric.WithAttributeSet(s.attrs))
	}
}

// identity returns the entry's identity attributes.
func (e *invEntry) identity() *attribute.Set {
	e.attrOnce.Do(func() {
		e.attrs = attribute.NewSet(
			semconv.HTTPRequestMethodKey.String(e.method),
			semconv.URLScheme(e.scheme),
			semconv.ServerAddress(e.host),
			semconv.ServerPort(e.port),
			semconv.URLTemplate(e.route),
		)
	})
	return &e.attrs
}

// classTotal returns the calls of one status class.
func (e *invEntry) classTotal(c int) uint64 {
	var n uint64
	for i := range e.shards {
		n += e.shards[i].classes[c].Load()
	}
	return n
}

// observeEndpoint reports the entry's MetricAPIEndpoint series, when it
// has calls.
func (e *invEntry) observeEndpoint(o metric.Observer, endpoint metric.Int64ObservableGauge) {
	ie, seen := e.export()
	if !seen {
		return
	}
	base := e.identity().ToSlice()
	// tls.protocol.version takes "1.3", not "TLS 1.3".
	tlsv := strings.ReplaceAll(strings.Join(ie.TLS, ","), "TLS ", "")
	kv := append(base[:len(base):len(base)],
		AuthKey.String(strings.Join(ie.Auth, "+")),
		semconv.TLSProtocolVersion(tlsv),
		PinnedKey.Bool(ie.Pinned))
	o.ObserveInt64(endpoint, 1, metric.WithAttributeSet(attribute.NewSet(kv...)))
}

// NewInventoryLayer returns the layer recording every call into inv: a
// per-call layer that measures the call until its response headers arrive
// (or it fails) and records its method, origin, route, status, the
// authentication marked by inner layers (MarkAuth), the TLS version of the
// response and pinning (MarkPinned). Place it near the top of the stack,
// above the egress check, so refused calls are counted too (as errors). A
// call whose layers below panic (a bug in a caller's layer or base
// transport) is counted as an error too, and the panic goes on; so is a
// call whose next transport returns neither a response nor an error,
// which the layer returns as an error, as net/http's Client does.
// A nil inv, or one not made by NewInventory (a zero Inventory, which
// would panic on the first call), is a *ConfigError.
func NewInventoryLayer(next http.RoundTripper, inv *Inventory) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	if inv == nil {
		return nil, configErrorf("Inventory", nil, "is nil")
	}
	if inv.now == nil || inv.entries.Load() == nil {
		return nil, configErrorf("Inventory", nil, "not made by NewInventory")
	}
	return &inventoryLayer{next: orDefault(next), inv: inv}, nil
}

type inventoryLayer struct {
	next http.RoundTripper
	inv  *Inventory
	hops hops.Set[struct{}] // the redirect responses returned
}

func (l *inventoryLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	_, hop := l.hops.Follow(req)
	rec, r, created := withCallRecord(req, hop)
	cs := ownedScope(r)
	// Read before next: inside a call scope, req may become the call's
	// first attempt's request (beginCallAttempt), whose URL and header the
	// inner layers change (an API key in the query).
	method, u := req.Method, req.URL
	var start time.Time
	switch {
	case cs != nil && l.inv.realClock && !cs.start.IsZero():
		start = cs.start // the call began just now: no second clock read
	case l.inv.realClock:
		start = time.Now()
	default:
		start = readClockBefore(l.inv.now, req)
	}
	returned := false
	defer func() {
		if !returned { // a panic (or runtime.Goexit) below: not recovered here
			l.panicked(method, u, rec, created, start)
		}
	}()
	resp, err := l.next.RoundTrip(r)
	returned = true
	if resp == nil && err == nil {
		err = errNoNextResponse
	}
	if created {
		rec.finish()
	}
	var end time.Time
	if l.inv.realClock {
		end = time.Now()
	} else {
		end = readClockAfter(l.inv.now, resp)
	}
	if cs != nil && l.inv.realClock && !cs.start.IsZero() {
		cs.elapsed = end.Sub(cs.start) // the call trace's end too
	}
	o := Observation{
		Method:   method,
		URL:      u,
		Route:    rec.route,
		Duration: end.Sub(start),
		At:       end,
		Auth:     rec.auth(),
		Pinned:   rec.pinned(),
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		o.Err = err
		l.inv.Record(o)
		return nil, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	o.StatusCode = resp.StatusCode
	if cs := serverTLS(u, resp); cs != nil {
		o.TLSVersion = cs.Version
	}
	l.inv.Record(o)
	if hops.IsRedirect(resp) {
		l.hops.Pend(resp, struct{}{})
	}
	return resp, nil
}

// panicked records a call whose next transport panicked (a caller's layer
// or base transport with a bug; net/http's server recovers a handler's
// panic, and a caller may recover too): the panic goes on, but the call,
// which may have been sent, is counted as failed (no status), as the audit
// log records it and the call trace ends its span.
func (l *inventoryLayer) panicked(method string, u *url.URL, rec *callRecord, created bool, start time.Time) {
	if created {
		rec.finish()
	}
	// The caller's clock, read again, may panic too: the first panic
	// goes on (readClockUnwinding), the call recorded with no duration.
	end := readClockUnwinding(l.inv.now, start)
	l.inv.Record(Observation{
		Method:   method,
		URL:      u,
		Route:    rec.route,
		Err:      errPanicked,
		Duration: end.Sub(start),
		At:       end,
		Auth:     rec.auth(),
		Pinned:   rec.pinned(),
	})
}
