package transport

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/hostname"
)

// Defaults of BaseConfig. A zero field in BaseConfig means the default.
const (
	// DefaultDialTimeout bounds establishing a TCP connection.
	DefaultDialTimeout = 10 * time.Second
	// DefaultKeepAlive is the TCP keep-alive probe interval of the default
	// dialer.
	DefaultKeepAlive = 30 * time.Second
	// DefaultTLSHandshakeTimeout bounds a TLS handshake.
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultHTTP2ReadIdleTimeout is how long an HTTP/2 connection may
	// go without a frame from the server before a PING checks it
	// (BaseConfig.HTTP2ReadIdleTimeout).
	DefaultHTTP2ReadIdleTimeout = 30 * time.Second
	// DefaultIdleConnTimeout is how long an idle keep-alive connection is
	// kept in the pool.
	DefaultIdleConnTimeout = 90 * time.Second
	// DefaultMaxIdleConnsPerHost is how many idle connections per host are
	// kept (net/http's own default, 2, makes a busy HTTP/1.1 client close
	// and re-handshake connections constantly).
	DefaultMaxIdleConnsPerHost = 16
)

// meterName is the instrumentation scope name of the transport package's
// tracers and meters.
const meterName = "github.com/securecall/securecall/transport"

// BaseConfig configures NewBase. Every field is optional; the zero
// BaseConfig gives an HTTP/2-capable TLS 1.2+ transport that verifies
// certificates against the system roots, pins nothing, presents no client
// certificate and uses no proxy.
type BaseConfig struct {
	// TLSConfig is the starting TLS configuration (RootCAs, ServerName,
	// MaxVersion, ClientSessionCache...). It is cloned at NewBase, its
	// slices (NextProtos, CipherSuites, CurvePreferences, Certificates,
	// EncryptedClientHelloConfigList) too, so that changing them afterwards
	// does not change the Base; what they point to (a RootCAs pool, a
	// certificate's key) is shared. The caller's value is never modified.
	// Refused with a *ConfigError wrapping
	// ErrInsecureTLS: InsecureSkipVerify (option
	// "TLSConfig.InsecureSkipVerify"), a MinVersion or MaxVersion below
	// TLS 1.2, CipherSuites listed by tls.InsecureCipherSuites, and a
	// KeyLogWriter (crypto/tls would write every connection's secrets to
	// it, with which anyone reading them decrypts the calls). A
	// MinVersion above MaxVersion or above TLS 1.3 (no version left to
	// negotiate) is a *ConfigError for "TLSConfig.MinVersion", and a
	// RootCAs pool with no certificate in it (which trusts no server: what
	// AppendCertsFromPEM leaves from data that holds no PEM certificate)
	// one for "TLSConfig.RootCAs". A NextProtos entry that is empty or
	// longer than 255 bytes (crypto/tls writes no ClientHello with it) is
	// one for "TLSConfig.NextProtos". A ServerName that is neither a DNS name
	// nor an IP address (a port, a scheme, an IPv6 address with a zone, a
	// name not in ASCII such as "bücher.example", whose IDNA form
	// "xn--bcher-kva.example" the error names: see CheckTLSConfig) is a
	// *ConfigError for "TLSConfig.ServerName". A client certificate of Certificates
	// whose leaf has expired, whose extended key usage leaves out
	// clientAuth (a server certificate), or whose PrivateKey (a
	// crypto.Signer) is not its leaf's key (a pair put together by hand;
	// tls.X509KeyPair refuses it) is a *ConfigError for
	// "TLSConfig.Certificates", as a ClientCertificate refuses it: every
	// server verifying client certificates would refuse it, with an alert
	// as vague as "bad certificate". A zero MinVersion becomes
	// tls.VersionTLS12. A VerifyConnection of its own
	// runs after the pin check; an error it or VerifyPeerCertificate
	// returns comes back wrapped in a *tls.CertificateVerificationError
	// (IsCertificateError holds, so it is never retried; errors.Is still
	// finds it). Its VerifyPeerCertificate also runs on resumed sessions,
	// which crypto/tls alone skips (it is called from VerifyConnection
	// then, with the session's certificates and verified chains).
	// GetClientCertificate or Certificates cannot be combined with
	// ClientCertificate. A client certificate key of Certificates or
	// GetClientCertificate that is a crypto.Signer other than
	// *rsa.PrivateKey, *ecdsa.PrivateKey and ed25519.PrivateKey (an HSM,
	// KMS or keyring signer) is wrapped so that its error, which crypto/tls
	// reduces to text over TLS 1.3 ("tls: failed to sign handshake: ..."),
	// comes back with the failed call (errors.Is and As find it) and is
	// classified as the signer says: see Classify. So is an error
	// GetClientCertificate returns (the vault or agent it asks is sealed,
	// down), its message prefixed "transport:
	// TLSConfig.GetClientCertificate: ": nothing was sent and the server
	// is not at fault, so it is retried as never sent when it says it is transient, permanent
	// otherwise, never a breaker failure; one returning neither a
	// certificate nor an error, which crypto/tls would dereference (a
	// panic on net/http's dialing goroutine, ending the process), or a
	// certificate whose PrivateKey is not its leaf's key (which the
	// server would refuse with "error decrypting message"), fails the
	// call as a permanent one, before the certificate is sent. crypto/tls's messages
	// naming the key's type (%T) then name the wrapper. nil means an empty
	// tls.Config.
	// A ClientSessionCache is kept apart per client identity, also when
	// Base transports share one (tls.Config.Clone keeps the cache, so
	// configurations cloned from one template share it): a resumed
	// handshake presents no certificate and the server authenticates the
	// connection with the session's, so a Base never resumes a session
	// made with another client certificate, or without one (Bases with the
	// same Certificates, or with none, share their sessions; a
	// GetClientCertificate's are the Base's own, and since the Base cannot
	// see what it will return, a rotation it makes is not seen either: use
	// ClientCertificate for that).
	// No revocation checking (OCSP, CRL) is done, as in crypto/tls.
	// HTTP/2 is negotiated (ALPN) unless NextProtos is set without "h2",
	// which asks for HTTP/1.1 only ("http/1.1" is then offered after the
	// list's protocols if it leaves it out). A server that speaks only
	// HTTP/2 completes such a handshake with no protocol negotiated and
	// closes the connection: that call fails with a *NoProtocolError.
	TLSConfig *tls.Config

	// Pins pins host patterns to public keys; see PinSet. Validated here: a
	// malformed pin, a duplicate host, or fewer than two distinct pins
	// without AllowSinglePin is a *ConfigError naming e.g. "Pins[0].Pins";
	// with a TLSConfig.ServerName, so is a set that never applies to it
	// (another name, a wildcard behind the exact set for it, a name when
	// it is an IP address, an IP when it is a name: see PinSet.Host),
	// naming "Pins[i].Host". nil pins nothing. The handshake with an https:// Proxy is made with
	// this TLS configuration too, so a pin set whose pattern covers the
	// proxy's name ("*.example.com" and proxy.example.com) is enforced on
	// the proxy's certificate.
	Pins []PinSet

	// ClientCertificate, when set, is presented to servers that ask for a
	// client certificate (mutual TLS), and rotated as it reloads. When the
	// Base sees a new certificate, new calls go over new connections that
	// present it (also for HTTP/2, whose busy connections are never idle),
	// while in-flight calls finish on their connection; a
	// TLSConfig.ClientSessionCache never lets them resume a session made
	// with an earlier certificate, nor (when Base transports share one
	// through a shared TLSConfig) with another ClientCertificate. nil
	// presents none.
	// Every https:// call that gets a response over TLS is then marked
	// AuthMTLS for the inventory and audit log (as it is with a client
	// certificate of TLSConfig.Certificates or
	// TLSConfig.GetClientCertificate), also when
	// the server did not ask for a certificate, and so was sent none
	// (crypto/tls does not report that in the connection state): "mtls"
	// says a client certificate was configured, ready for a server that
	// asks, not that it was sent or checked.
	// With an https:// Proxy, net/http makes the handshake with the proxy
	// from the same TLS configuration, so the certificate is also offered
	// to the proxy when it asks for one (the proxy learns the service's
	// identity; it cannot use the key). Use an http:// proxy URL, or a
	// proxy that does not request client certificates, to keep it from
	// the proxy.
	ClientCertificate *ClientCertificate

	// Proxy chooses a proxy per request, as http.Transport.Proxy. nil
	// means no proxy at all: HTTP_PROXY, HTTPS_PROXY and NO_PROXY are NOT
	// consulted unless the caller passes http.ProxyFromEnvironment
	// explicitly. A proxy sees every destination host (CONNECT line, SNI),
	// can read and alter the traffic if it holds a CA the client trusts (a
	// corporate TLS-inspection proxy), and takes the connection out of
	// reach of dial-time egress and SSRF checks, which then only see the
	// proxy's address (wrap it in SafeDialer.GuardProxy to check
	// IP-literal destinations before the proxy); and environment variables
	// are an easy injection point into a service. So a proxy is an
	// explicit decision. With an https:// proxy URL, the TLS handshake with
	// the proxy uses this Base's TLS configuration (net/http clones
	// TLSClientConfig for it): the roots, the ClientCertificate (offered to
	// a proxy that asks for one), the Pins that cover the proxy's name, and
	// a TLSConfig.ServerName, which then replaces the proxy's name too (the
	// proxy must present a certificate for it). A proxy's answer to the
	// CONNECT of an https request other than 200 is a *ProxyConnectError.
	Proxy func(*http.Request) (*url.URL, error)

	// DialContext dials TCP connections (to the server, or to the proxy).
	// nil means a net.Dialer with DialTimeout and DefaultKeepAlive. Useful
	// for egress control at dial time or to reach test servers under a
	// name.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds establishing a TCP connection with the default
	// dialer. Zero means DefaultDialTimeout; it cannot be combined with
	// DialContext (which has its own).
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake. Zero means
	// DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration
	// IdleConnTimeout is how long an idle connection stays pooled. Zero
	// means DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost is how many idle connections per host are kept.
	// Zero means DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int
	// HTTP2ReadIdleTimeout is the HTTP/2 connection health check: after
	// this long without a frame read from a connection the transport
	// sends a PING, and closes the connection when no answer comes within
	// as long again (at most 15 s, net/http's PingTimeout), failing the
	// requests in flight on it (a replayable one is retried over a new
	// connection). Without it a connection whose peer went silent (a
	// dead NAT mapping, a hung host: no RST, no FIN) stays pooled, and
	// every request sent over it waits until its own timeout. Zero means
	// DefaultHTTP2ReadIdleTimeout; negative, or positive under
	// MinHTTP2ReadIdleTimeout, is a *ConfigError.
	HTTP2ReadIdleTimeout time.Duration
	// HTTP2MaxReceiveBufferPerStream is the flow control window of an
	// HTTP/2 response stream (http.HTTP2Config.MaxReceiveBufferPerStream):
	// how much of a response body a server may send ahead of what the
	// caller has read, which net/http buffers in memory. Give it the
	// LimitsConfig.MaxBodyBytes of the limits layer above when that is
	// smaller than the default, so that a server cannot push more than
	// about twice the limit (read, then buffered) into memory per stream;
	// not much below 64 KiB, or a body crosses a long round trip in many
	// small windows. HTTP/1.1 has no such buffer: the body is read from
	// the connection as the caller reads it. Zero means net/http's
	// default, 4 MiB; negative or above 2^31-1 (HTTP/2's largest window)
	// is a *ConfigError.
	HTTP2MaxReceiveBufferPerStream int
	// MaxResponseHeaderBytes bounds the response header the transport
	// reads (http.Transport.MaxResponseHeaderBytes: the raw status line
	// and field lines of HTTP/1.1, 1xx responses included; for HTTP/2,
	// the SETTINGS_MAX_HEADER_LIST_SIZE it advertises, which counts 32
	// bytes more per field, and which also bounds all 1xx headers of a
	// response together). Reading stops once it is exceeded and the
	// call fails with a *ResponseTooLargeError (Part "header", Size -1),
	// which no layer retries. Give it the LimitsConfig.MaxHeaderBytes of
	// the limits layer above, which checks the parsed header only after
	// the transport read it whole. Zero means
	// DefaultMaxResponseHeaderBytes (1 MiB, not net/http's 10 MiB);
	// negative is a *ConfigError.
	MaxResponseHeaderBytes int64

	// MeterProvider provides the meter for the counters
	// securecall.tls.pin.mismatch {server.address,
	// securecall.tls.pin.report_only}, securecall.tls.pin.expired
	// {server.address} (both counted per handshake) and
	// securecall.tls.client_certificate.reload {securecall.outcome:
	// success|pending|failure} (automatic reloads), and, when mutual TLS
	// is configured, the gauge securecall.tls.client_certificate.expires_in
	// (MetricClientCertificateExpiry) {tls.client.subject,
	// tls.client.hash.sha256}: the seconds left until the NotAfter of the
	// client certificate in use, negative once it has expired, read at
	// collection time (no per-request cost). It observes the
	// ClientCertificate's current certificate, each of
	// TLSConfig.Certificates, or the last certificate
	// TLSConfig.GetClientCertificate returned (nothing before the first
	// handshake). Each certificate has its own series, told apart by its
	// SHA-256 fingerprint (upper-case hex of the leaf's DER, as OTel's
	// semantic conventions write it), since certificates of one service
	// identity share a subject; Bases on one provider sharing a
	// certificate report it once. Its callback is unregistered once the
	// Base is garbage collected, or when the client.Client it belongs to
	// is closed. nil means otel's global provider at NewBase time. A
	// counter that panics (a bug in it) inside a handshake, which net/http
	// makes on a goroutine of its own, is recovered and logged, as
	// OnPinEvent is, and the verdict or reload stands; counting a reload
	// in RoundTrip, its panic goes on, the request's body closed.
	MeterProvider metric.MeterProvider

	// OnPinEvent, when set, is called for every pin mismatch (enforced or
	// report-only) and every handshake with a host whose pin set has
	// expired. It runs inside the TLS handshake, possibly concurrently:
	// keep it fast and non-blocking. A panic in it is recovered and
	// dropped (net/http makes the handshake on a goroutine of its own,
	// where no caller's recover reaches); the check's verdict stands.
	// nil means no hook.
	OnPinEvent func(PinEvent)

	// Now returns the current time for pin-set expiry and the client
	// certificate expiry gauge. nil means time.Now.
	Now func() time.Time
}

// Base is the innermost layer of the stack: an http.Transport cloned from
// http.DefaultTransport (so HTTP/2 stays on), hardened: TLS 1.2 minimum,
// InsecureSkipVerify refused, public-key pins checked in VerifyConnection
// on top of normal chain verification (resumed sessions included), mutual
// TLS with a rotating ClientCertificate, and no proxy unless configured.
//
// Certificate and pin failures surface as errors for which
// IsCertificateError is true; no layer retries them.
//
// A URL host that is an IPv6 address with a zone ("[fe80::1%25eth0]")
// has its certificate verified for the address without the zone (its IP
// SAN), which net/http alone does not do (see zonedTransport): a
// connection pool of its own per zoned host, at most 16 of them.
//
// Base is an http.RoundTripper and safe for concurrent use. It does not
// modify requests; like http.Transport it closes the request body, also on
// errors.
type Base struct {
	t     atomic.Pointer[http.Transport] // the transport new requests use
	proto *http.Transport                // configured, never used: cloned by newTransport
	pins  *pinner                        // nil when nothing is pinned

	maxHeader int64 // the transport's MaxResponseHeaderBytes

	h1Offered []string // the ALPN protocols offered when HTTP/2 is off (NextProtos without "h2"); nil with HTTP/2

	cc      *ClientCertificate
	session string // the ClientSessionCache partition of a client identity other than cc's; "" for none
	mtls    bool   // a client certificate is configured (cc, TLSConfig.Certificates or GetClientCertificate): AuthMTLS
	ccGen   atomic.Uint64
	reloads metric.Int64Counter
	expiry  *gaugeRegistration // the expiry gauge's callback; nil without mutual TLS

	mu      sync.Mutex
	retired []*http.Transport // replaced after a certificate rotation; guarded by mu

	// zoneName: TLSConfig sets no ServerName, so net/http would take an
	// IPv6 host's zone into it (see zonedTransport).
	zoneName bool
	zoned    map[string]zonedTransport // zoned IPv6 host ("fe80::1%eth0") -> its transport; guarded by mu
	open     sync.Map                  // *http.Transport -> *atomic.Int64: its connections open or being dialed (with cc only)

	h2alerts sync.Map     // authority -> the TLS alert that closed a new HTTP/2 connection (watchH2)
	h2alertN atomic.Int64 // entries in h2alerts, at most maxH2Alerts

	signErrs signErrRing // the recent failures of a client key's signer (keySigner)

	testHookSync  func() // tests: run by syncClientCertificate after it read the generation
	testHookZoned func() // tests: run by zonedTransport after it read the generation
}

// maxRetiredTransports bounds how many transports replaced by certificate
// rotations, and with no connection open, a Base remembers (to close their
// idle connections in CloseIdleConnections). An older one is dropped once
// its connections are all closed; one that still has a connection (a call
// in flight on it, or a connection idle in its pool) is kept until then,
// so that CloseIdleConnections (client.Client's Close, as calls in flight
// end) still reaches an HTTP/2 connection whose last call ends after many
// rotations: net/http closes such a connection only once it is idle.
const maxRetiredTransports = 4

var (
	reloadSuccess = metric.WithAttributeSet(attribute.NewSet(attribute.String("securecall.outcome", "success")))
	reloadFailure = metric.WithAttributeSet(attribute.NewSet(attribute.String("securecall.outcome", "failure")))
	reloadPending = metric.WithAttributeSet(attribute.NewSet(attribute.String("securecall.outcome", "pending")))
)

// NewBase returns a Base configured by cfg, or a *ConfigError naming the
// offending field.
func NewBase(cfg BaseConfig) (*Base, error) {
	tc, err := checkTLSConfig(cfg.TLSConfig)
	if err != nil {
		return nil, err
	}
	if err := typedNil("MeterProvider", cfg.MeterProvider); err != nil {
		return nil, err
	}
	if cfg.ClientCertificate != nil && cfg.ClientCertificate.Certificate() == nil {
		return nil, configErrorf("ClientCertificate", nil,
			"holds no certificate: make it with NewClientCertificateFromFiles or NewClientCertificateFromPEM")
	}
	if cfg.ClientCertificate != nil && (tc.GetClientCertificate != nil || len(tc.Certificates) > 0) {
		return nil, configErrorf("ClientCertificate", nil,
			"cannot be combined with TLSConfig.GetClientCertificate or TLSConfig.Certificates")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", cfg.DialTimeout},
		{"TLSHandshakeTimeout", cfg.TLSHandshakeTimeout},
		{"IdleConnTimeout", cfg.IdleConnTimeout},
		{"HTTP2ReadIdleTimeout", cfg.HTTP2ReadIdleTimeout},
	} {
		if d.v < 0 {
			return nil, configErrorf(d.name, nil, "must not be negative, got %v", d.v)
		}
	}
	if d := cfg.HTTP2ReadIdleTimeout; d > 0 && d < MinHTTP2ReadIdleTimeout {
		// It is the PING's answer time too: no peer answers in under a
		// millisecond, so every connection would be closed as lost.
		return nil, configErrorf("HTTP2ReadIdleTimeout", nil,
			"%v is under a millisecond (a unit left out?): it is also the time a PING has to be answered in, so every connection would be closed as lost", d)
	}
	if cfg.DialTimeout != 0 && cfg.DialContext != nil {
		return nil, configErrorf("DialTimeout", nil, "has no effect with DialContext; bound the dial in DialContext")
	}
	if cfg.MaxIdleConnsPerHost < 0 {
		return nil, configErrorf("MaxIdleConnsPerHost", nil, "must not be negative, got %d", cfg.MaxIdleConnsPerHost)
	}
	if cfg.HTTP2MaxReceiveBufferPerStream < 0 || cfg.HTTP2MaxReceiveBufferPerStream > math.MaxInt32 {
		return nil, configErrorf("HTTP2MaxReceiveBufferPerStream", nil,
			"must be between 0 and 2^31-1 (HTTP/2's largest window), got %d", cfg.HTTP2MaxReceiveBufferPerStream)
	}
	if cfg.MaxResponseHeaderBytes < 0 {
		return nil, configErrorf("MaxResponseHeaderBytes", nil,
			"must not be negative, got %d (net/http has no unbounded header read)", cfg.MaxResponseHeaderBytes)
	}

	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(meterName)

	b := &Base{cc: cfg.ClientCertificate, maxHeader: nonZeroOr(cfg.MaxResponseHeaderBytes, DefaultMaxResponseHeaderBytes)}
	if len(cfg.Pins) > 0 {
		p, err := newPinner(cfg.Pins)
		if err != nil {
			return nil, err
		}
		if cfg.TLSConfig != nil && cfg.TLSConfig.ServerName != "" {
			if err := p.serverNameErr(cfg.Pins, cfg.TLSConfig.ServerName); err != nil {
				return nil, err
			}
		}
		p.now = cfg.Now
		if p.now == nil {
			p.now = time.Now
		}
		p.onEvent = cfg.OnPinEvent
		if p.mismatch, err = meter.Int64Counter("securecall.tls.pin.mismatch",
			metric.WithDescription("TLS handshakes whose verified chain matched no pin of the host"),
			metric.WithUnit("{handshake}")); err != nil {
			return nil, configErrorf("MeterProvider", err, "counter securecall.tls.pin.mismatch")
		}
		if p.expired, err = meter.Int64Counter("securecall.tls.pin.expired",
			metric.WithDescription("TLS handshakes with a host whose pin set has expired and was not enforced"),
			metric.WithUnit("{handshake}")); err != nil {
			return nil, configErrorf("MeterProvider", err, "counter securecall.tls.pin.expired")
		}
		b.pins = p
		userVerify := tc.VerifyConnection
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if err := p.verifyConnection(cs); err != nil {
				return err
			}
			if userVerify != nil {
				return userVerify(cs)
			}
			return nil
		}
	}
	b.mtls = b.cc != nil || tc.GetClientCertificate != nil || len(tc.Certificates) > 0
	b.session = sessionPartition(b.cc, tc)
	b.wrapClientKeys(tc)
	if b.mtls {
		if err := b.registerCertExpiry(meter, tc, cfg.Now); err != nil {
			return nil, err
		}
	}
	if b.cc != nil {
		if b.reloads, err = meter.Int64Counter("securecall.tls.client_certificate.reload",
			metric.WithDescription("Automatic reloads of the mTLS client certificate that found new files"),
			metric.WithUnit("{reload}")); err != nil {
			return nil, configErrorf("MeterProvider", err, "counter securecall.tls.client_certificate.reload")
		}
		b.ccGen.Store(b.cc.generation())
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			b.pollClientCertificate(true)
			return b.cc.served(), nil
		}
	}

	p := newHTTPTransport()
	p.TLSClientConfig = tc
	if len(tc.NextProtos) > 0 && !slices.Contains(tc.NextProtos, "h2") {
		// The caller's ALPN list leaves HTTP/2 out: HTTP/1.1 only, as
		// asked. net/http's HTTP/2 set-up would otherwise put "h2" in
		// front of the list and negotiate HTTP/2 with every server that
		// offers it.
		var protos http.Protocols
		protos.SetHTTP1(true)
		p.Protocols = &protos
		if !slices.Contains(tc.NextProtos, "http/1.1") {
			// Offered, as net/http adds it with HTTP/2 on: a server that
			// checks ALPN (crypto/tls) refuses a handshake offering only
			// protocols it does not speak.
			tc.NextProtos = slices.Concat(tc.NextProtos, []string{"http/1.1"})
		}
		b.h1Offered = slices.Clone(tc.NextProtos)
	}
	p.Proxy = cfg.Proxy
	if p.Proxy != nil {
		p.OnProxyConnectResponse = proxyConnectRefused
	}
	p.DialContext = cfg.DialContext
	if p.DialContext == nil {
		d := &net.Dialer{Timeout: nonZeroOr(cfg.DialTimeout, DefaultDialTimeout), KeepAlive: DefaultKeepAlive}
		p.DialContext = d.DialContext
	}
	p.TLSHandshakeTimeout = nonZeroOr(cfg.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	p.IdleConnTimeout = nonZeroOr(cfg.IdleConnTimeout, DefaultIdleConnTimeout)
	// The HTTP/2 health check (net/http has none by default): a PING after
	// the read idle time, the connection closed when it is not answered.
	readIdle := nonZeroOr(cfg.HTTP2ReadIdleTimeout, DefaultHTTP2ReadIdleTimeout)
	p.HTTP2 = &http.HTTP2Config{
		SendPingTimeout:           readIdle,
		PingTimeout:               min(readIdle, maxHTTP2PingTimeout),
		MaxReceiveBufferPerStream: cfg.HTTP2MaxReceiveBufferPerStream, // 0: net/http's default
	}
	p.MaxIdleConnsPerHost = nonZeroOr(cfg.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost)
	p.MaxResponseHeaderBytes = b.maxHeader
	b.proto = p
	b.zoneName = tc.ServerName == ""
	b.t.Store(b.newTransport(b.ccGen.Load()))
	return b, nil
}

// maxZonedTransports bounds how many zoned IPv6 hosts a Base keeps a
// transport for (see zonedTransport); past it, the one made longest ago
// is dropped, its idle connections closed.
const maxZonedTransports = 16

// zonedTransport is the transport of one zoned IPv6 host, made for a
// client certificate generation.
type zonedTransport struct {
	t    *http.Transport
	gen  uint64
	made uint64 // order of making, to drop the oldest
}

// zonedTransport returns the transport for req when its URL's host is an
// IPv6 address with a zone ("fe80::1%eth0", the only way to name a
// link-local peer), TLSConfig sets no ServerName and no proxy is used for
// req; else t, the Base's transport. net/http
// makes the TLS server name of the host with its zone ("[fe80::1%eth0]"),
// which crypto/x509 parses as no IP address and verifies as a DNS name,
// so every handshake failed against a certificate with the address as an
// IP SAN. This host's transport has the address without its zone as its
// ServerName: the certificate is verified for that address (crypto/tls
// sends no SNI for it), pins are checked as for any IP, and the zone
// still chooses the interface dialed. Its sessions are kept apart from
// those of the same address on another interface, another host.
func (b *Base) zonedTransport(t *http.Transport, req *http.Request) *http.Transport {
	if req.URL.Scheme != "https" {
		return t // no TLS to the host (an https proxy's name is not the host's)
	}
	host := req.URL.Hostname()
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() == "" || !a.Is6() {
		return t
	}
	if b.proto.Proxy != nil {
		// Through a proxy (which cannot reach a zone of ours anyway)
		// the transport's ServerName would be the proxy's too.
		if pu, err := b.proto.Proxy(req); err != nil || pu != nil {
			return t
		}
	}
	gen := b.ccGen.Load()
	if b.testHookZoned != nil {
		b.testHookZoned()
	}
	var drop []*http.Transport // at most one
	var old *http.Transport    // retired for an older certificate
	b.mu.Lock()
	z, ok := b.zoned[host]
	// Only a transport for an older generation is replaced: a call that
	// read gen before a rotation and comes here after one that read it
	// after takes the newer transport (as syncClientCertificate installs
	// only a newer generation), else the zoned host would go back to
	// resuming the old certificate's sessions.
	if !ok || z.gen < gen {
		if ok {
			// Made for an older certificate: retired as the Base's own
			// transport is (see maxRetiredTransports), so that
			// CloseIdleConnections still reaches its calls in flight;
			// its idle connections, which no call takes again, are
			// closed below, as syncClientCertificate closes the Base's.
			b.retired = append(b.retired, z.t)
			old = z.t
		}
		if b.zoned == nil {
			b.zoned = make(map[string]zonedTransport)
		}
		var last uint64
		for _, o := range b.zoned {
			last = max(last, o.made)
		}
		if !ok && len(b.zoned) >= maxZonedTransports {
			oldest := ""
			for h, o := range b.zoned {
				if oldest == "" || o.made < b.zoned[oldest].made {
					oldest = h
				}
			}
			drop = append(drop, b.zoned[oldest].t)
			delete(b.zoned, oldest)
		}
		zt := b.newTransport(gen)
		tc := zt.TLSClientConfig
		tc.ServerName = a.WithZone("").String()
		if tc.ClientSessionCache != nil {
			tc.ClientSessionCache = certEpochCache{inner: tc.ClientSessionCache, prefix: "%" + a.Zone() + "\x00"}
		}
		z = zonedTransport{t: zt, gen: gen, made: last + 1}
		b.zoned[host] = z
	}
	b.mu.Unlock()
	if old != nil {
		old.CloseIdleConnections() // calls in flight on it finish
	}
	for _, d := range drop {
		d.CloseIdleConnections() // calls in flight on it finish
		b.open.Delete(d)
	}
	return z.t
}

// newTransport returns a fresh transport (own connection pool, own
// tls.Config clone: http.Transport modifies NextProtos in place) with the
// configured settings. With a client certificate, gen is the certificate
// generation the transport is made for: a caller's ClientSessionCache is
// then partitioned by the ClientCertificate and its generation, so that a
// connection made after a rotation never resumes a session of the previous
// certificate, and a Base sharing the cache (through a shared TLSConfig)
// with another Base never resumes a session of the other's certificate (a
// resumed handshake presents no certificate, and the server would keep
// authenticating the client with the other one for the ticket's lifetime).
// A client identity of TLSConfig's own is partitioned by b.session.
func (b *Base) newTransport(gen uint64) *http.Transport {
	t := b.proto.Clone()
	if t.TLSClientConfig != nil && t.TLSClientConfig.ClientSessionCache != nil {
		prefix := b.session
		if b.cc != nil {
			prefix = strconv.FormatUint(b.cc.ident(), 10) + "." + strconv.FormatUint(gen, 10) + "\x00"
		}
		if prefix != "" {
			inner := t.TLSClientConfig.ClientSessionCache
			t.TLSClientConfig.ClientSessionCache = certEpochCache{inner: inner, prefix: prefix}
		}
	}
	b.watchH2(t)
	if b.cc != nil {
		// Count the transport's connections, so that a retired one is
		// remembered while it has any (see maxRetiredTransports). A dial
		// counts from its start: a call that took the transport before a
		// rotation may dial after it.
		n := new(atomic.Int64)
		dial := t.DialContext
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			n.Add(1)
			c, err := dial(ctx, network, addr)
			if err != nil || c == nil {
				n.Add(-1)
				return c, err
			}
			return &countedConn{Conn: c, open: n}, nil
		}
		b.open.Store(t, n)
	}
	return t
}

// countedConn is a connection of a transport whose open connections are
// counted: Close uncounts it, once.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// openConns reports how many connections of t are open or being dialed.
func (b *Base) openConns(t *http.Transport) int64 {
	if n, ok := b.open.Load(t); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// baseSessionIDs hands out the session cache partitions of Bases with a
// GetClientCertificate of their own.
var baseSessionIDs atomic.Uint64

// sessionPartition returns the prefix that keeps the sessions of tc's
// client identity apart in a shared ClientSessionCache, or "" for a Base
// presenting no certificate (whose sessions keep crypto/tls's keys: a
// prefix holds a NUL, which a server name or address never does). A
// ClientCertificate's sessions are partitioned by newTransport, per
// generation. Fixed Certificates are named by their leaves, so Bases
// presenting the same ones still share sessions; a GetClientCertificate,
// whose answer cannot be known in advance, gets a partition of the Base's
// own.
func sessionPartition(cc *ClientCertificate, tc *tls.Config) string {
	switch {
	case cc != nil:
		return ""
	case tc.GetClientCertificate != nil:
		return "get." + strconv.FormatUint(baseSessionIDs.Add(1), 10) + "\x00"
	case len(tc.Certificates) > 0:
		h := sha256.New()
		for _, c := range tc.Certificates {
			var leaf []byte
			if len(c.Certificate) > 0 {
				leaf = c.Certificate[0]
			}
			h.Write(strconv.AppendInt(nil, int64(len(leaf)), 10))
			h.Write([]byte{':'})
			h.Write(leaf)
		}
		return "crt." + hex.EncodeToString(h.Sum(nil)) + "\x00"
	}
	return ""
}

// certEpochCache is a view of a tls.ClientSessionCache in which the
// sessions of one client certificate generation are kept apart from the
// others'.
type certEpochCache struct {
	inner  tls.ClientSessionCache
	prefix string
}

func (c certEpochCache) Get(key string) (*tls.ClientSessionState, bool) {
	return c.inner.Get(c.prefix + key)
}

func (c certEpochCache) Put(key string, cs *tls.ClientSessionState) {
	c.inner.Put(c.prefix+key, cs)
}

// proxyConnectRefused is the Base's http.Transport.OnProxyConnectResponse:
// a proxy's answer to the CONNECT of an https request other than 200 is a
// *ProxyConnectError with its status, where net/http would return its
// reason phrase alone, as a flat error the classifier cannot tell from an
// unknown failure of the host.
func proxyConnectRefused(_ context.Context, _ *url.URL, _ *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &ProxyConnectError{StatusCode: resp.StatusCode}
}

// newHTTPTransport clones http.DefaultTransport, which keeps HTTP/2 on
// (ForceAttemptHTTP2 and its protocol settings), then resets every field
// through which another package's changes to the global could weaken or
// bypass the TLS set up here (custom TLS dialers, proxies, TLS config).
func newHTTPTransport() *http.Transport {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{MaxIdleConns: 100, ExpectContinueTimeout: time.Second}
	}
	t.ForceAttemptHTTP2 = true
	t.DialTLSContext = nil
	//lint:ignore SA1019 the deprecated hook is reset too, or it could bypass our TLS
	t.DialTLS = nil
	//lint:ignore SA1019 the deprecated hook is reset too
	t.Dial = nil
	t.Proxy = nil
	t.ProxyConnectHeader = nil
	t.GetProxyConnectHeader = nil
	t.OnProxyConnectResponse = nil
	t.TLSClientConfig = nil
	// A TLSNextProto map set on the global (x/net/http2.ConfigureTransport,
	// or an empty map to disable HTTP/2) is bound to the global's own
	// connection pool; Protocols may have been narrowed to HTTP/1. Let this
	// transport set up its own HTTP/2.
	t.TLSNextProto = nil
	t.Protocols = nil
	return t
}

func nonZeroOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// CheckTLSConfig reports why NewBase would refuse c as
// BaseConfig.TLSConfig: a *ConfigError naming the field
// ("TLSConfig.InsecureSkipVerify", "TLSConfig.MinVersion", ...), matching
// ErrInsecureTLS when the field weakens verification or privacy
// (InsecureSkipVerify, a version below TLS 1.2, an insecure cipher suite,
// a KeyLogWriter), or nil. A
// ServerName that is neither a DNS name nor an IP address ("localhost:443",
// "https://api.example.com", a space, an IPv6 address with a zone, which
// crypto/x509 verifies as a name, a name not in ASCII, which crypto/tls
// does not convert to the IDNA form certificates carry: the error names
// that form to give), which no certificate is valid for,
// is one too ("TLSConfig.ServerName"), and so is a RootCAs pool with no
// certificate, which trusts no server ("TLSConfig.RootCAs"), a NextProtos
// entry that is empty or over 255 bytes ("TLSConfig.NextProtos"), and a client
// certificate of Certificates whose leaf has expired, leaves clientAuth
// out of its extended key usage or is not the certificate of its
// PrivateKey ("TLSConfig.Certificates"). client uses
// it for the TLS configuration of a transport it is given.
func CheckTLSConfig(c *tls.Config) error {
	_, err := checkTLSConfig(c)
	return err
}

// checkServerName reports why name, a TLSConfig.ServerName, is neither
// an IP address (in brackets or not, as crypto/tls takes one; without a
// zone, which crypto/x509 does not parse) nor a DNS name: one with a
// scheme, port or path ("localhost:443", "https://api.example.com"), a
// character a DNS name cannot have or an empty label, or a name not in
// ASCII ("bücher.example": crypto/tls does not convert it to its IDNA
// form, "xn--bcher-kva.example", which certificates carry).
func checkServerName(name string) error {
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")); err == nil {
		if a.Zone() != "" {
			// crypto/x509 parses IP addresses without zones, so it
			// verifies this one as a DNS name.
			return errorString("an IP address with a zone is verified as a DNS name; give the address without its zone")
		}
		return nil
	}
	if strings.ContainsAny(name, ":/@?#") {
		return errorString("must be a host name or IP address, without scheme, port or path")
	}
	a, err := normaliseName(name)
	if err == nil && !isASCII(name) {
		// crypto/tls sends and verifies ServerName as written: a
		// certificate names an internationalised host by its A-labels,
		// which x509 never matches against U-labels. Not converted
		// here: CheckTLSConfig also checks the configuration of a
		// transport we do not own, which would go on sending it as
		// written.
		return fmt.Errorf("%q is not ASCII: crypto/tls would send and verify it as written, where certificates name it in its IDNA ASCII form; give %q", name, a)
	}
	return err
}

// keyMismatch says why c's PrivateKey, a crypto.Signer, is not the key of
// leaf, c's parsed leaf, or returns "": a tls.Certificate put together by
// hand (tls.X509KeyPair, and a ClientCertificate, refuse such a pair) whose
// key is another's, so that the server refuses every handshake's
// signature. A key of a later certificate of the chain (the issuer's put
// first, "cat ca.crt client.crt") is named as such. A key that is no
// crypto.Signer is crypto/tls's to refuse (see isClientKeyUnusable).
func keyMismatch(c *tls.Certificate, leaf *x509.Certificate) string {
	s, ok := c.PrivateKey.(crypto.Signer)
	if _, comparable := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !comparable {
		return "" // no key to compare (a public key algorithm x509 does not know): crypto/tls's to refuse
	}
	pub := s.Public()
	matches := func(k crypto.PublicKey) bool {
		e, ok := k.(interface{ Equal(crypto.PublicKey) bool })
		return ok && e.Equal(pub)
	}
	if matches(leaf.PublicKey) {
		return ""
	}
	for n, der := range c.Certificate {
		if n == 0 {
			continue // the leaf (or no chain at all, with Leaf set by hand)
		}
		if cert, err := x509.ParseCertificate(der); err == nil && matches(cert.PublicKey) {
			return fmt.Sprintf("its key belongs to certificate %d of the chain, not to the first: the chain must start with the key's certificate (the leaf), then its intermediates", n+1)
		}
	}
	return "its PrivateKey is not the key of its leaf certificate"
}

// checkTLSConfig clones c and refuses what would weaken verification.
func checkTLSConfig(c *tls.Config) (*tls.Config, error) {
	if c == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}, nil
	}
	if c.InsecureSkipVerify {
		return nil, configErrorf("TLSConfig.InsecureSkipVerify", ErrInsecureTLS,
			"certificate verification cannot be disabled; trust a private CA with RootCAs instead")
	}
	if c.MinVersion != 0 && c.MinVersion < tls.VersionTLS12 {
		return nil, configErrorf("TLSConfig.MinVersion", ErrInsecureTLS,
			"%s is below TLS 1.2", tls.VersionName(c.MinVersion))
	}
	if c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS12 {
		return nil, configErrorf("TLSConfig.MaxVersion", ErrInsecureTLS,
			"%s is below TLS 1.2", tls.VersionName(c.MaxVersion))
	}
	if c.MinVersion > tls.VersionTLS13 {
		// No version crypto/tls supports is left: every handshake fails.
		return nil, configErrorf("TLSConfig.MinVersion", nil,
			"%s is above TLS 1.3, the highest version crypto/tls supports", tls.VersionName(c.MinVersion))
	}
	if c.MinVersion != 0 && c.MaxVersion != 0 && c.MinVersion > c.MaxVersion {
		// crypto/tls accepts this and fails every handshake instead.
		return nil, configErrorf("TLSConfig.MinVersion", nil,
			"%s is above MaxVersion %s", tls.VersionName(c.MinVersion), tls.VersionName(c.MaxVersion))
	}
	if c.KeyLogWriter != nil {
		// crypto/tls writes every connection's secrets to it: whoever
		// reads them decrypts the calls, credentials included.
		return nil, configErrorf("TLSConfig.KeyLogWriter", ErrInsecureTLS,
			"would write the secrets of every connection, with which its traffic can be decrypted; use it in a debugging tool of your own, never in a client")
	}
	insecure := tls.InsecureCipherSuites()
	for i, id := range c.CipherSuites {
		if slices.ContainsFunc(insecure, func(s *tls.CipherSuite) bool { return s.ID == id }) {
			return nil, configErrorf("TLSConfig.CipherSuites", ErrInsecureTLS,
				"CipherSuites[%d] %s is insecure", i, tls.CipherSuiteName(id))
		}
	}
	if c.RootCAs != nil && c.RootCAs.Equal(x509.NewCertPool()) {
		// x509 verifies against this pool alone, not the system's: no
		// chain ends in it, and every handshake would fail with "unknown
		// authority", blaming the server.
		return nil, configErrorf("TLSConfig.RootCAs", nil,
			"holds no certificate, so no server can be trusted and every handshake would fail (a pool filled by AppendCertsFromPEM from data with no PEM certificate in it?); nil means the system roots")
	}
	now := time.Now()
	for i := range c.Certificates {
		// A ClientCertificate refuses these (parseKeyPair): a server that
		// asks for a client certificate refuses them on every handshake,
		// often with an alert as vague as "bad certificate".
		leaf := leafOf(&c.Certificates[i])
		switch {
		case leaf == nil:
		case now.After(leaf.NotAfter):
			return nil, configErrorf("TLSConfig.Certificates", nil,
				"Certificates[%d] (%q) expired at %s: every server verifying client certificates would refuse it",
				i, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
		case !clientAuthAllowed(leaf):
			return nil, configErrorf("TLSConfig.Certificates", nil,
				"Certificates[%d] (%q): its extended key usage does not allow client authentication (no clientAuth; a server certificate?): every server verifying client certificates would refuse it",
				i, leaf.Subject.CommonName)
		}
		if leaf != nil {
			if err := keyMismatch(&c.Certificates[i], leaf); err != "" {
				return nil, configErrorf("TLSConfig.Certificates", nil,
					"Certificates[%d] (%q): %s: every server verifying client certificates would refuse it (\"error decrypting message\")",
					i, leaf.Subject.CommonName, err)
			}
		}
	}
	for i, p := range c.NextProtos {
		// crypto/tls refuses to write a ClientHello with such a name
		// ("tls: invalid NextProtos value"): every handshake would fail.
		if len(p) == 0 || len(p) > 255 {
			return nil, configErrorf("TLSConfig.NextProtos", nil,
				"NextProtos[%d] is %d bytes long: an ALPN protocol name is 1 to 255 bytes (RFC 7301), and crypto/tls fails every handshake offering another", i, len(p))
		}
	}
	if c.ServerName != "" {
		if err := checkServerName(c.ServerName); err != nil {
			// crypto/tls takes any string and fails every handshake:
			// no certificate is valid for it.
			return nil, configErrorf("TLSConfig.ServerName", nil, "%v: no certificate is valid for it, so every handshake would fail", err)
		}
	}
	// Clone is shallow: the slices would stay the caller's, read at every
	// handshake, so a caller rewriting one in place after NewBase (an
	// insecure cipher suite, an ALPN list past the HTTP/1.1 choice made
	// here) would change this Base.
	tc := c.Clone()
	tc.NextProtos = slices.Clone(tc.NextProtos)
	tc.CipherSuites = slices.Clone(tc.CipherSuites)
	tc.CurvePreferences = slices.Clone(tc.CurvePreferences)
	tc.Certificates = slices.Clone(tc.Certificates)
	tc.EncryptedClientHelloConfigList = slices.Clone(tc.EncryptedClientHelloConfigList)
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	// A refusal by the caller's own verifier is a certificate failure like
	// a pin mismatch: IsCertificateError must hold for it, so that no
	// layer retries it or counts it as a server fault. The caller's error
	// stays reachable through Unwrap.
	vc, vpc := tc.VerifyConnection, tc.VerifyPeerCertificate
	if vpc != nil {
		tc.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
			if err := vpc(raw, chains); err != nil {
				var certs []*x509.Certificate
				for _, der := range raw {
					if c, perr := x509.ParseCertificate(der); perr == nil {
						certs = append(certs, c)
					}
				}
				return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
			}
			return nil
		}
	}
	if vc != nil || vpc != nil {
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			// crypto/tls does not call VerifyPeerCertificate on a resumed
			// session (TLS 1.2 or 1.3), so a caller's check there (their
			// own pinning, say) would be skipped on every connection that
			// resumes from a ClientSessionCache. VerifyConnection runs on
			// every handshake: run it from here for those, with the
			// session's certificates and verified chains.
			if vpc != nil && cs.DidResume {
				raw := make([][]byte, len(cs.PeerCertificates))
				for i, c := range cs.PeerCertificates {
					raw[i] = c.Raw
				}
				if err := vpc(raw, cs.VerifiedChains); err != nil {
					return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
				}
			}
			if vc != nil {
				if err := vc(cs); err != nil {
					return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
				}
			}
			return nil
		}
	}
	return tc, nil
}

// RoundTrip sends req over a hardened connection. It follows the
// http.RoundTripper contract: req is not modified and its body is closed.
// A request to a non-ASCII host is sent, on a copy, with its URL host and
// Host in the IDNA lookup form net/http dials (see lookupHostRequest; an
// IPv6 literal with a non-ASCII zone is ErrInvalidRequest, as a URL host
// with userinfo or a port that is not a number, "host:44x", is).
// When a report-only pin set did not match the connection's chain, a
// "securecall.tls.pin_mismatch" event is added to the span in req's
// context.
// On a zero Base (not made by NewBase) it closes the body and returns a
// *ConfigError.
func (b *Base) RoundTrip(req *http.Request) (*http.Response, error) {
	if b.t.Load() == nil {
		closeBody(req)
		return nil, zeroErr(b)
	}
	orig := req
	if req.URL != nil {
		var nonASCII bool
		colon := -1
		for i := 0; i < len(req.URL.Host); i++ {
			switch c := req.URL.Host[i]; {
			case c == ':':
				colon = i
			case c == '@':
				// A hand-built URL.Host with userinfo ("user:pass@host"):
				// net/http would dial it as written (and, through a proxy
				// or a custom dialer, send it as CONNECT authority, TLS
				// server name and Host), so the password would go out or
				// reach a dial error. Refused before anything is dialed,
				// naming no part of the host.
				closeBody(req)
				return nil, fmt.Errorf("%w: userinfo in the URL's host", ErrInvalidRequest)
			case c >= utf8.RuneSelf:
				nonASCII = true
			}
		}
		if colon >= 0 && nonNumericPort(req.URL.Host, colon) {
			closeBody(req)
			return nil, fmt.Errorf("%w: a port that is not a number in the URL's host", ErrInvalidRequest)
		}
		if nonASCII || !isASCII(req.Host) {
			r, err := lookupHostRequest(req)
			if err != nil {
				closeBody(req)
				return nil, err
			}
			req = r
		}
	}
	if b.cc != nil {
		b.syncClientCertificateFor(req)
	}
	// Learn the connection the request goes over (for connAlert): the
	// probe the breaker armed, else one of our own, pooled and answered
	// by the attempt's context (no allocation); outside an attempt (a Base
	// used alone) through an httptrace context of the request's. Only the
	// attempt's own request uses its probe: another request made with the
	// attempt's context (concurrently, perhaps) has a probe of its own.
	a := ownAttempt(req)
	if a == nil && req.Body != nil && req.Body != http.NoBody {
		takeCallBody(req)
	}
	var probe *connProbe
	switch {
	case httptraceKey == nil:
	case a != nil && a.conn.Load() != nil:
	case a != nil:
		probe = armConnProbe(a)
	default:
		// Only GotConn: httptrace.WithClientTrace composes it with the
		// caller's trace, if any, whose hooks are each called once. A new
		// trace, not a pooled connProbe's: WithClientTrace rewrites the
		// trace it is given to call the caller's hooks.
		p := &connProbe{}
		p.trace = &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { p.conn, p.reused = i.Conn, i.Reused }}
		probe = p
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), p.trace))
	}
	t := b.t.Load()
	if u := req.URL; b.zoneName && u != nil && len(u.Host) > 0 && u.Host[0] == '[' && strings.IndexByte(u.Host, '%') > 0 {
		t = b.zonedTransport(t, req)
	}
	resp, err := t.RoundTrip(req)
	if resp != nil && resp.Request == req && req != orig {
		resp.Request = orig // the caller's request, not the probe's copy
	}
	used := probe
	if used == nil && a != nil && err != nil {
		used = a.conn.Load() // the breaker's: it disarms it after we return
	}
	// The attempt failed before net/http handed it a connection (no
	// GotConn): nothing of the request was written (see notSentReset).
	unhanded := err != nil && used != nil && used.conn == nil
	var conn net.Conn
	var reused bool
	switch {
	case probe != nil && a != nil:
		reused = probe.reused
		conn = probe.disarm(a)
	case probe != nil:
		conn, reused = probe.conn, probe.reused
	case err != nil && a != nil:
		if p := a.conn.Load(); p != nil {
			conn, reused = p.conn, p.reused // the breaker's: it disarms it after we return
		}
	}
	if err != nil {
		if herr := used.hookAborted(err); herr != err {
			return nil, herr // the caller's hook stopped it: nothing of the host's
		}
		// A response header is read only over a connection to the host: a
		// proxy refusing CONNECT (net/http's error is the proxy's status
		// text, which may be anything) never got one.
		if (conn != nil || httptraceKey == nil) && headerTooLarge(err, b.maxHeader) {
			return nil, &ResponseTooLargeError{Part: "header", Limit: b.maxHeader, Size: -1}
		}
		err = connAlert(conn, err)
		if b.h1Offered != nil && !reused && req.URL.Scheme == "https" {
			// (An http:// request's TLS connection, if any, is to an
			// https:// proxy, which is not the server.)
			err = noProtocol(conn, err, b.h1Offered)
		}
		err = b.withSignError(b.withH2Alert(req, err))
		if unhanded {
			err = handshakeFailure(notSentReset(err))
		}
		return nil, err
	}
	if resp.TLS != nil && req.URL.Scheme == "https" { // for the inventory (no-ops outside a client call)
		// (An http:// request's resp.TLS is its https:// proxy's
		// connection's: the server got the request in clear, without the
		// client certificate or pins; see serverTLS.)
		if b.mtls && len(resp.TLS.PeerCertificates) > 0 {
			MarkAuth(req.Context(), AuthMTLS)
		}
		if b.pins != nil && b.pins.enforced(resp.TLS) {
			MarkPinned(req.Context())
		}
	}
	if b.pins != nil && b.pins.anyReportOnly && resp.TLS != nil {
		if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
			b.pins.report(span, resp.TLS)
		}
	}
	if resp.Body != http.NoBody && resp.Body != nil && bodyless(req.Method, resp.StatusCode) {
		// No content by definition. net/http hands out http.NoBody for it
		// over HTTP/1.1, but over HTTP/2 an empty body of its own, which
		// the layers above would hold a throttle slot and a span on until
		// it is closed (a HEAD's seldom is): the same for both.
		resp.Body.Close()
		resp.Body = http.NoBody
	}
	return resp, nil
}

// tlsHandshakeError is a failure crypto/tls reported in the TLS handshake
// of a new connection (with the server, or an https:// proxy) that no
// request was handed, as a plain error of its own ("tls: server selected
// unsupported protocol version 301", "tls: downgrade attempt detected,
// ...", "tls: server selected unadvertised ALPN protocol": no alert, no
// type), which the classifier would otherwise take for an unknown
// failure, ambiguous and counted against the host. It is a TLS failure
// (isTLSError): the server's TLS is at fault, the same on every new
// connection, and nothing was sent. It has the error's text and wraps it.
type tlsHandshakeError struct{ err error }

func (e *tlsHandshakeError) Error() string { return e.err.Error() }
func (e *tlsHandshakeError) Unwrap() error { return e.err }

// handshakeFailure returns err, the failure of an attempt that net/http
// never handed a connection, as a *tlsHandshakeError when an innermost
// error of its tree is one of crypto/tls's own ("tls: ..."; a connection
// no request got carried nothing a server could have sent to make one)
// and it is nothing the classifier knows already: a TLS alert or
// certificate failure, a client key or GetClientCertificate failure (see
// handshakeSignError), or a refusal of the server's resumption of a
// cached session (see isStaleResumption). Else err. Only on that error
// path.
func handshakeFailure(err error) error {
	if !innermost(err, isCryptoTLSText) || isTLSError(err) || IsCertificateError(err) || innermost(err, isSignFailed) || innermost(err, isStaleResumption) {
		return err
	}
	if _, ok := errors.AsType[*handshakeSignError](err); ok {
		return err
	}
	return &tlsHandshakeError{err: err}
}

// isCryptoTLSText reports whether s is worded as crypto/tls's errors are.
func isCryptoTLSText(s string) bool { return strings.HasPrefix(s, "tls: ") }

// isStaleResumption reports whether s is crypto/tls's refusal of a
// server's resumption of the session a TLSConfig.ClientSessionCache held
// ("tls: server resumed a session with a different cipher suite",
// "... version", "... EMS extension"; "tls: server selected an invalid
// PSK"): a ticket another server of the host's fleet made, or one its
// server no longer agrees with. crypto/tls drops that session on the
// failure (RFC 5077 §3.2), so the next connection makes a full handshake:
// the failure is not the same on every new connection, and stays what it
// was before handshakeFailure (ambiguous, tried again when the request
// may be).
func isStaleResumption(s string) bool {
	return strings.HasPrefix(s, "tls: server resumed a session with a different ") ||
		strings.HasPrefix(s, "tls: server selected an invalid PSK")
}

// nonNumericPort reports whether host (a URL's Host), whose last colon is
// at colon, has a hand-built port that is not a number ("host:44x";
// url.Parse refuses it): net/http dials and pools the connection under
// the whole host with the scheme's port (url.URL.Hostname takes no such
// port) and its HTTP/2 transport looks it up under the host split at that
// colon (net.SplitHostPort), so it dialed again and again until the
// context ended. A last colon that splits nothing ("[fe80::1]",
// "fe80::1") is no port separator; one inside an IPv6 literal without a
// port ("[2001:db8::1]", a ']' after it, which net.SplitHostPort refuses
// too) is told at no allocation, without SplitHostPort's error.
func nonNumericPort(host string, colon int) bool {
	if rest := host[colon+1:]; ascii.AllDigits(rest) || strings.IndexByte(rest, ']') >= 0 {
		return false
	}
	_, _, err := net.SplitHostPort(host)
	return err == nil
}

// lookupHostRequest is hostname.LookupRequest, refusing an IPv6 literal
// with a non-ASCII zone with ErrInvalidRequest: it sends a request in the
// form net/http dials, whose HTTP/2 transport otherwise dials a name whose
// two IDNA forms differ again and again (golang/go#80417, #81010), and
// over HTTP/1.1 sends a Host in the other form.
func lookupHostRequest(req *http.Request) (*http.Request, error) {
	return hostname.LookupRequest(req, ErrInvalidRequest)
}

// MinHTTP2ReadIdleTimeout is the shortest BaseConfig.HTTP2ReadIdleTimeout
// (and client.WithHTTP2ReadIdleTimeout) accepted: the read idle time is
// also the time a PING has to be answered in, and a shorter one (30 ns
// for 30 s, a unit left out) would close every connection as lost.
const MinHTTP2ReadIdleTimeout = time.Millisecond

// maxHTTP2PingTimeout is the longest the HTTP/2 health check waits for a
// PING's answer (net/http's default PingTimeout).
const maxHTTP2PingTimeout = 15 * time.Second

// bodyless reports whether a response to method with status has no
// content by definition (RFC 9110 sections 9.3.2, 15.3.5, 15.4.5).
func bodyless(method string, status int) bool {
	return method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified
}

// connAlert adds to err, a failure of a request sent over the HTTP/1.1
// connection c, the TLS alert the server closed c with, when net/http
// reports instead that the connection was closed. With TLS 1.3 a server
// refusing the client certificate (or its absence) sends its alert after
// the client's handshake is complete: net/http's read loop reads it and
// closes the connection, and when its write loop writes the request only
// then, the request fails with the write's "use of closed network
// connection" and the alert is dropped (an unclassified error, retried,
// where the certificate error it is is not). crypto/tls keeps the error
// its read got, so reading c again returns it. Only for a connection that
// is closed (net.ErrClosed) and not HTTP/2 (whose connection a failed
// stream leaves open for others).
func connAlert(c net.Conn, err error) error {
	tc, ok := c.(*tls.Conn)
	if !ok || !errors.Is(err, net.ErrClosed) || isTLSError(err) {
		return err
	}
	if st := tc.ConnectionState(); !st.HandshakeComplete || st.NegotiatedProtocol == "h2" {
		return err
	}
	if aerr := closedConnAlert(tc); aerr != nil {
		return fmt.Errorf("%w: %w", err, aerr)
	}
	return err
}

// headerTooLarge reports whether err is net/http's refusal of a response
// header over limit, the MaxResponseHeaderBytes we set (HTTP/1.1, 1xx
// responses included), or over the SETTINGS_MAX_HEADER_LIST_SIZE we
// advertise (HTTP/2), or of HTTP/2 1xx responses whose headers together
// exceed it (the stream is failed with a PROTOCOL_ERROR whose cause is
// "header list too large"). None is an exported type (HTTP/2's is
// net/http's unexported http2StreamError, without Unwrap), and as an
// unknown error it would be classified ambiguous and retried. So an
// error in err's chain must be one of them whole, word for word, never
// merely contain the words: net/http quotes what a server sent in other
// errors (a malformed status or field line, a Transfer-Encoding, a
// GOAWAY's debug data), and a server echoing this wording there must not
// pass for an oversized header.
//
// Over HTTP/2 a single field longer than the advertised limit fails
// net/http's HPACK decoder (its string length limit is the limit), which
// fails the whole connection with COMPRESSION_ERROR, net/http's own
// http2ConnectionError (an unexported type, matched by type: a server
// cannot make one; a GOAWAY it sends is a GoAwayError). Its decoder
// fails no other way on what a conforming encoder sends, so that is
// taken as the oversized header too. A header block over the limit
// spread over CONTINUATION frames fails the connection with
// PROTOCOL_ERROR instead, which net/http also returns for every other
// framing fault of the server, so that one is not recognised.
func headerTooLarge(err error, limit int64) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		s := e.Error()
		if h1, ok := strings.CutPrefix(s, "net/http: server response headers exceeded "); ok {
			if n, ok := strings.CutSuffix(h1, " bytes; aborted"); ok && n == strconv.FormatInt(limit, 10) {
				return true
			}
			continue
		}
		if s == h2HeaderListTooLarge || s == h2HPACKFailed && isH2ConnectionError(e) {
			return true
		}
		if rest, ok := strings.CutPrefix(s, "stream error: stream ID "); ok {
			id, cause, ok := strings.Cut(rest, "; PROTOCOL_ERROR; ")
			if ok && id != "" && strings.Trim(id, "0123456789") == "" &&
				(cause == h2HeaderListTooLarge || cause == "header list too large") {
				return true
			}
		}
	}
	return false
}

// h2HeaderListTooLarge is net/http's error for an HTTP/2 response header
// block over the advertised SETTINGS_MAX_HEADER_LIST_SIZE.
const h2HeaderListTooLarge = "http2: response header list larger than advertised limit"

// h2HPACKFailed is net/http's HTTP/2 connection error for a header block
// its HPACK decoder refused (a field longer than the advertised limit).
const h2HPACKFailed = "connection error: COMPRESSION_ERROR"

// isH2ConnectionError reports whether err is net/http's own
// http2ConnectionError, the error its HTTP/2 client fails a connection
// with on a fault it found in what the server sent.
func isH2ConnectionError(err error) bool {
	t := reflect.TypeOf(err)
	return t.PkgPath() == "net/http" && t.Name() == "http2ConnectionError" && t.Kind() == reflect.Uint32
}

// CloseIdleConnections closes the idle pooled connections, including those
// of transports replaced by client certificate rotations (every one that
// still has a connection open) and those of zoned IPv6 hosts; in-flight
// requests are not affected.
func (b *Base) CloseIdleConnections() {
	if b.t.Load() == nil {
		return
	}
	b.t.Load().CloseIdleConnections()
	b.mu.Lock()
	retired := slices.Clone(b.retired)
	for _, z := range b.zoned {
		retired = append(retired, z.t)
	}
	b.mu.Unlock()
	for _, t := range retired {
		t.CloseIdleConnections()
	}
}

// pollClientCertificate lets the client certificate check its files when
// due and counts the outcome: "success" (installed), "pending" (a renewal
// held back until its NotBefore, counted once; "success" when installed)
// or "failure" (refused). It runs in RoundTrip and in handshakes
// (handshake true: see ClientCertificate.poll).
func (b *Base) pollClientCertificate(handshake bool) {
	if checked, err := b.cc.poll(handshake); checked {
		opt := reloadFailure
		switch {
		case err == nil:
			opt = reloadSuccess
		case errors.Is(err, ErrCertificateNotYetValid):
			opt = reloadPending
		}
		if handshake {
			// On net/http's dialing goroutine: a counter that panics is
			// recovered and logged, the reload stands.
			countInHandshake(b.reloads, opt)
		} else {
			// In RoundTrip (syncClientCertificate): its panic goes on,
			// the request's body closed there; the reload stands, and
			// the next call moves to its transport.
			b.reloads.Add(context.Background(), 1, opt)
		}
	}
}

// syncClientCertificate polls, then, once after the certificate changed,
// moves new requests to a fresh transport so that they handshake with the
// new certificate: closing idle connections is not enough, since an
// HTTP/2 connection that always has a request in flight is never idle and
// would carry new requests with the old certificate indefinitely. Requests
// in flight on the old transport finish undisturbed. Only called from
// RoundTrip, never from inside a handshake.
//
// Only a generation newer than the installed one is installed, and the
// check, the generation and the transport change together under mu: a
// sync that read generation n and was overtaken by one that installed
// n+1 installs nothing (else new calls would go over a transport made for
// n, resuming sessions of certificate n, and the generation would go
// backwards).
// syncClientCertificateFor is syncClientCertificate with req in hand: a
// reload counter of the caller's that panics (a bug in its
// MeterProvider) has req's body closed, as RoundTrip must on every path,
// and its panic goes on unchanged.
func (b *Base) syncClientCertificateFor(req *http.Request) {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	b.syncClientCertificate()
	returned = true
}

func (b *Base) syncClientCertificate() {
	b.pollClientCertificate(false)
	g := b.cc.generation()
	if b.testHookSync != nil {
		b.testHookSync()
	}
	if g <= b.ccGen.Load() {
		return
	}
	b.mu.Lock()
	if g <= b.ccGen.Load() {
		b.mu.Unlock()
		return
	}
	b.ccGen.Store(g)
	prev := b.t.Swap(b.newTransport(g))
	b.retired = append(b.retired, prev)
	var drop []*http.Transport
	if excess := len(b.retired) - maxRetiredTransports; excess > 0 {
		// The oldest first, and only those with no connection left.
		kept := b.retired[:0]
		for _, t := range b.retired {
			if excess > 0 && b.openConns(t) == 0 {
				drop = append(drop, t)
				excess--
				continue
			}
			kept = append(kept, t)
		}
		clear(b.retired[len(kept):])
		b.retired = kept
	}
	b.mu.Unlock()
	prev.CloseIdleConnections()
	for _, t := range drop {
		t.CloseIdleConnections()
		b.open.Delete(t)
	}
}
