package client

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/stackhook"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// The layer order lives here and nowhere else.
//
//	 caller ──► http.Client (redirect policy: every hop runs the stack again)
//	              │
//	 per call     ▼
//	   1. call trace ........ one logical span + request duration metric
//	   2. prepare ........... audit log (opt-in), inventory (token requests
//	                          too: wrapAuth), egress allowlist
//	                          (before any connection), WithCallLayer layers
//	                          (OpenAPI validation), response limits
//	                          (Idempotency-Key and replayability: retry)
//	   3. total deadline .... min(caller deadline, WithTimeout)
//	   4. retry ............. owns the attempts: ONE Request.Clone per attempt
//	                          (transport.BeginAttempt; the first attempt takes
//	                          the call trace's copy instead), shared by every
//	                          layer below through transport.Own; budget,
//	                          cooldowns, Retry-After, deadline-aware waits
//	 per attempt
//	   5. breaker ........... per host; open -> ErrCircuitOpen, nothing sent
//	   6. throttle .......... per-host token bucket, adaptive on 429/503/RateLimit
//	   7. attempt timeout ... cancelled when the response body is closed
//	   8. auth .............. bearer token (401 -> invalidate, replay once) and
//	                          API key; own origins only, set before signing so
//	                          the signature covers Authorization
//	   9. sign .............. RFC 9421, fresh created+nonce per attempt, own origins only
//	      credential guard .. refuses any credential over plain http
//	  10. attempt trace ..... one span per physical send; injects traceparent
//	                          AFTER signing, so trace headers are never signed
//	  11. base .............. cloned http.Transport: HTTP/2, TLS >= 1.2, pins
//	                          in VerifyConnection, mTLS via GetClientCertificate,
//	                          SSRF-safe dialer (addresses checked at connect time)
//
// Why this order: telemetry wraps everything so the logical span sees the
// final outcome; everything that must be fresh on each send (a token that
// may have been refreshed, a new nonce and timestamp, the attempt span)
// sits inside the retry loop; credentials are applied as late as possible
// so no outer layer can leak or log them; the trace headers are added after
// signing because a signature over them would break on every re-send.

// buildStack assembles c.rt from the validated configuration, innermost
// layer first.
func buildStack(c *Client, cfg *config) error {
	ec := cfg.egressConfig()
	if !ec.AllowHTTP && slices.ContainsFunc(cfg.eg.allow, isHTTPEntry) {
		// The transport would ask for EgressConfig.AllowHTTP, which the
		// client sets only for an http origin.
		return &ConfigError{Option: "WithEgressAllowlist", Reason: "an http:// entry needs an http origin (WithOrigins, for loopback testing)"}
	}
	policy, err := transport.NewEgressPolicy(ec)
	if err != nil {
		return &ConfigError{Option: "WithEgressAllowlist", Err: err}
	}
	base, err := newBase(c, cfg, policy, len(ec.Allow) == 0)
	if err != nil {
		return err
	}
	tc := transport.TraceConfig{
		TracerProvider: cfg.tracerProvider,
		MeterProvider:  cfg.meterProvider,
		Propagator:     cfg.propagator,
		Redaction:      c.redact,
		CallSpanKind:   cfg.callSpanKind,
	}
	// Innermost first.
	var rt http.RoundTripper = base        // 11
	rt = transport.NewAttemptTrace(rt, tc) // 10
	// Below every credential layer: no credential over plain http, whoever
	// set it.
	if rt, err = transport.NewCredentialGuard(rt, ec); err != nil {
		return &ConfigError{Option: "WithSensitiveHeaders", Err: err}
	}
	if cfg.signer != nil {
		// 9
		rt, err = transport.NewSign(rt, transport.SignConfig{Signer: cfg.signer, Scope: cfg.origins})
		if err != nil {
			return &ConfigError{Option: "WithSigner", Err: err}
		}
	}
	// The inventory (2) before the credential layers: the token requests
	// of WithOAuth2ClientCredentials are recorded in it too.
	if err := newInventory(c, cfg); err != nil {
		return err
	}
	// 8
	if rt, err = wrapAuth(c, cfg, tc, base, rt); err != nil {
		return err
	}
	// 7 … 3
	rc, err := cfg.resilienceConfig()
	if err != nil {
		return err
	}
	if rt, err = wrapResilience(rc, rt); err != nil {
		return err
	}
	// 2: response limits, egress allowlist, inventory, audit log
	if rt, err = wrapEgress(c, cfg, policy, rt); err != nil {
		return err
	}
	rt = transport.NewCallTrace(rt, tc) // 1
	c.rt = rt
	return nil
}

// wrapAuth adds the credential layers (8) around next: the API key and the
// bearer token are set before signing (9) so the signature can cover them.
func wrapAuth(c *Client, cfg *config, tc transport.TraceConfig, base http.RoundTripper, next http.RoundTripper) (http.RoundTripper, error) {
	rt := next
	src := cfg.tokenSource
	if cfg.oauth2 != nil {
		oc := *cfg.oauth2
		var hc http.Client
		if oc.HTTPClient == nil {
			hc.Transport = tokenTransport(c, cfg, base)
		} else {
			// The caller's client sends them: recorded all the same.
			hc = *oc.HTTPClient
			if hc.Transport == nil {
				hc.Transport = http.DefaultTransport // as the check of WithOAuth2ClientCredentials read it
			}
		}
		// The token requests are calls of the service too: in the
		// client's inventory and audit log, with the client
		// authentication they carry and none of its secrets.
		rec, err := transport.NewTokenRequests(hc.Transport, transport.TokenRequestConfig{Inventory: c.inventory, Audit: auditConfig(c, cfg), Trace: &tc})
		if err != nil {
			// A zero Inventory, or a logger without a handler: the
			// option that gave it.
			opt := "WithAuditLog"
			if ce, ok := errors.AsType[*ConfigError](err); ok && ce.Option == "Inventory" {
				opt = "WithInventory"
			}
			return nil, &ConfigError{Option: opt, Err: err}
		}
		hc.Transport = rec
		oc.HTTPClient = &hc
		cc, err := tokens.NewClientCredentials(oc)
		if err != nil {
			return nil, &ConfigError{Option: "WithOAuth2ClientCredentials", Err: err}
		}
		src = cc
	}
	if src != nil {
		var err error
		if src, err = cachedSource(c, src, cfg.tokenOption); err != nil {
			return nil, err
		}
		rt, err = transport.NewAuth(rt, transport.AuthConfig{Source: src, Scope: cfg.origins})
		if err != nil {
			return nil, &ConfigError{Option: cfg.tokenOption, Err: err}
		}
	}
	if cfg.apiKey != nil {
		ak := *cfg.apiKey
		ak.Scope = cfg.origins
		opt := "WithAPIKey"
		if ak.QueryParam != "" {
			opt = "WithAPIKeyInQuery"
		}
		// Cached as a token source is: a key kept in the OS keyring is
		// not read on every attempt, and a 401 (the key rotated in the
		// store) invalidates it and replays once with the new one.
		var err error
		if ak.Source, err = cachedSource(c, ak.Source, opt); err != nil {
			return nil, err
		}
		rt, err = transport.NewAPIKey(rt, ak)
		if err != nil {
			return nil, &ConfigError{Option: opt, Err: err}
		}
	}
	return rt, nil
}

// cachedSource returns src behind a tokens.Cache of the client's own,
// closed with the client (Close cancels a refresh in flight, which a hung
// token endpoint or keyring would hold for the refresh timeout), or src
// itself when it caches already, the caller's to close: a *tokens.Cache,
// or any source that implements tokens.Invalidator. A Cache in front of
// the latter would hide it: on a 401 the Cache's Invalidate does not
// reach the source, which hands the rejected token back from its own
// cache, so a rotated key or token would never be picked up.
func cachedSource(c *Client, src tokens.Source, option string) (tokens.Source, error) {
	if _, caches := src.(tokens.Invalidator); caches { // a *tokens.Cache is one
		return src, nil
	}
	cache, err := tokens.NewCache(src)
	if err != nil {
		return nil, &ConfigError{Option: option, Err: err}
	}
	c.closers = append(c.closers, cache.Close)
	return cache, nil
}

// tokenTransport returns the transport of WithOAuth2ClientCredentials'
// token requests: base, whose pool they share with the calls (wrapAuth
// puts the inventory and audit log's transport.NewTokenRequests above it). A token
// request may end after the call that started it (a refresh goes on when
// its caller stops waiting), so, as a call does (stackhook.CloseAfterCalls),
// one that ends after Close closes the base transport's idle connections.
func tokenTransport(c *Client, cfg *config, base http.RoundTripper) http.RoundTripper {
	var idle idleCloser
	if c.base != nil {
		idle = c.base
	} else if ci, ok := cfg.baseTransport.(idleCloser); ok {
		idle = ci
	}
	if idle == nil {
		return base
	}
	return &closingTransport{rt: base, closed: &c.closed, idle: idle}
}

// closingTransport sends through rt; a request that ends (its response
// body closed, or failed) once closed is set closes idle's idle
// connections.
type closingTransport struct {
	rt     http.RoundTripper
	closed *atomic.Bool
	idle   idleCloser
}

func (t *closingTransport) ended() {
	if t.closed.Load() {
		// Now and a little later: a token request cancelled by Close
		// (tokens.Cache.Close) ends over HTTP/2 before net/http has
		// removed its stream, so its connection is not idle yet.
		stackhook.CloseIdleSoon(t.idle)
	}
}

func (t *closingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		t.ended()
		return nil, err
	}
	resp.Body = &closingBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

// closingBody is a token response's body; its Close ends the request.
type closingBody struct {
	io.ReadCloser
	t *closingTransport
}

func (b *closingBody) Close() error {
	err := b.ReadCloser.Close()
	b.t.ended()
	return err
}

// wrapResilience adds layers 3–7 around next (the per-attempt credential,
// signing and trace layers), innermost first: attempt timeout, throttle,
// breaker, retry (which makes the one clone per attempt), total deadline.
func wrapResilience(rc transport.ResilienceConfig, next http.RoundTripper) (http.RoundTripper, error) {
	rt := next
	var err error
	if rc.AttemptTimeout > 0 { // 7
		if rt, err = transport.NewAttemptTimeout(rt, rc.AttemptTimeout); err != nil {
			return nil, &ConfigError{Option: "WithAttemptTimeout", Err: err}
		}
	}
	if !rc.DisableThrottle { // 6
		if rt, err = transport.NewThrottle(rt, rc.Throttle); err != nil {
			return nil, &ConfigError{Option: "WithResilience", Err: err}
		}
	}
	if !rc.DisableBreaker { // 5
		if rt, err = transport.NewBreaker(rt, rc.Breaker); err != nil {
			return nil, &ConfigError{Option: "WithResilience", Err: err}
		}
	}
	// Every per-attempt layer below is this package's: they may share the
	// retry layer's clock reading.
	retry := rc.Retry
	retry.SharedClock = true
	if rt, err = transport.NewRetry(rt, retry); err != nil { // 4
		return nil, &ConfigError{Option: "WithResilience", Err: err}
	}
	// Every call-level layer above is this package's or transport's (a
	// WithCallLayer stack's sit behind transport.NewCallLayerBoundary):
	// the first attempt may take the call trace's copy of the request.
	if !stackhook.LendCallCopy(rt) {
		return nil, errors.New("client: internal error: the retry layer is not transport's")
	}
	if rc.TotalTimeout > 0 { // 3
		if rt, err = transport.NewTotalTimeout(rt, rc.TotalTimeout); err != nil {
			return nil, &ConfigError{Option: "WithTimeout", Err: err}
		}
	}
	return rt, nil
}

// wrapEgress adds the per-call egress layers around next (the resilience
// layers), innermost first: response limits, the egress allowlist (2,
// "prepare"), the inventory and, if configured, the audit log.
func wrapEgress(c *Client, cfg *config, policy *transport.EgressPolicy, next http.RoundTripper) (http.RoundTripper, error) {
	lc := transport.LimitsConfig{MediaTypes: cfg.eg.mediaTypes, MaxHeaderBytes: maxResponseHeaderBytes}
	if cfg.eg.maxBodyIsSet {
		lc.MaxBodyBytes = cfg.eg.maxBody
	}
	rt, err := transport.NewLimits(next, lc)
	if err != nil {
		return nil, &ConfigError{Option: "WithResponseMediaTypes", Err: err}
	}
	if len(cfg.eg.callLayers) > 0 {
		// The caller's layers sit below the egress check and may send to
		// another URL than they were given: checked again below them.
		rt = transport.NewEgressWithPolicy(rt, policy)
	}
	for i := len(cfg.eg.callLayers) - 1; i >= 0; i-- { // the caller's per-call layers
		wrapped, err := cfg.eg.callLayers[i](rt)
		if err != nil {
			return nil, &ConfigError{Option: "WithCallLayer", Err: err}
		}
		if configerr.IsNil(wrapped) { // a typed nil too: it would panic on the first call
			return nil, &ConfigError{Option: "WithCallLayer", Reason: "wrap returned a nil RoundTripper"}
		}
		rt = wrapped
	}
	if len(cfg.eg.callLayers) > 0 {
		// The caller's layers may send a request twice or concurrently:
		// below them, layers copy instead of changing it in place.
		rt = transport.NewCallLayerBoundary(rt)
	}
	rt = transport.NewEgressWithPolicy(rt, policy)
	if rt, err = transport.NewInventoryLayer(rt, c.inventory); err != nil {
		return nil, &ConfigError{Option: "WithInventory", Err: err}
	}
	if ac := auditConfig(c, cfg); ac != nil {
		if rt, err = transport.NewAudit(rt, *ac); err != nil {
			return nil, &ConfigError{Option: "WithAuditLog", Err: err}
		}
		c.audit = rt
	}
	return rt, nil
}

// newInventory sets c.inventory: WithInventory's, or the client's own.
func newInventory(c *Client, cfg *config) error {
	inv := cfg.eg.inventory
	if inv == nil {
		var err error
		if inv, err = transport.NewInventory(transport.InventoryConfig{MeterProvider: cfg.meterProvider}); err != nil {
			return &ConfigError{Option: "WithInventory", Err: err}
		}
		c.closers = append(c.closers, inv.Close)
	}
	c.inventory = inv
	return nil
}

// auditConfig returns the configuration of the client's audit log, the
// calls' and the token requests' alike; nil without WithAuditLog.
func auditConfig(c *Client, cfg *config) *transport.AuditConfig {
	if cfg.eg.auditLogger == nil {
		return nil
	}
	return &transport.AuditConfig{Logger: cfg.eg.auditLogger, Redaction: c.redact}
}

// maxResponseHeaderBytes is the response header limit of both the limits
// layer and the base transport: the first checks the parsed header, the
// second stops reading an oversized one (net/http's default is 10 MiB).
const maxResponseHeaderBytes = transport.DefaultMaxResponseHeaderBytes

// HTTP/2 stream receive windows (BaseConfig.HTTP2MaxReceiveBufferPerStream)
// the base gets from the client's body limit: a limit below net/http's
// default window gives the window of its size, never below
// minH2StreamWindow.
const (
	netHTTPH2StreamWindow = 4 << 20  // net/http's default
	minH2StreamWindow     = 64 << 10 // a smaller one slows a body down on a long round trip
)

// h2StreamWindow returns the HTTP/2 stream receive window for the base: the
// client's response body limit (WithMaxResponseBytes; there is no per-call
// one), at least minH2StreamWindow, when it is below net/http's default;
// otherwise 0 (the default). The limits layer stops the caller's read at
// the limit, and a server cannot send more than a window beyond what was
// read: with net/http's window it could push 4 MiB into memory per stream
// whatever the limit.
func h2StreamWindow(cfg *config) int {
	limit := int64(transport.DefaultMaxResponseBodyBytes)
	if cfg.eg.maxBodyIsSet && cfg.eg.maxBody != 0 {
		limit = cfg.eg.maxBody
	}
	if limit < 0 || limit >= netHTTPH2StreamWindow {
		return 0
	}
	return int(max(limit, minH2StreamWindow))
}

// newBase builds the hardened TLS base transport (layer 11), or returns the
// caller's replacement from WithBaseTransport. anyHost says the egress
// policy has no allowlist.
func newBase(c *Client, cfg *config, policy *transport.EgressPolicy, anyHost bool) (http.RoundTripper, error) {
	if cfg.baseTransport != nil {
		return baseGuard{cfg.baseTransport}, nil
	}
	bc := transport.BaseConfig{
		TLSConfig:         cfg.tlsConfig,
		Pins:              cfg.pins,
		ClientCertificate: cfg.clientCert,
		Proxy:             cfg.proxy,
		MeterProvider:     cfg.meterProvider,
		// 0: DefaultHTTP2ReadIdleTimeout.
		HTTP2ReadIdleTimeout: cfg.h2ReadIdle,
		// The limits layer checks the parsed header; the Base stops
		// reading one over the same limit.
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	bc.HTTP2MaxReceiveBufferPerStream = h2StreamWindow(cfg)
	if !cfg.eg.noSSRF {
		sd, err := transport.NewSafeDialer(cfg.dialConfig(policy))
		if err != nil {
			// Proxies come from WithAllowedProxies; everything else the
			// dialer is given is derived from validated options or from
			// WithAllowedNetworks.
			opt := "WithAllowedNetworks"
			var ce *ConfigError
			if errors.As(err, &ce) && strings.HasPrefix(ce.Option, "Proxies") {
				opt = "WithAllowedProxies"
			}
			return nil, &ConfigError{Option: opt, Err: err}
		}
		bc.DialContext = sd.DialContext
		if cfg.proxy != nil || len(cfg.eg.proxies) > 0 {
			bc.Proxy = sd.GuardProxy(cfg.proxy)
		}
	}
	if cfg.certFiles != nil {
		cc, err := transport.NewClientCertificateFromFiles(cfg.certFiles[0], cfg.certFiles[1], cfg.certFileOpts...)
		if err != nil {
			return nil, &ConfigError{Option: "WithClientCertificateFiles", Err: err}
		}
		c.closers = append(c.closers, cc.Close)
		bc.ClientCertificate = cc
	}
	b, err := transport.NewBase(bc)
	if err != nil {
		return nil, renameOption(err, cfg.certFiles != nil)
	}
	c.base = b
	c.closers = append(c.closers, func() error {
		stackhook.StopBaseMetrics(b)
		b.CloseIdleConnections()
		return nil
	})
	if err := cfg.pinHostsErr(policy, anyHost); err != nil {
		return nil, err
	}
	return b, nil
}

// renameOption wraps a ConfigError about a transport.BaseConfig field in one
// naming the client option that set the field; the message keeps both
// ("WithPins: Pins[0].Pins: ..."). certFiles says the client certificate
// came from WithClientCertificateFiles.
func renameOption(err error, certFiles bool) error {
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	opt := "New"
	switch field := ce.Option; {
	case strings.HasPrefix(field, "TLSConfig"):
		opt = "WithTLSConfig"
	case strings.HasPrefix(field, "Pins"):
		opt = "WithPins"
	case strings.HasPrefix(field, "ClientCertificate") && certFiles:
		opt = "WithClientCertificateFiles"
	case strings.HasPrefix(field, "ClientCertificate"):
		opt = "WithClientCertificate"
	case strings.HasPrefix(field, "Proxy"):
		opt = "WithProxy"
	case field == "HTTP2ReadIdleTimeout":
		opt = "WithHTTP2ReadIdleTimeout"
	}
	return &ConfigError{Option: opt, Err: err}
}

// isHTTPEntry reports whether an egress allowlist entry names the http
// scheme.
func isHTTPEntry(p string) bool {
	scheme, _, ok := strings.Cut(strings.TrimSpace(p), "://")
	return ok && strings.EqualFold(scheme, "http")
}

// errNoResponse is the error of an attempt whose WithBaseTransport
// returned neither a response nor an error.
var errNoResponse = errors.New("client: the base transport returned neither a response nor an error")

// baseGuard keeps the layers above a WithBaseTransport, which read the
// response before the retry layer could check it, safe from one that
// breaks the http.RoundTripper contract: neither a response nor an error
// is an error (not a nil dereference on the caller's goroutine), a
// response beside an error is closed and dropped, and a nil Body is
// http.NoBody.
type baseGuard struct{ rt http.RoundTripper }

func (g baseGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.rt.RoundTrip(req)
	switch {
	case err != nil:
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, err
	case resp == nil:
		// A transport that fails closes the request's body; this one did
		// not say it failed, so the guard does.
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNoResponse
	case resp.Body == nil:
		resp.Body = http.NoBody
	}
	return resp, nil
}
