package client

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"

	"golang.org/x/net/http/httpguts"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/querykey"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// WithTokenSource attaches a bearer token from src to every request to the
// client's origins (over https only: a request to an http origin that would
// carry the token is refused with ErrEgressDenied), on
// every attempt and every same-origin redirect hop, never to another origin.
// A 401 invalidates exactly the token that was sent and replays the request
// once with a new one, if the request is replayable. src is wrapped in a
// tokens.Cache (one refresh for all callers, early refresh, backoff) unless
// it caches already: a *tokens.Cache, or any source that implements
// tokens.Invalidator, whose Invalidate the 401 then reaches (a Cache in
// front would hide it, the rejected token handed back from the source's
// own cache). The Cache the client built is closed by Client.Close;
// a source given here that caches is not (it may serve other clients): its
// owner closes it. The requests src sends to get its tokens do not go
// through the client (its egress check, TLS settings and pins do not
// apply to them: src's HTTP client's do): they are in its inventory,
// audit log and traces
// only if src's HTTP client's transport is a transport.NewTokenRequests
// given them (WithOAuth2ClientCredentials does this itself). Requires
// WithOrigins. Default: no token.
func WithTokenSource(src tokens.Source) Option {
	return requireValue("WithTokenSource", src, func(c *config, v tokens.Source) { c.tokenSource, c.tokenOption = v, "WithTokenSource" })
}

// WithOAuth2ClientCredentials gets bearer tokens from an OAuth2 token
// endpoint with the client-credentials grant (client_secret_basic,
// client_secret_post or private_key_jwt, per cfg.Auth), cached and refreshed
// ahead of expiry, and attaches them as WithTokenSource does. When
// cfg.HTTPClient is nil, token requests go through the client's hardened
// base transport (same TLS configuration, pins and client certificate),
// without redirects. Token requests, through either, are recorded in the
// client's inventory and audit log (WithInventory, WithAuditLog) like
// calls: POST, the token endpoint's origin and path, and the client
// authentication (basic for client_secret_basic, other for
// client_secret_post and private_key_jwt), never a secret of the request
// or of its answer (see transport.NewTokenRequests), and traced with the
// client's tracer and meter providers and propagator: one client span per
// token request, a child of the span of the call that needed the token,
// and an http.client.request.duration measurement (docs/configuration.md,
// Telemetry). Requires
// WithOrigins. A cfg.HTTPClient whose
// Transport is an *http.Transport (http.DefaultTransport, as it is at New,
// when it has none) is checked as WithBaseTransport's is:
// one that skips certificate verification, allows TLS below 1.2 or an
// insecure cipher suite, or has a KeyLogWriter (it would send the
// client's credentials there, or let them be decrypted) is
// a *ConfigError matching ErrInsecureTLS; so is a Transport holding a nil
// pointer, naming HTTPClient.Transport.
func WithOAuth2ClientCredentials(cfg tokens.OAuth2Config) Option {
	return optionFunc(func(c *config) {
		if cfg.HTTPClient != nil {
			rt := cfg.HTTPClient.Transport
			if rt != nil && configerr.IsNil(rt) {
				// Not a nil RoundTripper: http.Client would call it,
				// not http.DefaultTransport, and every token request
				// panic.
				c.errs = append(c.errs, &ConfigError{Option: "WithOAuth2ClientCredentials",
					Err: &ConfigError{Option: "HTTPClient.Transport", Reason: fmt.Sprintf("a nil %T: leave Transport nil for http.DefaultTransport", rt)}})
				return
			}
			if rt == nil {
				// What http.Client sends through: a global another
				// package may have set to skip verification.
				rt = http.DefaultTransport
			}
			if t, ok := rt.(*http.Transport); ok && t.TLSClientConfig != nil {
				if err := transport.CheckTLSConfig(t.TLSClientConfig); err != nil {
					c.errs = append(c.errs, &ConfigError{Option: "WithOAuth2ClientCredentials",
						Err: &ConfigError{Option: "HTTPClient.Transport", Err: err}})
					return
				}
			}
		}
		cc := cfg
		c.oauth2 = &cc
		c.tokenOption = "WithOAuth2ClientCredentials"
	})
}

// WithAPIKey sends the key from src in the header named header (empty means
// transport.DefaultAPIKeyHeader, "X-Api-Key") to the client's origins only,
// replacing any value the request has in that header.
// The header is registered as sensitive, so no foreign redirect hop gets it,
// and it never appears in telemetry. Requires WithOrigins. Default: none.
// A header the key would not reach the origin in is a *ConfigError: one
// net/http does not send from Request.Header (Host, Content-Length,
// Transfer-Encoding, Trailer), a hop-by-hop one (Connection, Keep-Alive,
// Proxy-Connection, TE, Upgrade, Proxy-Authorization, Proxy-Authenticate),
// Authorization together with WithTokenSource or
// WithOAuth2ClientCredentials (the bearer token would replace the key),
// Signature, Signature-Input or Content-Digest together with a signer,
// a header another layer sets or reads (Traceparent, Tracestate, Baggage:
// the propagator replaces them; Idempotency-Key, X-Idempotency-Key:
// net/http and the server would take every POST for safe to send again),
// and Cookie: the key replaces every value of its header, so the
// request's cookies (the caller's, an http.Client Jar's) would be lost;
// so would the meaning of a header net/http or the server reads
// (Content-Type, Content-Encoding, Expect, Accept-Encoding: net/http's
// transparent gzip off; Range, If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since, If-Range; Accept,
// Accept-Charset, Accept-Language: content negotiation; Cache-Control,
// Pragma: cache directives; Content-Language, Content-Location,
// Content-Range), also refused.
// It cannot be combined with WithAPIKeyInQuery: the client sends one key.
// src is cached as WithTokenSource's is (a tokens.Cache of the client's,
// closed with it, unless src caches already: a *tokens.Cache or a
// tokens.Invalidator, whose Invalidate a 401 then reaches): asked once, not on every attempt (a
// key kept in the OS keyring), and again after a 401 from an origin, the
// request then replayed once with the new key (a key rotated in the
// store).
func WithAPIKey(header string, src tokens.Source) Option {
	return optionFunc(func(c *config) {
		if configerr.IsNil(src) {
			c.fail("WithAPIKey", "nil tokens.Source")
			return
		}
		if err := configerr.Unconstructed("WithAPIKey", src); err != nil {
			c.errs = append(c.errs, err)
			return
		}
		// A local: the option may be applied by several New calls at
		// once, and header is shared by all of them.
		h := header
		if h == "" {
			h = transport.DefaultAPIKeyHeader
		}
		if !httpguts.ValidHeaderFieldName(h) {
			c.fail("WithAPIKey", "invalid header name %s", redact.FieldName(h))
			return
		}
		ch := textproto.CanonicalMIMEHeaderKey(h)
		if ch == "Cookie" {
			// The key layer replaces every value of its header: the
			// caller's cookies, and those an http.Client's Jar adds
			// (HTTPClient), would be dropped from every request to the
			// origin.
			c.fail("WithAPIKey", "the Cookie header carries the request's cookies (the caller's, an http.Client Jar's), which the key would replace on every request; use another header")
			return
		}
		if c.setAPIKeyOption("WithAPIKey") {
			c.apiKey = &transport.APIKeyConfig{Source: src, Header: ch}
		}
	})
}

// WithAPIKeyInQuery sends the key from src as the query parameter param,
// replacing every parameter of the request URL that a common server reads
// as param (any case, "api.key" for "api_key", "[api_key]"; see
// transport.APIKeyConfig.QueryParam), the other parameters kept as
// written; on the client's origins only.
// Discouraged: URLs end up in access logs and proxies. The parameter's value
// is always redacted from telemetry and errors (listing it in
// WithVisibleQueryKeys, under any spelling the key replaces, is a
// *ConfigError). Requires WithOrigins. It
// cannot be combined with WithAPIKey: the client sends one key. src is
// cached as WithAPIKey's is.
func WithAPIKeyInQuery(param string, src tokens.Source) Option {
	return optionFunc(func(c *config) {
		if configerr.IsNil(src) {
			c.fail("WithAPIKeyInQuery", "nil tokens.Source")
			return
		}
		if err := configerr.Unconstructed("WithAPIKeyInQuery", src); err != nil {
			c.errs = append(c.errs, err)
			return
		}
		if param == "" {
			c.fail("WithAPIKeyInQuery", "empty query parameter name")
			return
		}
		if c.setAPIKeyOption("WithAPIKeyInQuery") {
			c.apiKey = &transport.APIKeyConfig{Source: src, QueryParam: param}
		}
	})
}

// setAPIKeyOption records option as the one that configures the API key
// and reports true, or records a *ConfigError and reports false when the
// other API-key option already did: the client sends one key, and one of
// the two would be silently dropped. The same option given again replaces
// the earlier one.
func (c *config) setAPIKeyOption(option string) bool {
	if c.apiKeyOption != "" && c.apiKeyOption != option {
		c.fail(option, "cannot be combined with %s: the client sends one API key", c.apiKeyOption)
		return false
	}
	c.apiKeyOption = option
	return true
}

// apiKeyHeaderClash refuses an API key header that another credential
// layer of the stack sets on the same request: the bearer layer sets
// Authorization after the API-key layer (the key would be silently
// replaced by the token), and the signer sets Signature, Signature-Input
// and Content-Digest (the key would be replaced, or taken for a digest or
// signature and break verification).
func (cfg *config) apiKeyHeaderClash() error {
	h := cfg.apiKey.Header
	if h == "" {
		return nil
	}
	if h == "Authorization" && (cfg.tokenSource != nil || cfg.oauth2 != nil) {
		return &ConfigError{Option: "WithAPIKey", Reason: "the Authorization header carries the " + cfg.tokenOption + " bearer token: the key would be replaced; use another header"}
	}
	if cfg.signer != nil {
		switch h {
		case "Signature", "Signature-Input", "Content-Digest":
			return &ConfigError{Option: "WithAPIKey", Reason: "the " + h + " header is set by the request signer: use another header"}
		}
	}
	return nil
}

// validateAuth checks the credential options against the rest of the
// configuration.
func (cfg *config) validateAuth() error {
	if cfg.tokenSource != nil && cfg.oauth2 != nil {
		return &ConfigError{Option: "WithOAuth2ClientCredentials", Reason: "cannot be combined with WithTokenSource"}
	}
	if (cfg.tokenSource != nil || cfg.oauth2 != nil) && len(cfg.origins) == 0 {
		return &ConfigError{Option: "WithOrigins", Reason: "required with " + cfg.tokenOption + ": tokens are scoped to the client's origins"}
	}
	if cfg.apiKey != nil {
		if len(cfg.origins) == 0 {
			return &ConfigError{Option: "WithOrigins", Reason: "required with an API key: keys are scoped to the client's origins"}
		}
		if err := cfg.apiKeyHeaderClash(); err != nil {
			return err
		}
		if p := cfg.apiKey.QueryParam; p != "" {
			// Every spelling the key layer replaces as the key (any case,
			// "api.key", "[api_key]", "api_key[]") is the key's: a URL
			// carrying one would show the caller's copy of it.
			keys := []string{querykey.Form(p)}
			for _, k := range cfg.visibleQuery {
				if querykey.ReadsAs(k, keys) {
					return &ConfigError{Option: "WithVisibleQueryKeys", Reason: "the API key parameter " + p + " (listed as " + strconv.Quote(k) + ") can never be shown"}
				}
			}
		}
	}
	return nil
}
