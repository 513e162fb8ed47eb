package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/net/http/httpguts"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// DefaultMaxRedirects is the number of redirect hops followed per call when
// WithMaxRedirects is not given.
const DefaultMaxRedirects = transport.DefaultMaxRedirects

// Option configures a Client. Options are applied in order by New, which
// then validates the whole configuration; a later option of the same kind
// replaces an earlier one unless its documentation says it appends. Two
// different options that set the same thing (WithAPIKey and
// WithAPIKeyInQuery, WithSigner and WithHMACSigning, WithTokenSource and
// WithOAuth2ClientCredentials) are a *ConfigError rather than one silently
// replacing the other. An Option holds no state of the client it builds:
// one value may be given to any number of New calls, concurrent ones
// included.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the fully applied configuration New validates and builds from.
type config struct {
	errs []error // option-level errors found while applying, reported by New

	origins          transport.Origins
	redirectOrigins  transport.Origins
	maxRedirects     int
	sensitiveHeaders []string

	tlsConfig     *tls.Config
	pins          []transport.PinSet
	clientCert    *transport.ClientCertificate
	certFiles     *[2]string
	certFileOpts  []transport.ClientCertificateOption
	proxy         func(*http.Request) (*url.URL, error)
	h2ReadIdle    time.Duration // 0: transport.DefaultHTTP2ReadIdleTimeout
	baseTransport http.RoundTripper

	signer       *signer.Signer
	signerOption string // the option that configured signer, for errors
	tokenSource  tokens.Source
	oauth2       *tokens.OAuth2Config
	tokenOption  string // the option that configured bearer tokens, for errors
	apiKey       *transport.APIKeyConfig
	apiKeyOption string // the option that configured apiKey, for errors

	res resilience
	eg  egress

	tracerProvider trace.TracerProvider
	callSpanKind   trace.SpanKind
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
	visibleQuery   []string
	visibleHeaders []string
}

// requireValue is the shape of most options: a nil v (pointer, interface or
// func), or an interface holding a nil pointer (a typed nil, which would
// otherwise pass New and panic on the first call), is a *ConfigError
// naming option and v's type, and so is a value of a securecall type that
// was not made by its constructor (new(tokens.Cache), new(signer.KeySet):
// it would panic or block at call time); otherwise apply stores it.
func requireValue[T any](option string, v T, apply func(*config, T)) Option {
	return optionFunc(func(c *config) {
		if configerr.IsNil(v) {
			what := reflect.TypeFor[T]().String()
			if any(v) != nil {
				what = fmt.Sprintf("%T", v)
			}
			c.fail(option, "nil %s", what)
			return
		}
		if err := configerr.Unconstructed(option, v); err != nil {
			c.errs = append(c.errs, err)
			return
		}
		apply(c, v)
	})
}

func (c *config) fail(option, format string, args ...any) {
	c.errs = append(c.errs, &ConfigError{Option: option, Reason: fmt.Sprintf(format, args...)})
}

// WithOrigins sets the client's API origins ("https://api.example.com",
// "https://api.example.com:8443"): the origins credentials are scoped to and
// redirects may stay within. Appends. Plain "http://" origins are meant
// for loopback testing (any host is accepted); they open plain http to
// that origin only, and are reachable only without credentials:
// the credential guard refuses (ErrEgressDenied) any request over plain
// http that carries a token, API key, signature or credential header.
// A wildcard host ("https://*.example.com") is a *ConfigError: an origin
// is one host (WithEgressAllowlist takes "*.domain" patterns), and so is
// an IP address not in its standard form ("https://127.1",
// "https://[0::1]"): the error names the origin to write
// ("https://127.0.0.1", "https://[::1]"); see transport.ParseOrigin.
// A request matches an origin in any spelling of its destination
// ("https://[0::1]:8443" matches "https://[::1]:8443",
// "https://api.example.com:0443" matches "https://api.example.com");
// see transport.Origins.Allows.
// Default: none, meaning the origin of each call's first request bounds its
// redirects, and no credential layer may be configured.
func WithOrigins(origins ...string) Option {
	return optionFunc(func(c *config) { c.origins = c.parseOrigins("WithOrigins", c.origins, origins) })
}

// WithRedirectOrigins lists foreign origins a redirect may lead to. Such a
// hop is followed without any credential (Authorization, cookies,
// signatures, sensitive headers) and never with a request body. Appends.
// Like the client's origins, they enter the egress allowlist (see
// WithEgressAllowlist), so they require WithOrigins or
// WithEgressAllowlist: alone they would make the allowlist the redirect
// origins only, and every call elsewhere would be refused (a
// *ConfigError). A plain "http://" redirect origin is a
// *ConfigError unless WithOrigins has an http origin too: a redirect
// from https to http is always refused, so beside https origins only it
// could never be a redirect target, and would only open plain http to it
// for direct calls. An IP-literal origin ("https://10.0.0.7:8443") is
// dialable as the client's own IP-literal origins are: the SSRF-safe
// dialer lets that exact address through, private or not, when a request
// or hop names it as that literal (not for a name resolving to it).
// Default: none; a redirect outside the client's origins fails with
// ErrRedirectDenied.
func WithRedirectOrigins(origins ...string) Option {
	return optionFunc(func(c *config) {
		c.redirectOrigins = c.parseOrigins("WithRedirectOrigins", c.redirectOrigins, origins)
	})
}

// parseOrigins appends origins, parsed, to dst, or records a *ConfigError
// naming option and returns dst unchanged: an origin the egress allowlist
// cannot hold (an IPv6 zone) is refused here. A wildcard host
// ("*.example.com") is refused: the origins also enter the egress
// allowlist, where it would allow every name below the domain, while
// credentials and redirects, scoped by exact origin, would match none.
func (c *config) parseOrigins(option string, dst transport.Origins, origins []string) transport.Origins {
	parsed := make(transport.Origins, 0, len(origins))
	for i, s := range origins {
		// The error names the origin by its index: the value itself may
		// carry userinfo, and the parse error never quotes it.
		field := "origins[" + strconv.Itoa(i) + "]"
		o, err := transport.ParseOrigin(s)
		if err != nil {
			c.errs = append(c.errs, &ConfigError{Option: option, Err: &ConfigError{Option: field, Err: err}})
			return dst
		}
		if strings.Contains(o.Host, "*") {
			c.errs = append(c.errs, &ConfigError{Option: option, Err: &ConfigError{Option: field,
				Reason: "an origin names one host: a wildcard is not one (WithEgressAllowlist takes \"*.domain\" patterns)"}})
			return dst
		}
		// Checked here so that the error names this option: New would
		// otherwise find it as an entry of the egress allowlist.
		ec := transport.EgressConfig{Allow: []string{o.String()}, AllowHTTP: o.Scheme == "http"}
		if _, err := transport.NewEgressPolicy(ec); err != nil {
			inner := &ConfigError{Option: field, Err: err}
			if ie, ok := errors.AsType[*ConfigError](err); ok { // "Allow[0]" means nothing to the caller
				inner.Reason, inner.Err = ie.Reason, ie.Err
			}
			c.errs = append(c.errs, &ConfigError{Option: option, Err: inner})
			return dst
		}
		parsed = append(parsed, o)
	}
	return append(dst, parsed...)
}

// WithMaxRedirects caps the redirect hops followed per call. Zero means
// DefaultMaxRedirects; a negative n refuses every redirect.
func WithMaxRedirects(n int) Option {
	return optionFunc(func(c *config) { c.maxRedirects = n })
}

// WithSensitiveHeaders names extra headers (an API-key header, say) that
// carry credentials: they are stripped from foreign redirect hops like
// Authorization is. Appends. Host is refused: net/http sends the
// request's Host field, never a Host entry of its Header, so naming it
// would protect nothing.
func WithSensitiveHeaders(names ...string) Option {
	return optionFunc(func(c *config) {
		for _, n := range names {
			if !httpguts.ValidHeaderFieldName(n) {
				c.fail("WithSensitiveHeaders", "invalid header name %s", redact.FieldName(n))
				return
			}
			if strings.EqualFold(n, "Host") {
				c.fail("WithSensitiveHeaders", "Host is no header net/http sends from Request.Header (it sends Request.Host), so it cannot carry a credential")
				return
			}
			c.sensitiveHeaders = append(c.sensitiveHeaders, textproto.CanonicalMIMEHeaderKey(n))
		}
	})
}

// WithTLSConfig sets the base TLS configuration (root CAs, server name...).
// It is cloned at New, its slices (NextProtos, CipherSuites,
// CurvePreferences, Certificates) too, so that changing them afterwards
// does not change the client; what they point to (a RootCAs pool, a
// certificate's key) is shared. InsecureSkipVerify, a MinVersion below TLS
// 1.2 and a KeyLogWriter (crypto/tls would write every connection's
// secrets to it) are refused (ErrInsecureTLS), and so is a ServerName that is neither a DNS name nor an IP
// address ("localhost:443", "https://api.example.com", an IPv6 address
// with a zone, which crypto/x509 verifies as a name, a name not in ASCII
// such as "bücher.example", which crypto/tls does not convert to the
// IDNA form certificates carry: the error names that form to give): no
// certificate is valid for it, so every handshake would fail; and a RootCAs pool with no
// certificate in it (AppendCertsFromPEM's false unchecked), which trusts
// no server; and a client certificate of Certificates whose leaf has
// expired, whose extended key usage leaves out clientAuth (a server
// certificate) or whose PrivateKey is not its leaf's key (a pair put
// together by hand), which every server verifying client certificates
// refuses; and a NextProtos entry that is empty or longer than 255 bytes,
// with which crypto/tls writes no ClientHello. Default: system roots, TLS
// 1.2 minimum. HTTP/2 is negotiated
// with servers that offer it, unless NextProtos is set without "h2"
// ([]string{"http/1.1"}: HTTP/1.1 only; "http/1.1" is offered even if
// the list leaves it out). A call to a server that speaks only HTTP/2
// then fails with a *transport.NoProtocolError (the server completes the
// handshake with no protocol negotiated and closes the connection).
func WithTLSConfig(cfg *tls.Config) Option {
	return requireValue("WithTLSConfig", cfg, func(c *config, v *tls.Config) { c.tlsConfig = v.Clone() })
}

// WithPins pins hosts to SubjectPublicKeyInfo hashes in the OkHttp form
// "sha256/<base64>". Each set needs at least two pins (one a backup) unless
// it sets AllowSinglePin. A set whose Host matches no host the client may
// connect to over https (its https origins and redirect origins, a name
// the egress allowlist allows, the OAuth2 token endpoint when token
// requests use the client's transport, TLSConfig.ServerName, a proxy of
// WithAllowedProxies: the TLS handshake with an https:// proxy is made
// with these pins) is a *ConfigError naming Pins[i]: its pins would never
// be checked, so a typo
// would leave the real host silently unpinned. Without origins and
// allowlist (any https host) every set is accepted. When WithTLSConfig
// sets a ServerName (with or without origins and allowlist), every
// handshake sends that name and pins are matched against it, whatever
// host is dialed, so only a set that applies to it is accepted: another
// name, a wildcard behind an exact set for it, a name when ServerName is
// an IP address, an IP when it is a name (the origin's own IP included:
// it is not checked) is a *ConfigError naming Pins[i] too. Appends.
// Default: no pinning.
func WithPins(sets ...transport.PinSet) Option {
	return optionFunc(func(c *config) { c.pins = append(c.pins, sets...) })
}

// WithClientCertificate presents cert for mutual TLS. Default: none.
func WithClientCertificate(cert *transport.ClientCertificate) Option {
	return requireValue("WithClientCertificate", cert, func(c *config, v *transport.ClientCertificate) { c.clientCert = v })
}

// WithClientCertificateFiles presents the PEM certificate and key in the
// given files for mutual TLS, reloading them when they change on disk
// (transport.NewClientCertificateFromFiles, with opts). The files'
// permissions are checked as a tokens.FileStore checks a secret's: a key
// file readable or writable by group or others (a Kubernetes secret
// volume's default mode 0644), a certificate file writable by them, a
// file of another user, or a directory on the way others may write to is
// refused at New with a *ConfigError naming this option (wrapping a
// *transport.InsecureFileError that names the file); pass
// transport.WithCertificateKeyGroupReadable() to accept a 0440 key with
// fsGroup. Default: none.
func WithClientCertificateFiles(certFile, keyFile string, opts ...transport.ClientCertificateOption) Option {
	return optionFunc(func(c *config) {
		c.certFiles = &[2]string{certFile, keyFile}
		c.certFileOpts = slices.Clone(opts)
	})
}

// WithProxy routes requests through the proxy chosen by proxy (for example
// http.ProxyFromEnvironment). Default: no proxy, whatever the environment
// says: a proxy sees every destination and, with a corporate CA, can read
// the traffic, and environment variables are an easy injection point.
// With SSRF protection on, a destination given as an IP literal (in any
// form a resolver reads as one, "2852039166" included) is checked against
// the dialer's rules before the request is handed to the proxy, and a
// named destination's port against the dialer's ports (the destination of
// a plain-http request is its Host, which net/http sends the proxy as the
// request-target, when it names another authority than the URL);
// localhost and the well-known cloud metadata names
// (metadata.google.internal, ...) are checked as the addresses they
// always resolve to; another name is resolved by the proxy and cannot be
// checked here, so keep an egress allowlist and let the proxy enforce its
// own policy.
func WithProxy(proxy func(*http.Request) (*url.URL, error)) Option {
	return requireValue("WithProxy", proxy, func(c *config, v func(*http.Request) (*url.URL, error)) { c.proxy = v })
}

// WithEnvironmentProxy opts in to HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
func WithEnvironmentProxy() Option { return WithProxy(http.ProxyFromEnvironment) }

// WithHTTP2ReadIdleTimeout sets the HTTP/2 connection health check
// (transport.BaseConfig.HTTP2ReadIdleTimeout): after d without a frame
// read from a connection the client sends a PING, and closes the
// connection when no answer comes within as long again (at most 15 s),
// failing the requests in flight on it (a replayable one is retried over
// a new connection). It finds a connection whose server went silent (a
// dead NAT mapping, a hung host: no RST, no FIN), which would otherwise
// stay pooled while every request sent over it waits for its own
// timeout. Zero means the default, transport.DefaultHTTP2ReadIdleTimeout
// (30 s); negative, or positive under a millisecond
// (transport.MinHTTP2ReadIdleTimeout: 30 meant as 30 s, a unit left out,
// would close every connection as lost, the PING unanswered in 30 ns), is
// a *ConfigError. The check cannot be turned off: for
// a server that answers PINGs on an idle connection with a GOAWAY (gRPC's
// default policy allows one every 5 minutes), give a longer d. It
// configures the base transport, so it cannot be combined with
// WithBaseTransport; nor with a WithTLSConfig whose NextProtos leaves out
// "h2" (HTTP/1.1 only), where no connection speaks HTTP/2 and the check
// would never run (a *ConfigError).
func WithHTTP2ReadIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail("WithHTTP2ReadIdleTimeout", "negative duration %v", d)
			return
		}
		if d > 0 && d < transport.MinHTTP2ReadIdleTimeout {
			c.fail("WithHTTP2ReadIdleTimeout", "%v is under a millisecond (a unit left out?): it is also the time a PING has to be answered in, so every connection would be closed as lost", d)
			return
		}
		c.h2ReadIdle = d
	})
}

// WithBaseTransport replaces the hardened TLS base transport with rt, for
// tests, benchmarks or a transport you harden yourself. It cannot be
// combined with the TLS options (WithTLSConfig, WithPins, client
// certificates, proxies), WithHTTP2ReadIdleTimeout or the SSRF-safe
// dialer's options (WithAllowedNetworks, WithAllowedProxies,
// WithoutSSRFProtection), which configure the base this replaces. The
// response limits still check the parsed header, but only once rt has
// read it: an http.Transport of your own should set
// MaxResponseHeaderBytes (net/http's default is 10 MiB). The TLS
// configuration of an *http.Transport is checked as WithTLSConfig's is
// (transport.CheckTLSConfig): InsecureSkipVerify, a MinVersion or
// MaxVersion below TLS 1.2, an insecure cipher suite and a KeyLogWriter are a *ConfigError
// matching ErrInsecureTLS, and a ServerName, RootCAs pool or client
// certificate WithTLSConfig refuses is a *ConfigError too (a RoundTripper
// of another type is not looked into). What the hardened
// base does besides TLS, the SSRF-safe dialer and ignoring the proxy
// environment variables, is rt's to do. A request to a non-ASCII host reaches rt
// with its URL host and Host in the IDNA lookup form net/http dials
// ("xn--bcher-kva.example" for "BÜCHER.example"), as it does the hardened
// base, so that an *http.Transport with HTTP/2 does not dial it again
// and again (golang/go#80417).
func WithBaseTransport(rt http.RoundTripper) Option {
	return requireValue("WithBaseTransport", rt, func(c *config, v http.RoundTripper) {
		if t, ok := v.(*http.Transport); ok && t.TLSClientConfig != nil {
			if err := transport.CheckTLSConfig(t.TLSClientConfig); err != nil {
				c.errs = append(c.errs, &ConfigError{Option: "WithBaseTransport", Err: err})
				return
			}
		}
		c.baseTransport = v
	})
}

// WithTracerProvider sets the OpenTelemetry tracer provider. Default: the
// global provider (otel.GetTracerProvider) at New time.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return requireValue("WithTracerProvider", tp, func(c *config, v trace.TracerProvider) { c.tracerProvider = v })
}

// WithCallSpanKind sets the kind of the per-call span. The default,
// trace.SpanKindClient, lets the call span also report the call's first
// send, so a call answered at the first try costs one span; resends get
// child client spans. trace.SpanKindInternal gives a strict two-level
// tree: one internal span per call, one client span per physical send,
// the first included (for backends that count requests from client spans),
// at the cost of one more span per call. Other kinds are a *ConfigError.
func WithCallSpanKind(kind trace.SpanKind) Option {
	return optionFunc(func(c *config) {
		if kind != trace.SpanKindClient && kind != trace.SpanKindInternal {
			c.fail("WithCallSpanKind", "must be trace.SpanKindClient or trace.SpanKindInternal, got %v", kind)
			return
		}
		c.callSpanKind = kind
	})
}

// WithMeterProvider sets the OpenTelemetry meter provider. Default: the
// global provider (otel.GetMeterProvider) at New time.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return requireValue("WithMeterProvider", mp, func(c *config, v metric.MeterProvider) { c.meterProvider = v })
}

// WithPropagator sets the propagator that injects trace context into
// outgoing requests. Default: the global one (otel.GetTextMapPropagator).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return requireValue("WithPropagator", p, func(c *config, v propagation.TextMapPropagator) { c.propagator = v })
}

// WithVisibleQueryKeys lists query parameters whose values may appear in
// spans and error messages, compared case-sensitively with the decoded key.
// Appends. An empty key is a *ConfigError: it names no parameter and would
// show the value of one without a name ("?=value"). Default: none; every
// query value is replaced with "REDACTED" (the keys stay visible). A token
// request of WithOAuth2ClientCredentials shows none, whatever is listed,
// in its span and its audit record alike: a token URL's query is the
// client's.
func WithVisibleQueryKeys(keys ...string) Option {
	return optionFunc(func(c *config) {
		for i, k := range keys {
			if k == "" {
				c.fail("WithVisibleQueryKeys", "empty key at index %d: it names no parameter, and would show the value of one without a name (\"?=value\")", i)
				return
			}
		}
		c.visibleQuery = append(c.visibleQuery, keys...)
	})
}

// WithVisibleHeaders lists headers whose values may appear in telemetry.
// Appends. Default: none. Credential headers (Authorization, Cookie,
// X-Api-Key..., the WithAPIKey header and the WithSensitiveHeaders names)
// can never be made visible: listing one is a *ConfigError. The values of
// URL headers (Location, Content-Location, Referer, Origin, the URLs of
// Link, its anchor parameters included, and the URL of Refresh, its delay
// kept) are redacted as url.full is (WithVisibleQueryKeys); a Link field
// is split as RFC 8288 reads it (a "<" or "," in a quoted string is
// text), and what follows text that is not a link list shows as
// "REDACTED".
func WithVisibleHeaders(names ...string) Option {
	return optionFunc(func(c *config) {
		for _, n := range names {
			if !httpguts.ValidHeaderFieldName(n) {
				c.fail("WithVisibleHeaders", "invalid header name %s", redact.FieldName(n))
				return
			}
			if redact.CredentialHeader(n) {
				c.fail("WithVisibleHeaders", "%s carries credentials and is never shown", textproto.CanonicalMIMEHeaderKey(n))
				return
			}
			c.visibleHeaders = append(c.visibleHeaders, n)
		}
	})
}
