// Package client is securecall's entry point. Build one Client per API (or
// per set of origins) with New and functional options, then send requests
// with Do, or hand HTTPClient() / Transport() to code that wants a
// *http.Client or an http.RoundTripper (generated API clients, for example).
//
//	c, err := client.New(
//		client.WithOrigins("https://api.example.com"),
//		client.WithPins(transport.PinSet{Host: "api.example.com", Pins: []string{primary, backup}}),
//	)
//	if err != nil { ... } // *client.ConfigError naming the option
//	defer c.Close()
//	resp, err := c.Do(req)
//
// Every request goes through a fixed stack of layers (see stack.go and
// docs/architecture.md): a logical span per call (which also reports the
// call's first send, unless WithCallSpanKind says otherwise), one clone of
// the request per attempt shared by the per-attempt layers, a span per
// resend, and a hardened TLS base transport with pinning and mutual TLS. Redirects are
// followed by the *http.Client only within the client's origins; a hop to an
// explicitly allowed foreign origin gets no credential and no body.
//
// Behind an httputil.ReverseProxy with Transport() as its Transport, let
// the outgoing request name the backend: Rewrite with pr.SetURL(target),
// or req.Host = "" after NewSingleHostReverseProxy's Director, which keeps
// the incoming Host. A kept Host fails safe: one not on the egress
// allowlist is refused (ErrEgressDenied), and one outside the credential's
// origins gets no credential (docs/security.md, "Behind
// httputil.ReverseProxy").
//
// Fleet mode: the replicas of a service can share what each one learns
// about a host, so that twenty replicas behave like one client: cooldowns
// (WithCooldownStore), when a host's circuit breaker is open
// (WithBreakerStore) and a rate limit (WithSharedQuota). WithFleet sets
// all three from one Fleet, such as the one the nested module
// github.com/securecall/securecall/fleet builds on a Redis client you own
// (docs/fleet.md).
//
// Timeouts: WithTimeout bounds a call and WithAttemptTimeout each attempt,
// both until the response body is closed. A body read either of them cuts
// fails with a *transport.BodyTimeoutError naming it (errors.Is with
// context.DeadlineExceeded holds); a read cut by the caller's own context
// deadline fails with net/http's plain context.DeadlineExceeded. An
// HTTP/1 body of unknown length (chunked) whose end is read once one of
// them, or the caller's context, has ended fails so too: that end may be
// the server's reaction to the cancellation (a Go handler that returns
// when the client goes away ends its body cleanly), never read as the
// body's end (docs/resilience.md).
//
// Secure defaults: TLS 1.2 minimum, InsecureSkipVerify and a TLS
// KeyLogWriter refused, no proxy
// from the environment, URLs redacted in spans, metrics and errors.
package client
