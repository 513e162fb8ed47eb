package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"golang.org/x/net/http/httpguts"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/hops"
	"github.com/securecall/securecall/internal/hostname"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/internal/stackhook"
	"github.com/securecall/securecall/transport"
)

// Client sends requests through securecall's layered stack. It is safe for
// concurrent use; build one per API and reuse it, since it owns a
// connection pool. Make it with New: a zero Client has no stack, and
// every call through it (Do, HTTPClient, Transport, CheckRedirect) fails
// with a *ConfigError, nothing sent.
type Client struct {
	rt       http.RoundTripper // the whole stack, outermost layer first
	base     *transport.Base   // nil when WithBaseTransport replaced it
	redirect *transport.RedirectPolicy
	redact   *redact.Policy
	audit    http.RoundTripper // the audit layer; nil without WithAuditLog
	entry    *entry
	hc       *http.Client
	closers  []func() error

	inventory *transport.Inventory
	closed    atomic.Bool
}

// New builds a Client from opts. It applies every option, validates the
// whole configuration and returns a *ConfigError naming the offending option
// on bad input; it never panics on user input.
func New(opts ...Option) (*Client, error) {
	cfg := &config{}
	for i, o := range opts {
		if o == nil {
			cfg.errs = append(cfg.errs, &ConfigError{Option: "Option", Reason: fmt.Sprintf("nil option at index %d", i)})
			continue
		}
		o.apply(cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sensitive := cfg.sensitiveHeaders
	if cfg.apiKey != nil && cfg.apiKey.Header != "" {
		sensitive = append(sensitive[:len(sensitive):len(sensitive)], cfg.apiKey.Header)
	}
	c := &Client{
		redirect: &transport.RedirectPolicy{
			Origins:          cfg.origins,
			AllowedRedirects: cfg.redirectOrigins,
			SensitiveHeaders: sensitive,
			MaxRedirects:     cfg.maxRedirects,
		},
		redact: &redact.Policy{QueryKeys: cfg.visibleQuery, Headers: cfg.visibleHeaders},
	}
	if err := buildStack(c, cfg); err != nil {
		c.Close()
		return nil, err
	}
	e := &entry{closed: &c.closed, next: c.rt, audit: c.audit}
	if c.base != nil {
		e.idle = c.base
	} else if ci, ok := cfg.baseTransport.(idleCloser); ok {
		e.idle = ci
		// As for the hardened base (newBase), Close closes the pool's
		// idle connections: each call that ends after Close does, and a
		// client closed with no call in flight must not leave them open
		// until the idle timeout.
		c.closers = append(c.closers, func() error {
			ci.CloseIdleConnections()
			return nil
		})
	}
	if e.idle != nil && !stackhook.CloseAfterCalls(e.next, &c.closed, e.idle) {
		c.Close()
		return nil, errors.New("client: internal error: the outermost layer is not transport's call trace")
	}
	c.rt, c.entry = e, e
	c.hc = &http.Client{Transport: c.rt, CheckRedirect: c.checkRedirect}
	return c, nil
}

var errNilURL = errors.New("client: nil Request.URL")

// entry is the outermost layer of the stack, so that what Do promises holds
// through HTTPClient and Transport as well: once the client is closed, a
// call fails with ErrClosed (its body closed) and nothing is sent; the
// redirect hops of a call already in flight still go ahead. A hop is told
// by its req.Response being a redirect response the stack returned and no
// request has followed yet: req.Response alone would let through a new
// call built from a redirected call's response (resp.Request.Clone, which
// copies Response, for a next page or a poll). Like http.Transport it answers a request without a URL,
// which http.Client never hands on, with an error rather than a panic.
// A request it refuses (ErrClosed, a malformed request) is recorded in the
// audit log, if there is one; one without a URL, which names no
// destination, is not. Its CloseIdleConnections reaches the base
// transport's pool, so that HTTPClient().CloseIdleConnections() is not a
// silent no-op.
type entry struct {
	closed *atomic.Bool
	next   http.RoundTripper
	idle   idleCloser        // the base transport's pool; nil when it has none
	audit  http.RoundTripper // the audit layer; nil without WithAuditLog
	// redirects holds the redirect responses the stack returned that no
	// hop has followed yet, each with the stack's own Request when the
	// entry showed the caller's in its place (a non-ASCII host, or a hop
	// following such a redirect), nil otherwise.
	redirects hops.Set[*http.Request]
	// foreign holds the redirect responses whose hop the client's
	// redirect policy let through as a foreign hop (checkRedirect), each
	// until its hop comes: weak.Pointer[http.Response] -> runtime.Cleanup.
	// The hop's Response, which http.Client keeps in the fork it makes
	// of the hop under a Client.Timeout, where the request itself is
	// another.
	foreign sync.Map
}

// markForeign records that the hop following resp, the redirect
// response http.Client got, is a foreign hop.
func (e *entry) markForeign(resp *http.Response) {
	if resp == nil {
		return
	}
	k := weak.Make(resp)
	cl := runtime.AddCleanup(resp, func(k weak.Pointer[http.Response]) { e.foreign.Delete(k) }, k)
	e.foreign.Store(k, cl)
}

// dropJarCookies removes the cookies from req, a redirect hop, when the
// redirect policy let it through as a foreign hop: http.Client adds the
// cookies of its Jar after CheckRedirect ran (which removed the caller's
// Cookie), under the jar's rules alone, which send a host-only cookie of
// the client's origin to another port of its host (RFC 6265 binds no
// cookie to a port) and a Domain cookie to every host under it.
func (e *entry) dropJarCookies(req *http.Request) {
	x, ok := e.foreign.LoadAndDelete(weak.Make(req.Response))
	if !ok {
		return
	}
	x.(runtime.Cleanup).Stop()
	for name := range req.Header {
		if strings.EqualFold(name, "Cookie") {
			delete(req.Header, name)
		}
	}
}

// idleCloser is what http.Client.CloseIdleConnections looks for on its
// Transport.
type idleCloser interface{ CloseIdleConnections() }

// CloseIdleConnections closes the idle connections of the base transport
// (the hardened base, or a WithBaseTransport that has the method), also
// after Close (which does the same as each call in flight at Close ends).
func (e *entry) CloseIdleConnections() {
	if e.idle != nil {
		e.idle.CloseIdleConnections()
	}
}

func (e *entry) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req == nil:
		return nil, errNilRequest
	case req.URL == nil:
		closeBody(req)
		return nil, errNilURL
	}
	stackReq, hop := e.redirects.Follow(req)
	if !hop && e.closed.Load() {
		closeBody(req)
		e.refused(req, ErrClosed, false)
		return nil, ErrClosed
	}
	if hop {
		e.dropJarCookies(req)
	}
	if err := checkRequest(req); err != nil {
		closeBody(req)
		e.refused(req, err, hop)
		return nil, err
	}
	r := req
	converted := !ascii.Is(req.URL.Host) || !ascii.Is(req.Host)
	if converted {
		var err error
		if r, err = lookupHost(req); err != nil {
			closeBody(req)
			e.refused(req, err, hop)
			return nil, err
		}
	}
	var prev *http.Response // the response shown to the layers below at the hop
	if stackReq != nil {
		// The hop of a redirect response whose Request the entry
		// replaced: the layers below tell the hop by that response, or
		// by its Request when a layer (a WithCallLayer cache) handed on
		// a copy of it, so they are shown the response with the Request
		// they returned.
		if r == req {
			c := *req
			r = &c
		}
		p := *req.Response
		p.Request = stackReq
		prev = &p
		r.Response = prev
	}
	resp, err := e.next.RoundTrip(r)
	stackReq = nil
	if resp != nil && resp.Request != nil && (converted || prev != nil && resp.Request.Response == prev) {
		// What resp.Request shows (the stack shows the request it was
		// given, with the caller's header) is the caller's: its URL and
		// Host, and the redirect response http.Client got (whose
		// Request shows the caller's URL), not the copy the layers below
		// were shown. On a copy: the stack's may still be read.
		stackReq = resp.Request
		shown := *resp.Request
		if converted {
			shown.URL, shown.Host = req.URL, req.Host
		}
		if prev != nil && shown.Response == prev {
			shown.Response = req.Response
		}
		resp.Request = &shown
	}
	if resp != nil && hops.IsRedirect(resp) {
		e.redirects.Pend(resp, stackReq)
	}
	return resp, err
}

// lookupHost is hostname.LookupRequest, refusing an IPv6 literal with a
// non-ASCII zone with ErrInvalidRequest: the entry hands every layer (the
// egress allowlist, the inventory, the audit log, the credential scope,
// the signer) and the base transport, whichever it is (a caller's own
// *http.Transport too), a non-ASCII host in the form net/http dials.
func lookupHost(req *http.Request) (*http.Request, error) {
	return hostname.LookupRequest(req, ErrInvalidRequest)
}

// refused records req, refused with err before the stack, in the audit
// log, if the client has one.
// hop: req is a redirect hop (followed).
func (e *entry) refused(req *http.Request, err error, hop bool) { auditRefused(e.audit, req, err, hop) }

// auditRefused records req, refused with err before the stack (which it
// never reached), in audit, the client's audit layer; nil: none. hop: req
// is a redirect hop, recorded under its own path, not WithRoute's route.
func auditRefused(audit http.RoundTripper, req *http.Request, err error, hop bool) {
	if audit != nil {
		stackhook.AuditRefused(audit, req, err, hop)
	}
}

// checkRequest refuses what net/http would refuse only deep in the stack
// (and over HTTP/2 not at all, for the method and the URL): an invalid
// method, a control character, a space or a '#' in URL.Opaque or
// URL.RawQuery (which net/http sends as they are), a Host (or URL.Host)
// that is no Host field value, an invalid header or trailer field (a
// trailer key net/http refuses, Content-Length, Transfer-Encoding or
// Trailer, included, and every field RFC 9110 §6.5.1 keeps out of a
// trailer), or a Proxy-Authorization header on an https request (it would
// reach the origin). Such a failure would be retried and counted against
// the host's circuit breaker, so that one malformed request could fail
// every good call to the host.
func checkRequest(req *http.Request) error {
	if req.Method != "" && !validMethod(req.Method) {
		return fmt.Errorf("%w: method %q", ErrInvalidRequest, req.Method)
	}
	// A control character in the request-target: net/http writes URL.Path
	// escaped, but URL.Opaque and URL.RawQuery as they are. Its HTTP/1.1
	// writer refuses them only deep in the stack, and its HTTP/2 transport
	// does not refuse them up front at all: the attempt hangs until its
	// timeout, is retried and counted against the host's breaker.
	if ascii.HasCTL(req.URL.Opaque) || ascii.HasCTL(req.URL.RawQuery) {
		return fmt.Errorf("%w: control character in the URL", ErrInvalidRequest)
	}
	// A space ends the request-target of an HTTP/1.1 request line ("GET
	// /p?a=1 HTTP/1.0 HTTP/1.1"): a lenient server or proxy may read
	// another target or version than the one signed; url.Parse keeps a
	// space in the query. A '#' (only in a hand-set RawQuery or Opaque)
	// starts a fragment, which a request-target cannot carry (RFC 9112
	// §3.2), so a server may cut the target there. Percent-encode them
	// (%20, %23); net/http's HTTP/2 transport would send them as they are.
	if hasSpaceOrHash(req.URL.Opaque) || hasSpaceOrHash(req.URL.RawQuery) {
		return fmt.Errorf("%w: space or '#' in the URL's query or opaque part (percent-encode it)", ErrInvalidRequest)
	}
	// A Host that is no Host field value: net/http's HTTP/2 transport
	// refuses it only at the send (an unknown error: retried, counted
	// against the host), its HTTP/1.1 writer silently sends an empty Host
	// instead (another request than the one signed and audited). Not
	// quoted: it may be anything the caller put there.
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validHost(host) {
		return fmt.Errorf("%w: the request's Host (or URL.Host) is no valid Host field value (RFC 9110 §7.2)", ErrInvalidRequest)
	}
	if err := checkFields("header", req.Header, req.URL.Scheme == "https"); err != nil {
		return err
	}
	if n, ok := knownBodyLen(req.Body); ok && req.ContentLength > 0 && n != req.ContentLength {
		// net/http finds it only while writing the body, and over
		// HTTP/1.1 its connection teardown can race the write error, so
		// that the attempt fails as a closed connection instead: retried,
		// and counted against the host. Known up front for the readers
		// http.NewRequest measures, the caller's request is refused before
		// anything is sent.
		return fmt.Errorf("%w: ContentLength=%d with Body length %d", ErrInvalidRequest, req.ContentLength, n)
	}
	if len(req.Trailer) == 0 {
		return nil // no map iteration to start (the usual request declares none)
	}
	for k := range req.Trailer {
		// net/http refuses Transfer-Encoding, Trailer and Content-Length
		// as trailer keys (HTTP/1.1 and HTTP/2), only when it writes the
		// request. The other fields RFC 9110 §6.5.1 keeps out of a
		// trailer (framing, routing, authentication, request modifiers,
		// content format: Authorization, Proxy-Authorization, Host,
		// Content-Type, Cache-Control, Expect...) net/http sends, and an
		// HTTP/2 server (Go's, for one) resets the stream for them with
		// PROTOCOL_ERROR after its handler has run, which net/http's
		// HTTP/2 transport answers by sending the request again, a POST
		// included (golang/go#47635): processed again and again.
		if !httpguts.ValidTrailerHeader(k) {
			return fmt.Errorf("%w: trailer field name %s is not allowed in a trailer (RFC 9110 §6.5.1)", ErrInvalidRequest, redact.FieldName(k))
		}
	}
	return checkFields("trailer", req.Trailer, false)
}

// validHost reports whether net/http sends host as the Host field as it
// is, or with its non-ASCII name in punycode: one pass for the usual ASCII
// host (no byte of a non-ASCII one is valid, so it takes the second test).
func validHost(host string) bool {
	if httpguts.ValidHostHeader(host) {
		return true
	}
	h, err := httpguts.PunycodeHostPort(host)
	return err == nil && httpguts.ValidHostHeader(h)
}

// knownBodyLen returns the number of unread bytes of a request body of
// one of the types whose length http.NewRequest takes as ContentLength
// (*bytes.Buffer, *bytes.Reader, *strings.Reader), as NewRequest leaves it
// (in io.NopCloser) or as it is: what net/http would send of it.
func knownBodyLen(body io.Reader) (int64, bool) {
	if body == nil {
		return 0, false
	}
	if t := reflect.TypeOf(body); t == nopCloserTypes[0] || t == nopCloserTypes[1] {
		// io.NopCloser's two unexported types, each embedding the reader.
		body, _ = reflect.ValueOf(body).Field(0).Interface().(io.Reader)
	}
	switch b := body.(type) {
	case *bytes.Buffer:
		return int64(b.Len()), true
	case *bytes.Reader:
		return int64(b.Len()), true
	case *strings.Reader:
		return int64(b.Len()), true
	}
	return 0, false
}

// nopCloserTypes are the dynamic types io.NopCloser returns: for a reader
// with WriteTo (strings.Reader, bytes.Reader, bytes.Buffer) and without.
var nopCloserTypes = [2]reflect.Type{
	reflect.TypeOf(io.NopCloser(strings.NewReader(""))),
	reflect.TypeOf(io.NopCloser(struct{ io.Reader }{})),
}

// checkFields refuses a field name or value of h (the request's header or
// trailer, named by what) that is not valid HTTP, and with noProxyAuth (the
// header of an https request) a Proxy-Authorization field: net/http
// authenticates to a proxy's tunnel with the proxy URL's userinfo only and
// sends the request's own fields inside it, over HTTP/1.1 and HTTP/2, so
// the proxy's credential would reach the origin (straight, without a
// proxy). Over plain http the egress check refuses it as a credential in
// clear.
func checkFields(what string, h http.Header, noProxyAuth bool) error {
	if len(h) == 0 {
		return nil // no map iteration to start (a GET's header often is empty)
	}
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			// Not quoted whole: a key that is a header line has a
			// credential after its name.
			return fmt.Errorf("%w: %s field name %s", ErrInvalidRequest, what, redact.FieldName(k))
		}
		if noProxyAuth && len(k) == len("Proxy-Authorization") && strings.EqualFold(k, "Proxy-Authorization") {
			return fmt.Errorf("%w: header field Proxy-Authorization on an https request would reach the origin server, not a proxy (net/http authenticates to a proxy with the userinfo of the proxy URL WithProxy returns)", ErrInvalidRequest)
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				// The value may be a secret: only the name is shown.
				return fmt.Errorf("%w: value of %s field %q", ErrInvalidRequest, what, k)
			}
		}
	}
	return nil
}

// hasSpaceOrHash reports whether s has a ' ' or a '#': strings.ContainsAny(s,
// " #") byte by byte (no byte of a multi-byte UTF-8 sequence is ASCII),
// without its IndexRune call per rune.
func hasSpaceOrHash(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b == ' ' || b == '#' {
			return true
		}
	}
	return false
}

// validMethod reports whether m is an RFC 9110 token, as net/http requires.
func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// validate checks the fully applied configuration.
func (cfg *config) validate() error {
	if len(cfg.errs) > 0 {
		return cfg.errs[0]
	}
	if cfg.baseTransport != nil {
		switch {
		case cfg.tlsConfig != nil:
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with WithTLSConfig"}
		case len(cfg.pins) > 0:
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with WithPins"}
		case cfg.clientCert != nil || cfg.certFiles != nil:
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with a client certificate option"}
		case cfg.proxy != nil:
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with WithProxy"}
		case cfg.h2ReadIdle != 0:
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with WithHTTP2ReadIdleTimeout"}
		case len(cfg.eg.networks) > 0:
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with WithAllowedNetworks: the base transport dials"}
		case len(cfg.eg.proxies) > 0:
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with WithAllowedProxies: the base transport dials"}
		case cfg.eg.noSSRF:
			// The SSRF-safe dialer is the hardened base's: with the
			// caller's base there is none to turn off, and the option
			// would silently do nothing.
			return &ConfigError{Option: "WithBaseTransport", Reason: "cannot be combined with WithoutSSRFProtection: the base transport dials, and has no SSRF-safe dialer of the client's to turn off"}
		}
	}
	if cfg.h2ReadIdle != 0 && cfg.tlsConfig != nil && len(cfg.tlsConfig.NextProtos) > 0 && !slices.Contains(cfg.tlsConfig.NextProtos, "h2") {
		// No connection speaks HTTP/2, and HTTP/1.1 has no PING: the
		// health check the caller asked for would never run.
		return &ConfigError{Option: "WithHTTP2ReadIdleTimeout", Reason: "has no effect: WithTLSConfig's NextProtos leaves out \"h2\", so no connection speaks HTTP/2 (an HTTP/1.1 connection has no PING)"}
	}
	if cfg.eg.noSSRF {
		// The networks and proxies only loosen the SSRF-safe dialer; with
		// it off they would do nothing, which the caller may not expect.
		switch {
		case len(cfg.eg.networks) > 0:
			return &ConfigError{Option: "WithAllowedNetworks", Reason: "has no effect with WithoutSSRFProtection"}
		case len(cfg.eg.proxies) > 0:
			return &ConfigError{Option: "WithAllowedProxies", Reason: "has no effect with WithoutSSRFProtection"}
		}
	}
	if len(cfg.eg.proxies) > 0 && cfg.proxy == nil {
		// Without a proxy there is nothing to allow: the option can only be
		// a mistake (GuardProxy refuses direct requests to the listed
		// addresses in any case).
		return &ConfigError{Option: "WithAllowedProxies", Reason: "requires WithProxy or WithEnvironmentProxy: without a proxy there is nothing to allow"}
	}
	if err := cfg.validateRedirectOrigins(); err != nil {
		return err
	}
	if cfg.signer != nil && len(cfg.origins) == 0 {
		return &ConfigError{Option: "WithOrigins", Reason: "required when requests are signed: signatures are scoped to the client's origins"}
	}
	if err := cfg.validateAuth(); err != nil {
		return err
	}
	if cfg.clientCert != nil && cfg.certFiles != nil {
		return &ConfigError{Option: "WithClientCertificateFiles", Reason: "cannot be combined with WithClientCertificate"}
	}
	return cfg.validateVisibleHeaders()
}

// validateRedirectOrigins refuses redirect origins without origins or an
// egress allowlist, and a plain-http redirect origin unless the
// client has an http origin of its own: a hop from https to http is
// always refused, so with https origins only it could never be a redirect
// target, and all it would do is open plain http to that origin for
// direct calls (its egress allowlist entry), which only an http origin of
// WithOrigins (for loopback tests) is meant to do.
func (cfg *config) validateRedirectOrigins() error {
	if len(cfg.redirectOrigins) > 0 && len(cfg.origins) == 0 && len(cfg.eg.allow) == 0 {
		// The egress allowlist would be the redirect origins alone: a
		// client without origins may call any https host, and this one
		// would be refused every call elsewhere, at run time.
		return &ConfigError{Option: "WithRedirectOrigins", Reason: "requires WithOrigins (or WithEgressAllowlist): redirect origins enter the egress allowlist, which would otherwise be the redirect origins alone, so every call to another host would be refused"}
	}
	for _, r := range cfg.redirectOrigins {
		if r.Scheme != "http" {
			continue
		}
		if !slices.ContainsFunc(cfg.origins, func(o transport.Origin) bool { return o.Scheme == "http" }) {
			return &ConfigError{Option: "WithRedirectOrigins", Reason: "the plain-http origin " + r.String() +
				" needs an http origin of WithOrigins (for loopback tests): a redirect from https to http is always refused, so it could only open plain http for direct calls"}
		}
	}
	return nil
}

// validateVisibleHeaders refuses a visible header that carries the
// client's credentials: the API-key header and the WithSensitiveHeaders
// names are credential headers like Authorization, which the redaction
// policy alone knows nothing about. Checked here, once every option is
// applied, since the options may come in any order.
func (cfg *config) validateVisibleHeaders() error {
	for _, v := range cfg.visibleHeaders {
		if cfg.apiKey != nil && cfg.apiKey.Header != "" && strings.EqualFold(v, cfg.apiKey.Header) {
			return &ConfigError{Option: "WithVisibleHeaders", Reason: "the API key header " + cfg.apiKey.Header + " can never be shown"}
		}
		for _, s := range cfg.sensitiveHeaders {
			if strings.EqualFold(v, s) {
				return &ConfigError{Option: "WithVisibleHeaders", Reason: s + " is a sensitive header and is never shown"}
			}
		}
	}
	return nil
}

var errNilRequest = errors.New("client: nil *http.Request")

// Do sends req through the stack, following redirects under the client's
// redirect policy. Errors are redacted: the query values and userinfo of
// any URL in them are replaced, so they are safe to log. As with
// http.Client.Do, a non-nil response must have its body closed.
//
// resp.Request stands for the request the last attempt sent, without the
// credentials the stack added to it: its header and URL are the ones the
// attempt was made from (req's, or a redirect hop's), so the bearer token,
// the API key (header or query), Signature and Signature-Input, which the
// server received, are not in it, and logging or dumping it
// (httputil.DumpRequestOut) prints none of them. Its context is the
// attempt's (transport.Attempts reads it): under the total timeout (on by
// default) it is canceled once the body is closed, as with
// http.Client.Timeout. Make a follow-up call (a next page, a poll) with
// req's context, not resp.Request.Context(), which would fail it with
// context.Canceled.
//
// A request with RequestURI set (a server's incoming request handed on,
// which r.Clone keeps) is refused with ErrInvalidRequest, and recorded in
// the audit log; http.Client, and so HTTPClient(), refuses it with an
// error of its own before the stack, unrecorded. Transport().RoundTrip,
// like http.Transport, does not look at RequestURI: it sends such a
// request to its URL, recorded as any other call.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if req == nil {
		return nil, errNilRequest
	}
	if c.hc == nil {
		closeBody(req)
		return nil, errZeroClient()
	}
	if c.closed.Load() {
		// Checked here too, so that Do returns ErrClosed itself rather
		// than a *url.Error around it.
		closeBody(req)
		if req.URL != nil {
			auditRefused(c.audit, req, ErrClosed, false) // Do's request starts a call
		}
		return nil, ErrClosed
	}
	if req.RequestURI != "" && req.URL != nil {
		// A server's request handed on (r.Clone keeps RequestURI):
		// http.Client refuses it before the stack, untyped and
		// unrecorded.
		closeBody(req)
		err := fmt.Errorf("%w: Request.RequestURI is set (a server's request): clear it to send the request", ErrInvalidRequest)
		auditRefused(c.audit, req, err, false)
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return resp, c.redact.Error(err)
	}
	return resp, nil
}

// HTTPClient returns an *http.Client that sends through the stack and
// follows redirects under the client's redirect policy; its
// CloseIdleConnections closes the base transport's idle connections. A Jar
// set on it sends no cookie to a foreign redirect hop (an origin of
// WithRedirectOrigins): http.Client adds the Jar's cookies after the
// policy ran, and the stack drops them from such a hop, as from one made
// by an http.Client of your own whose CheckRedirect is CheckRedirect().
// Note that http.Client itself wraps transport errors in a *url.Error
// holding the full URL; use Do, or redact errors yourself, if URLs carry
// secrets.
func (c *Client) HTTPClient() *http.Client {
	if c.hc == nil {
		return &http.Client{Transport: zeroClientTransport{}}
	}
	hc := *c.hc
	return &hc
}

// Transport returns the stack as an http.RoundTripper, for callers who own
// their http.Client or use a generated API client; it has the
// CloseIdleConnections method http.Client.CloseIdleConnections calls. Such callers should also
// set CheckRedirect to CheckRedirect() to keep the redirect policy. A
// redirect http.Client would follow (301, 302, 303, 307, 308 with a
// Location) is returned by RoundTrip without the WithResponseMediaTypes
// check nor the up-front refusal of a declared Content-Length over the
// body limit, as the stack cannot tell that no http.Client follows it:
// its body is still bounded by the limit while read.
func (c *Client) Transport() http.RoundTripper {
	if c.rt == nil {
		// Never nil: an http.Client would read it as
		// http.DefaultTransport and send without any layer.
		return zeroClientTransport{}
	}
	return c.rt
}

// CheckRedirect returns the client's redirect policy as an
// http.Client.CheckRedirect function. With WithAuditLog, a hop it refuses
// is recorded in the audit log, as with Do.
func (c *Client) CheckRedirect() func(*http.Request, []*http.Request) error {
	if c.redirect == nil {
		return func(*http.Request, []*http.Request) error { return errZeroClient() }
	}
	return c.checkRedirect
}

// errZeroClient is the error of every call through a zero Client (not
// made by New), which has no stack.
func errZeroClient() error {
	return &ConfigError{Option: "Client", Reason: "a zero client.Client: not made by New"}
}

// zeroClientTransport is a zero Client's Transport: it refuses every
// request, where a nil RoundTripper would have http.Client send it
// through http.DefaultTransport, without any of the stack's layers.
type zeroClientTransport struct{}

func (zeroClientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req != nil {
		closeBody(req)
	}
	return nil, errZeroClient()
}

// checkRedirect is the redirect policy's Check; a hop it refuses never
// reaches the stack, so the audit layer records it from here.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	err := c.redirect.Check(req, via)
	if err != nil {
		auditRefused(c.audit, req, err, true)
	} else if stackhook.RedirectForeign(c.redirect, req, via) {
		// http.Client adds its Jar's cookies to the hop after this
		// returns: the entry drops them.
		c.entry.markForeign(req.Response)
	}
	return err
}

// Close releases the client's resources: idle connections (those of
// WithBaseTransport too, when it has CloseIdleConnections), any
// certificate watchers, and the metric callbacks of its inventory (the one
// it made) and of its client certificate's expiry gauge (a closed client
// presents its certificate to no one, so it is no longer reported, even
// while the Client is still referenced). Calls in flight complete (their
// retries and redirect hops included); later calls fail with ErrClosed,
// whether made with Do or through HTTPClient or Transport. A redirect hop
// is the first request following a redirect response the stack returned;
// a later call built from a redirected call's response
// (resp.Request.Clone, which keeps its Response) is no hop and is refused.
//
// A connection that carries a call in flight at Close is closed once that
// call ends: when its response body is closed, or when it fails. Each call
// that ends after Close (and each WithOAuth2ClientCredentials token request
// that ends after it) closes the base transport's idle connections
// (those of WithBaseTransport too, when it has CloseIdleConnections), so
// that neither an HTTP/2 connection, which net/http keeps while it carries
// a stream, nor an HTTP/1.1 one that a retry or redirect hop after Close
// put back in the pool stays open until the idle timeout
// (transport.DefaultIdleConnTimeout, 90 s). This needs no count of the
// calls in flight: each call reads the closed flag once as it ends. Once
// every call has ended and its body is closed, no connection of the client
// is left open; a body never closed keeps its connection, as with
// net/http.
//
// Close also closes the tokens.Cache the client built (for
// WithOAuth2ClientCredentials, or a WithTokenSource, WithAPIKey or
// WithAPIKeyInQuery source that does not cache itself; a *tokens.Cache or
// other tokens.Invalidator the caller gave is left open): a token refresh
// in flight is cancelled, so that a token endpoint that does not answer
// holds no goroutine or connection after Close (rather than for
// tokens.DefaultRefreshTimeout), and none starts after it. A call in flight
// is served the cached token while it is fresh; one that needs a new token
// after Close (none yet, expired, or a 401 replay) fails with an error
// matching tokens.ErrClosed. Close is idempotent.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	var errs []error
	for i := len(c.closers) - 1; i >= 0; i-- {
		if err := c.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
