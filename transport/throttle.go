package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"golang.org/x/time/rate"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/configerr"
)

// Throttle defaults (ThrottleConfig zero values).
const (
	// DefaultThrottleMaxWait: the longest a request waits in the throttle
	// (for a concurrency slot, a token and the shared quota together)
	// before it fails with ErrRateLimited.
	DefaultThrottleMaxWait = 5 * time.Second
	// DefaultThrottleDecrease: a server throttle signal multiplies the
	// host's rate by this.
	DefaultThrottleDecrease = 0.5
	// DefaultThrottleMinRate: the adaptive rate, a RateLimit-Policy
	// ceiling included, never goes below this (requests per second).
	DefaultThrottleMinRate rate.Limit = 0.5
	// DefaultThrottleRecoveryStep: each RecoveryInterval without a signal
	// gives back this fraction of the host's ceiling rate...
	DefaultThrottleRecoveryStep = 0.1
	// DefaultThrottleRecoveryInterval: ...and at most one decrease happens
	// per interval, so one burst of 429s halves the rate once.
	DefaultThrottleRecoveryInterval = time.Second
)

// Names of the throttle's instruments and span-event attributes.
const (
	// MetricThrottleWait records each wait the throttle imposed, in
	// seconds (unit "s"). Attributes: server.address (and server.port, as
	// for MetricRetries), ThrottleReasonKey.
	MetricThrottleWait = "securecall.throttle.wait"

	// ThrottleWaitKey: the wait imposed, in seconds.
	ThrottleWaitKey = attribute.Key("securecall.throttle.wait")
	// ThrottleReasonKey: "rate", "concurrency", "quota", "hosts" or
	// "cooldown".
	ThrottleReasonKey = attribute.Key("securecall.throttle.reason")
)

// Reasons for a throttle wait or refusal (ThrottleReasonKey,
// RateLimitError.Reason).
const (
	ThrottleRate        = "rate"
	ThrottleConcurrency = "concurrency"
	// ThrottleQuota: the shared quota (ThrottleConfig.Quota) asked the
	// request to wait.
	ThrottleQuota = "quota"
	// ThrottleHosts: the request's host is new and the throttle's host
	// table (ThrottleConfig.MaxHosts) is full of hosts whose state must
	// not be forgotten; the request is refused, not queued.
	ThrottleHosts = "hosts"
)

// minQuotaWait is the shortest wait between two questions to the shared
// quota, so that a quota answering with tiny waits cannot make the layer
// spin.
const minQuotaWait = time.Millisecond

// HostLimit is the client-side limit for the hosts matching Pattern.
type HostLimit struct {
	// Pattern selects hosts by HostKey: an exact key ("api.example.com",
	// "api.example.com:8443"), "*.example.com" for every subdomain of
	// example.com (not example.com itself), or "*" for every host. Case
	// and a trailing dot of the name are ignored, as for HostKey; an IPv6
	// zone is matched as written ("[fe80::1%ETH0]" is not the "eth0"
	// link), as HostKey keeps it. The port
	// is part of the match, as HostKey keeps it: a pattern without one
	// ("api.example.com", "*.example.com") matches the scheme's default
	// port only (https on 443, http on 80, which share one key), and
	// "*.example.com:8443" the subdomains on port 8443. A pattern with
	// port 80 or 443, which HostKey never holds for its scheme, and a
	// non-ASCII name (HostKey holds its punycode form) are refused (see
	// CheckHostPattern).
	Pattern string
	// Rate is the sustained request rate, per second. Zero (or rate.Inf):
	// no rate limit (the adaptive throttle may still impose one).
	Rate rate.Limit
	// Burst is the token bucket's size. Zero: max(1, Rate rounded up).
	// Only with a finite Rate: a Burst without one is refused (a
	// ConfigError). While a throttle signal holds the rate lowered (or
	// the host at a quota it advertises) the bucket holds one second of
	// that rate at most, and Burst again once the limit is lifted.
	Burst int
	// MaxConcurrent caps the requests in flight to the host: from send to
	// the end of the response body, the first of: a Read returning io.EOF
	// (a body read to its end is done, as net/http counts it for
	// connection reuse, closed or not) or another error (a reset: net/http
	// does not reuse the connection either), Close, or the end of the
	// request's context (net/http's transport has then aborted the body).
	// The slot is given back once, whichever comes first. A 101 Switching
	// Protocols body (a connection the caller owns and may still write to)
	// holds it until closed. Zero: no cap.
	MaxConcurrent int
}

// ThrottleConfig configures the throttle layer (NewThrottle). The zero
// value limits nothing up front and adapts: a server throttle signal
// lowers the host's rate, which then recovers.
type ThrottleConfig struct {
	// Limit applies to hosts that match none of Hosts (its Pattern is
	// ignored).
	Limit HostLimit
	// Hosts lists per-host limits; the first matching Pattern wins. A
	// limit after one whose Pattern matches every host its own does ("*",
	// or "*.example.com" before "api.example.com", or the same pattern
	// twice) would never apply: it is a ConfigError naming its Pattern.
	Hosts []HostLimit
	// MaxWait is the longest a request waits in the throttle: its waits
	// for a concurrency slot, a token and the shared quota add up to at
	// most this; a wait that would take the total beyond it fails at once
	// with a *RateLimitError. A wait that cannot finish before the context's
	// deadline fails at once with a *DeadlineError; both match
	// ErrRateLimited. Zero: DefaultThrottleMaxWait.
	MaxWait time.Duration
	// MinAttemptTime: a wait is not started when less than this would be
	// left before the deadline once it is over (the request would have no
	// time to be answered). Zero: DefaultMinAttemptTime; negative: none.
	MinAttemptTime time.Duration
	// DisableAdaptive turns off the adaptive rate.
	DisableAdaptive bool
	// Decrease multiplies the host's rate on a throttle signal (429, 503
	// with Retry-After, RateLimit r=0). Zero: DefaultThrottleDecrease;
	// must be in (0, 1).
	Decrease float64
	// MinRate is the floor of the adaptive rate, the quota a
	// RateLimit-Policy advertises included: a policy whose quota / window
	// is below it holds the host at MinRate (set it lower to honour a
	// slower quota). It never raises a rate: a host whose configured Rate
	// is below it is held at that Rate on a throttle signal. Zero:
	// DefaultThrottleMinRate.
	MinRate rate.Limit
	// RecoveryStep is the fraction of the host's ceiling (its configured
	// rate, or the rate it was sending at when first throttled, requests
	// the throttle refused not counted) given back per RecoveryInterval
	// without a signal, requests sent meanwhile or not; at the ceiling the
	// adaptive limit is lifted. Zero: DefaultThrottleRecoveryStep; must be
	// in (0, 1].
	RecoveryStep float64
	// RecoveryInterval is the recovery period, also the minimum time
	// between two decreases. Zero: DefaultThrottleRecoveryInterval.
	RecoveryInterval time.Duration
	// MaxHosts bounds the per-host state. Zero: DefaultMaxHosts. Past
	// it, idle hosts are forgotten (least recently used first); a host
	// with slots in use, a lowered adaptive rate or a token bucket below
	// full never is, as a fresh state would lift its cap or rate or grant
	// it a full burst again. When every host held is such a host, a
	// request to a new host fails closed: it is refused with a
	// *RateLimitError (Reason ThrottleHosts) until one becomes idle; the
	// table is then not scanned again for each refusal, only once a host
	// may have become idle. Forgotten hosts are counted in
	// MetricHostsForgotten (layer "throttle", always busy=false).
	MaxHosts int
	// MeterProvider creates MetricThrottleWait and MetricHostsForgotten.
	// nil: otel.GetMeterProvider(). One whose instruments panic (a bug in
	// it) has the request's body closed and the slot or token its wait
	// took given back, and its panic goes on.
	MeterProvider metric.MeterProvider
	// Quota, when set, is a rate limit shared with other processes (the
	// replicas of a service; see the fleet module), asked with
	// TakeQuota(ctx, host) after the host's local concurrency slot and token
	// are taken. An answer to wait is obeyed like a token wait: the
	// waits for one request, with its slot and token waits, add up to at
	// most MaxWait (beyond: a
	// *RateLimitError, Reason ThrottleQuota), none is started that would
	// end within MinAttemptTime of the deadline (a *DeadlineError), and
	// the quota is asked again after each. An error from the quota
	// refuses the request (wrapped: it matches ErrRateLimited when the
	// quota's does; any other is never sent, may be retried whatever the
	// method, and is not counted against the host's breaker: the quota, not
	// the host, failed). A refused request gives its concurrency slot back and
	// is not sent. nil: no shared quota.
	Quota SharedQuota
}

func (c ThrottleConfig) resolve() (ThrottleConfig, error) {
	if err := configerr.Unconstructed("ThrottleConfig.Quota", c.Quota); err != nil {
		return c, err
	}
	if err := typedNil("ThrottleConfig.Quota", c.Quota); err != nil {
		return c, err
	}
	if err := typedNil("ThrottleConfig.MeterProvider", c.MeterProvider); err != nil {
		return c, err
	}
	if err := c.Limit.check("ThrottleConfig.Limit", false); err != nil {
		return c, err
	}
	for i := range c.Hosts {
		if err := c.Hosts[i].check(fmt.Sprintf("ThrottleConfig.Hosts[%d]", i), true); err != nil {
			return c, err
		}
		for j := range i {
			if patternCovers(c.Hosts[j].Pattern, c.Hosts[i].Pattern) {
				return c, configErrorf(fmt.Sprintf("ThrottleConfig.Hosts[%d].Pattern", i), nil,
					"%q never applies: Hosts[%d] (%q) matches every host it does and comes first (the first matching pattern wins): put the more specific limit first",
					c.Hosts[i].Pattern, j, c.Hosts[j].Pattern)
			}
		}
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultThrottleMaxWait
	}
	if c.MaxWait < 0 {
		return c, configErrorf("ThrottleConfig.MaxWait", nil, "must not be negative, got %v", c.MaxWait)
	}
	if c.MinAttemptTime == 0 {
		c.MinAttemptTime = DefaultMinAttemptTime // negative stays: none
	}
	if c.Decrease == 0 {
		c.Decrease = DefaultThrottleDecrease
	}
	if !(c.Decrease > 0 && c.Decrease < 1) {
		return c, configErrorf("ThrottleConfig.Decrease", nil, "must be in (0, 1), got %v", c.Decrease)
	}
	if c.MinRate == 0 {
		c.MinRate = DefaultThrottleMinRate
	}
	if !(c.MinRate > 0) || c.MinRate == rate.Inf {
		return c, configErrorf("ThrottleConfig.MinRate", nil, "must be a positive finite rate, got %v", c.MinRate)
	}
	if c.RecoveryStep == 0 {
		c.RecoveryStep = DefaultThrottleRecoveryStep
	}
	if !(c.RecoveryStep > 0 && c.RecoveryStep <= 1) {
		return c, configErrorf("ThrottleConfig.RecoveryStep", nil, "must be in (0, 1], got %v", c.RecoveryStep)
	}
	if c.RecoveryInterval == 0 {
		c.RecoveryInterval = DefaultThrottleRecoveryInterval
	}
	if c.RecoveryInterval < 0 {
		return c, configErrorf("ThrottleConfig.RecoveryInterval", nil, "must be positive, got %v", c.RecoveryInterval)
	}
	if c.MaxHosts < 0 {
		return c, configErrorf("ThrottleConfig.MaxHosts", nil, "must not be negative, got %d", c.MaxHosts)
	}
	return c, nil
}

func (h HostLimit) check(field string, needPattern bool) error {
	if needPattern {
		if err := CheckHostPattern(h.Pattern); err != nil {
			return configErrorf(field+".Pattern", nil, "%s", err.Error())
		}
	}
	if h.Rate < 0 || math.IsNaN(float64(h.Rate)) {
		return configErrorf(field+".Rate", nil, "must not be negative, got %v", h.Rate)
	}
	if h.Burst < 0 {
		return configErrorf(field+".Burst", nil, "must not be negative, got %d", h.Burst)
	}
	if h.Burst > 0 && (h.Rate == 0 || h.Rate == rate.Inf) {
		// Without a Rate there is no bucket (the adaptive throttle's own
		// rate has a burst of 1): the Burst would do nothing. The fleet
		// quota refuses the same.
		return configErrorf(field+".Burst", nil, "needs a Rate: without one nothing is limited up front, and the burst would have no effect")
	}
	if h.MaxConcurrent < 0 {
		return configErrorf(field+".MaxConcurrent", nil, "must not be negative, got %d", h.MaxConcurrent)
	}
	return nil
}

// matches reports whether host (a HostKey) matches h.Pattern.
func (h HostLimit) matches(host string) bool { return MatchHostPattern(h.Pattern, host) }

// CheckHostPattern reports why pattern is not a valid HostLimit.Pattern,
// or nil. Besides the wildcard forms, it refuses the patterns that could
// never match a HostKey: a port of 80 or 443 (HostKey drops the default
// port of the URL's scheme, so "api.example.com:443" would match no https
// URL; it matches http on port 443 only, which is rarely what is meant:
// write "api.example.com", the key of both https on 443 and http on 80)
// a non-ASCII name (HostKey holds an internationalised name in its
// punycode form, "xn--..."), and an exact host HostKey holds in another
// form: an IP address not in its standard form ("[0::1]" for "[::1]",
// "127.1" or "[::ffff:127.0.0.1]" for "127.0.0.1") or a port with leading
// zeros; the error names the form to write. So is a pattern no URL's
// host can have, which url.Parse and the client refuse: a character a DNS
// name cannot have ("api.example.com/v1", a space, a control character),
// an empty label, an unclosed IPv6 bracket, or a port that is not a
// number of 1-65535. A pattern with a character of a URL's scheme
// separator, path, query, fragment or userinfo ("/", "?", "#", "@",
// "\\": a URL given for a host, perhaps with its credentials) is refused
// without being repeated in the error, as an egress allowlist entry is.
// The fleet module's quota patterns are checked the same way.
func CheckHostPattern(pattern string) error {
	p := pattern
	switch {
	case p == "":
		return errors.New("must not be empty")
	case p == "*":
		return nil
	case urlLike(p):
		return errURLPattern
	case strings.HasPrefix(p, "*."):
		if len(p) < 3 || strings.Contains(p[2:], "*") {
			return fmt.Errorf("invalid wildcard pattern %q", p)
		}
	case strings.Contains(p, "*"):
		return fmt.Errorf("a wildcard is only allowed as a leading \"*.\" or alone, got %q", p)
	}
	if !isASCII(p) {
		return fmt.Errorf("%q is not ASCII: write an internationalised name in its punycode form (\"xn--...\"), as HostKey holds it", p)
	}
	if err := checkPatternHostPort(p); err != nil {
		return fmt.Errorf("%q never matches: %v", p, err)
	}
	if i := strings.LastIndexByte(p, ':'); i >= 0 && strings.IndexByte(p[i:], ']') < 0 {
		if port := p[i+1:]; port == "443" || port == "80" {
			return fmt.Errorf("%q: HostKey drops the scheme's default port, so a pattern with port %s never matches https on 443 or http on 80: write the host without the port (%q), which matches both", p, port, p[:i])
		}
	}
	if !strings.HasPrefix(p, "*.") {
		// An exact pattern must be written as HostKey holds the host, or
		// it never matches: an IP address in its standard form ("[::1]",
		// not "[0::1]"; "127.0.0.1", not "127.1" or "[::ffff:127.0.0.1]"),
		// a port without leading zeros.
		norm := strings.Replace(strings.TrimSuffix(lowerPattern(p), "."), ".:", ":", 1)
		if key := HostKey(&url.URL{Scheme: "https", Host: norm}); key != norm {
			if key == invalidHostKey {
				return fmt.Errorf("%q is not a host name or address HostKey can hold (too long, or a port of more than five digits)", p)
			}
			return fmt.Errorf("%q never matches: HostKey holds that host as %q; write that", p, key)
		}
	}
	return nil
}

// urlLike reports whether a host pattern holds a character of a URL's
// scheme separator, path, query, fragment or userinfo: a URL given for a
// host, perhaps with credentials (an API's base URL from the
// environment), which an error must not repeat.
func urlLike(p string) bool { return strings.ContainsAny(p, "/?#@\\") }

// errURLPattern refuses a host pattern that is a URL (urlLike), without
// repeating it: errors end up in logs.
var errURLPattern = errors.New("must be a host pattern (\"api.example.com\", \"*.example.com\", \"api.example.com:8443\"), not a URL: no scheme, path, query, fragment or userinfo (the value is not repeated: it may carry a secret)")

// checkPatternHostPort reports why the ASCII pattern p (without its
// "*." prefix, if any) is no host[:port] a request can have: a name with
// a character a DNS name cannot have ("api.example.com/v1", a space, a
// control character) or an empty label, a bracketed IPv6 literal that
// does not parse, a port that is not a number of 1-65535 (leading zeros
// are left to CheckHostPattern, which names the form to write). url.Parse
// refuses such a host, and the client refuses a URL built by hand with
// one, so the pattern would never apply.
func checkPatternHostPort(p string) error {
	host, port, hasPort := strings.TrimPrefix(p, "*."), "", false
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.IndexByte(host[i:], ']') < 0 {
		host, port, hasPort = host[:i], host[i+1:], true
	}
	if hasPort && port != "" {
		if !ascii.AllDigits(port) {
			return errors.New("the port is not a number")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("the port must be 1-65535")
		}
	}
	if strings.HasPrefix(host, "[") && !strings.HasPrefix(p, "*.") {
		if _, ok := ipLiteralKey(host); !ok {
			return errors.New("not a bracketed IPv6 address")
		}
		return nil
	}
	_, err := normaliseName(host)
	return err
}

// HostPatternCovers reports whether every HostKey that matches the
// pattern later also matches the pattern first (MatchHostPattern), both
// valid (CheckHostPattern): in a list where the first matching pattern
// wins, an entry for later after one for first never applies. The
// throttle's ThrottleConfig.Hosts and the fleet module's quota limits
// refuse such an entry.
func HostPatternCovers(first, later string) bool { return patternCovers(first, later) }

// patternCovers is HostPatternCovers.
func patternCovers(first, later string) bool {
	f := strings.Replace(strings.TrimSuffix(lowerPattern(first), "."), ".:", ":", 1)
	l := strings.Replace(strings.TrimSuffix(lowerPattern(later), "."), ".:", ":", 1)
	switch {
	case f == "*" || f == l:
		return true
	case l == "*":
		return false
	case strings.HasPrefix(l, "*."):
		// The names below l's domain are below f's when that domain
		// is f's or below it ("*.a.example.com" under "*.example.com").
		return strings.HasPrefix(f, "*.") && strings.HasSuffix(l[1:], f[1:])
	}
	// An exact valid pattern is the HostKey it matches.
	return MatchHostPattern(first, l)
}

// lowerPattern returns the host pattern p in lower case, but for the zone
// of an IPv6 literal ("[FE80::1%ETH0]" is "[fe80::1%ETH0]"): HostKey keeps
// a zone as written, since it names an interface and interface names are
// case-sensitive.
func lowerPattern(p string) string {
	if i := strings.IndexByte(p, '%'); i >= 0 && strings.HasPrefix(p, "[") {
		return strings.ToLower(p[:i]) + p[i:]
	}
	return strings.ToLower(p)
}

// MatchHostPattern reports whether host (a HostKey) matches pattern as
// HostLimit.Pattern reads it: "*" (any host), "*.example.com" (any name
// below example.com) or an exact "host[:port]". Case and a trailing dot of
// the pattern's name are ignored, as HostKey drops the host's; an IPv6
// zone is compared as written, as HostKey keeps it. The fleet
// module's quota patterns match the same way.
func MatchHostPattern(pattern, host string) bool {
	p := strings.Replace(strings.TrimSuffix(lowerPattern(pattern), "."), ".:", ":", 1)
	switch {
	case p == "*":
		return true
	case strings.HasPrefix(p, "*."):
		return strings.HasSuffix(host, p[1:]) && len(host) > len(p)-1
	}
	return host == p
}

// RateLimitError is the error of a request the throttle refused because
// its wait for a token (Reason ThrottleRate), a concurrency slot (Reason
// ThrottleConcurrency) or the shared quota (Reason ThrottleQuota), added
// to what it already waited in the throttle, would exceed MaxWait, or
// because its host is new and the host table is full of hosts whose
// state must be kept (Reason ThrottleHosts; Wait is then 0). The retry
// layer returns one with Reason "cooldown" (SourceCooldown) for a host
// whose cooldown, read from a shared CooldownStore or extended while the
// call waited it out, runs longer than its MaxRetryAfter (Wait: the
// cooldown waited so far plus what is left of it). errors.Is(err,
// ErrRateLimited) is true; the retry layer does not retry it.
type RateLimitError struct {
	Host    string
	Reason  string
	Wait    time.Duration // the total wait needed: waited so far + the wait refused (for a slot: the time waited)
	MaxWait time.Duration
}

func (e *RateLimitError) Error() string {
	switch e.Reason {
	case ThrottleHosts:
		return "transport: throttle: no room for " + e.Host + ": every host in the table (MaxHosts) has limit state in use"
	case string(SourceCooldown):
		return "transport: retry: " + e.Host + "'s cooldown needs a wait of " + e.Wait.String() + " in all (waited so far and left), longer than MaxRetryAfter (" + e.MaxWait.String() + ")"
	}
	return "transport: throttle: " + e.Reason + " limit for " + e.Host + ": wait of " + e.Wait.String() + " exceeds " + e.MaxWait.String()
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// NewThrottle returns the throttle layer: per host (HostKey), a token
// bucket (golang.org/x/time/rate) and a concurrency cap with a bounded
// queue, as configured per host pattern, and an adaptive rate: a 429, a
// 503 with Retry-After, or a RateLimit item with r=0 multiplies the host's
// rate by cfg.Decrease (starting, for a host without a configured rate,
// from the rate it was sending at, or from the quota a RateLimit-Policy
// field advertises if lower), at most once per cfg.RecoveryInterval; each
// further interval without a signal gives back cfg.RecoveryStep of the
// ceiling, until the limit is lifted (or, when the server advertised its
// quota, until the rate is back at that quota, where it stays while the
// server keeps advertising it). While an adaptive limit is in force the
// latest RateLimit-Policy any response carries sets the ceiling, up or
// down, never below cfg.MinRate; one no response has carried for the
// longer of its window (counted as at most an hour) and a full recovery
// (cfg.RecoveryInterval / cfg.RecoveryStep, at most the longest
// time.Duration) lapses, and the limit is lifted.
//
// No wait is started that cannot finish cfg.MinAttemptTime before the
// context's deadline (a *DeadlineError) or would take the request's
// total wait in the layer (slot, token and quota waits together) beyond
// cfg.MaxWait (a *RateLimitError); both match ErrRateLimited, and the
// request is not sent (its body is closed).
//
// With cfg.Quota set, a request also takes its share of a quota shared
// with other processes, after the local limits (see ThrottleConfig.Quota).
//
// It belongs inside the retry loop, below the breaker, per attempt: a
// provider's quota counts every attempt. Above the breaker (a stack built
// by hand) it would spend a token (and a quota share) on each request the
// open breaker then refuses, unsent, and count it as a send for its
// adaptive rate. A half-open probe's timeout
// (BreakerConfig.ProbeTimeout) leaves the throttle's wait out either way:
// above the breaker the wait comes before the breaker admits the probe.
// A host with no configured limit and no adaptive limit in force costs
// two atomic operations and no lock.
// A credential layer right below (NewAuth, NewAPIKey; an attempt timeout
// between them is passed through) replays a request after a 401 from
// below the throttle: the replay, a second request to the host, takes a
// token and a quota share too before it is sent, waiting as a request
// does (its slot is the first send's); refused, it is not sent and the
// call fails with the throttle's error. A credential layer put below two
// throttles is linked to neither.
// Span event: EventThrottled (ThrottleWaitKey, ThrottleReasonKey) on every
// wait or refusal. A nil next means http.DefaultTransport. Bad
// configuration is a *ConfigError. cfg.Hosts is copied: changing the
// caller's slice afterwards does not change the limits.
func NewThrottle(next http.RoundTripper, cfg ThrottleConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	c.Hosts = slices.Clone(c.Hosts) // read at every new host: the caller's may change
	l := &throttleLayer{next: orDefault(next), cfg: c, clk: sysClock}
	meter := meterOf(c.MeterProvider)
	if l.waits, err = meter.Float64Histogram(MetricThrottleWait, metric.WithUnit("s"),
		metric.WithDescription("Waits imposed by securecall's client-side throttle.")); err != nil || l.waits == nil {
		otelHandle(err)
		l.waits = metricnoop.Float64Histogram{}
	}
	l.hosts.init(c.MaxHosts, l.newHost)
	l.hosts.busy = l.hostBusy
	l.hosts.keepBusy = true // forgetting one would lift its limit
	l.hosts.wake = l.hostWake
	// Only idle hosts are ever forgotten (busy=false): a busy one makes
	// the new host's request fail closed instead.
	l.hosts.forgotten = newForgetCounter(meter, "throttle")
	linkReplays(l.next, l)
	return l, nil
}

type throttleLayer struct {
	next  http.RoundTripper
	cfg   ThrottleConfig
	hosts registry[throttleHost]
	waits metric.Float64Histogram
	sets  optCache[hostLabel, []metric.RecordOption]
	clk   clock
}

// throttleHost is one host's throttle state.
type throttleHost struct {
	host    string
	base    rate.Limit // configured rate; rate.Inf: none
	burst   int
	limited atomic.Bool                  // a token bucket is in force
	lim     atomic.Pointer[rate.Limiter] // set once, under mu
	sem     *hostSem                     // nil: no concurrency cap
	// resMu makes a reservation of lim and its cancellation, when the
	// wait is refused, one step: x/time/rate gives a cancelled
	// reservation back only in part when another was made after it, so
	// refusals racing each other left tokens owed that no request used.
	resMu sync.Mutex
	// waits, under resMu, are the reservations of the requests sleeping
	// for a token, in the order they were made (the last one is the
	// limiter's latest event), and those given up while a later one was
	// still out, whose cancellation is put off until every later one is
	// cancelled too (see giveBack).
	waits []*tokenWait

	// adaptive state, under mu (nextRecovery also read atomically)
	mu             sync.Mutex
	adapting       bool         // the adaptive limit is below the ceiling
	ceiling        rate.Limit   // rate recovered to
	policy         bool         // the ceiling is the server's advertised quota
	noDecreaseTill int64        // ticks (see clock)
	nextRecovery   atomic.Int64 // ticks; 0: none pending (also due when a policy ceiling lapses)

	// the RateLimit-Policy last seen, under mu
	policyRaw    string        // the field as received, parsed once
	policyBad    string        // the last field that did not parse, ignored without parsing it again
	policyRate   rate.Limit    // its lowest request rate; 0: none
	policyWindow time.Duration // that item's window
	policyUntil  int64         // ticks: a policy ceiling lapses then unless advertised again

	// send-rate measurement: sends counted in a window of about 1 s
	winStart atomic.Int64 // ticks; 0: none yet
	winCount atomic.Int64
	lastRate atomic.Uint64 // float64 bits, requests per second
}

// busy reports that h holds state a fresh one would not: concurrency
// slots in use, an adaptive rate below its ceiling, or a configured token
// bucket below full (a fresh entry would start with a full burst: evicting
// a drained one would grant the host tokens it already spent).
func (h *throttleHost) busy() bool {
	if (h.sem != nil && h.sem.cur.Load() > 0) || h.nextRecovery.Load() != 0 {
		return true
	}
	if lim := h.lim.Load(); lim != nil && h.base != rate.Inf {
		return lim.Tokens() < float64(h.burst)
	}
	return false
}

// hostWake returns the earliest time (ticks of l.clk) h could stop being
// busy without an event: its pending recovery step, or when its token
// bucket is full again, whichever is first (0: it may be idle now;
// math.MaxInt64: only a slot freed can make it idle). The events that can
// make it idle sooner call l.hosts.changed: a slot freed (hostSem.release),
// a token given back (takeToken) and a decrease, which may bring the
// pending recovery step forward (lower). A rate raised by a policy needs
// none: it happens only while a recovery is pending, which keeps the host
// busy until its step.
func (l *throttleLayer) hostWake(h *throttleHost) int64 {
	w := int64(math.MaxInt64)
	busy := h.sem != nil && h.sem.cur.Load() > 0
	if nr := h.nextRecovery.Load(); nr != 0 {
		w, busy = nr, true
	}
	if lim := h.lim.Load(); lim != nil && h.base != rate.Inf {
		now := l.clk.Now()
		tn := time.Now() // busy reads the bucket as of time.Now
		if tok, r := lim.TokensAt(tn), lim.Limit(); tok < float64(h.burst) {
			busy = true
			// Rounded down: an early wake only costs a scan.
			d := (float64(h.burst) - tok) / float64(r) * float64(time.Second)
			switch {
			case !(r > 0) || r == rate.Inf || d < 0:
				return 0
			case d < float64(math.MaxInt64):
				w = min(w, l.clk.After(now, time.Duration(d)))
			}
		}
	}
	if !busy {
		return 0 // idle since the scan read it (recovered, or refilled)
	}
	return w
}

// hostBusy is h.busy after the recovery steps due by now. Recovery is lazy
// (a request for the host makes it), so a host lowered by a 429 and never
// called again would otherwise keep its pending recovery, and count as
// busy, for good: MaxHosts such hosts would fill the table and every new
// host would be refused forever.
func (l *throttleLayer) hostBusy(h *throttleHost) bool {
	if nr := h.nextRecovery.Load(); nr != 0 {
		if now := l.clk.Now(); l.clk.Mono(now) >= nr {
			l.recover(h, now)
		}
	}
	return h.busy()
}

func (l *throttleLayer) newHost(host string) *throttleHost {
	hl := l.cfg.Limit
	for _, h := range l.cfg.Hosts {
		if h.matches(host) {
			hl = h
			break
		}
	}
	h := &throttleHost{host: host, base: rate.Inf}
	if hl.Rate > 0 && hl.Rate != rate.Inf { // rate.Inf limits nothing, as zero
		h.base = hl.Rate
		h.burst = hl.Burst
		if h.burst == 0 {
			h.burst = max(1, int(math.Ceil(float64(hl.Rate))))
		}
		h.lim.Store(rate.NewLimiter(hl.Rate, h.burst))
		h.limited.Store(true)
	}
	if hl.MaxConcurrent > 0 {
		h.sem = &hostSem{max: int64(hl.MaxConcurrent), freed: l.hosts.changed}
	}
	return h
}

func (l *throttleLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	a := ownAttempt(req)
	if a != nil && a.probe != nil {
		// A breaker's half-open probe: its timeout does not run while it
		// waits here, only once it is sent (breakerProbe).
		a.probe.hold()
	}
	now := a.clockWith(l.clk.Now)
	t := l.clk.Mono(now)
	h := l.hosts.getFor(a.hostKey(req.URL), t, req)
	if h == nil {
		// A new host, and every host held has limit state a fresh entry
		// would lose: fail closed rather than forget one.
		closeBody(req)
		host := a.hostKey(req.URL)
		AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(0), ThrottleReasonKey.String(ThrottleHosts))
		return nil, &RateLimitError{Host: host, Reason: ThrottleHosts, MaxWait: l.cfg.MaxWait}
	}
	// The slot first, then the token: a token taken before a wait for a
	// slot would be spent only when the slot frees, and the requests
	// queued behind a full cap would all go out together, beyond the
	// bucket's burst. A request refused for a slot takes no token.
	// waited is the time spent in the throttle so far: the slot, token
	// and quota waits of one request add up to at most MaxWait.
	var waited time.Duration
	// held is the slot taken and not yet given back or handed to the
	// response body: every return below, and a panic of the quota or of
	// the next transport, gives it back, or the host would lose it for the
	// life of the process.
	var held *hostSem
	if h.sem != nil {
		d, err := l.takeSlot(ctx, a, h, req)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		held = h.sem
		defer func() {
			if held != nil {
				held.release()
			}
		}()
		if d > 0 {
			waited = d
			now = a.clockWith(l.clk.Now)
		}
	}
	if h.limited.Load() {
		d, err := l.takeToken(ctx, a, h, now, waited, req)
		waited += d
		if err != nil {
			closeBody(req)
			return nil, err
		}
	}
	if l.cfg.Quota != nil {
		if err := l.quota(ctx, a, h, waited, req); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	// Only a request let through is a send: counting those refused above
	// would read a host capped by concurrency as sending faster than it
	// does, and start its adaptive rate (and ceiling) too high.
	if !l.cfg.DisableAdaptive {
		if waited > 0 || l.cfg.Quota != nil {
			t = l.clk.Mono(a.clockWith(l.clk.Now)) // the clock moved, or may have
		}
		h.countSend(t)
	}
	if a != nil && a.probe != nil {
		a.probe.sent()
	}

	// A next transport that returns neither a response nor an error: an
	// error, as net/http's Client makes it (the slot is given back).
	resp, err := nextAnswer(l.next.RoundTrip(req))

	if !l.cfg.DisableAdaptive && err == nil && resp != nil {
		signal := false
		if c := resp.StatusCode; c == http.StatusTooManyRequests || c == http.StatusServiceUnavailable || len(resp.Header["Ratelimit"]) > 0 {
			if v := Classify(ctx, resp, nil, time.Now()); v.Throttled {
				signal = true
				l.lower(h, l.clk.Now(), resp.Header)
			}
		}
		// While an adaptive limit is in force, the quota the server
		// advertises now sets the ceiling (see notePolicy).
		if !signal && h.nextRecovery.Load() != 0 && len(resp.Header["Ratelimit-Policy"]) > 0 {
			l.seePolicy(h, l.clk.Now(), resp.Header)
		}
	}
	if h.sem == nil {
		return resp, err
	}
	if err != nil || resp == nil || resp.Body == nil || resp.Body == http.NoBody {
		if err == nil && resp != nil && resp.Body == nil {
			resp.Body = http.NoBody
		}
		return resp, err // the slot is given back
	}
	held = nil // the body gives it back when it ends (io.EOF, a read error, Close)
	sb := &semBody{rc: resp.Body, sem: h.sem}
	if w, ok := resp.Body.(io.Writer); ok {
		// 101 Switching Protocols: the connection is the caller's now, and
		// neither the context ending nor its read side ending (the caller
		// may still write) closes it; only Close frees the slot.
		resp.Body = &semRWBody{sb, w}
		return resp, nil
	}
	if ctx.Done() != nil {
		// Or when the call's context ends, if the body is not closed
		// before: the transport has then aborted the body (a read
		// fails), and a caller that never closes it would otherwise keep
		// the host's slot for the life of the process.
		sb.stop = context.AfterFunc(ctx, sb.free)
	}
	resp.Body = sb
	return resp, nil
}

// noReplayThrottle marks a credential layer linked below more than one
// throttle (linkReplays): its replays are admitted by none, as it cannot
// tell which one a request came through.
var noReplayThrottle = new(throttleLayer)

// linkReplays links l to the credential layers (NewAuth, NewAPIKey) right
// below it, an attempt timeout between them passed through, so that their
// replay of a request after a 401 (a second request to the host, sent from
// below the throttle) is admitted by l as a send is (admitReplay). A
// credential layer already below another throttle is linked to none.
func linkReplays(next http.RoundTripper, l *throttleLayer) {
	for {
		switch n := next.(type) {
		case *attemptTimeout:
			next = n.next
		case *credLayer:
			if !n.throttle.CompareAndSwap(nil, l) && n.throttle.Load() != l {
				n.throttle.Store(noReplayThrottle)
			}
			next = n.next
		default:
			return
		}
	}
}

// admitReplay admits req, the replay of attempt a's request (a: nil
// outside a stack) that a credential layer below l sends once the first
// send was answered 401, as RoundTrip admits a send: it is a second request
// to the host, so it takes a token of the host's bucket and its share of
// the shared quota, waiting as RoundTrip does (within MaxWait and the
// deadline), and is counted as a send. The concurrency slot of the first
// send is still held: the replay uses it. A breaker's half-open probe
// has its timeout held while the replay waits, as RoundTrip holds it. On
// an error req is not to be sent, and its body is closed.
func (l *throttleLayer) admitReplay(a *Attempt, req *http.Request) error {
	ctx := req.Context()
	a.clockMoved() // the token source may have blocked
	now := a.clockWith(l.clk.Now)
	h := l.hosts.getFor(a.hostKey(req.URL), l.clk.Mono(now), req)
	if h == nil {
		closeBody(req)
		AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(0), ThrottleReasonKey.String(ThrottleHosts))
		return &RateLimitError{Host: a.hostKey(req.URL), Reason: ThrottleHosts, MaxWait: l.cfg.MaxWait}
	}
	if a != nil && a.probe != nil {
		// A breaker's half-open probe: its timeout does not run while
		// the replay waits here either (see RoundTrip).
		a.probe.hold()
	}
	var waited time.Duration
	if h.limited.Load() {
		d, err := l.takeToken(ctx, a, h, now, 0, req)
		if err != nil {
			closeBody(req)
			return err
		}
		waited = d
	}
	if l.cfg.Quota != nil {
		if err := l.quota(ctx, a, h, waited, req); err != nil {
			closeBody(req)
			return err
		}
	}
	if !l.cfg.DisableAdaptive {
		h.countSend(l.clk.Mono(a.clockWith(l.clk.Now)))
	}
	if a != nil && a.probe != nil {
		a.probe.sent()
	}
	return nil
}

// takeToken waits for a token of h's bucket, or fails at once when the
// wait would not fit before the deadline or, added to the time already
// waited in the throttle, exceed MaxWait. It returns the time it waited.
func (l *throttleLayer) takeToken(ctx context.Context, a *Attempt, h *throttleHost, now time.Time, waited time.Duration, req *http.Request) (time.Duration, error) {
	if nr := h.nextRecovery.Load(); nr != 0 && l.clk.Mono(now) >= nr {
		l.recover(h, now)
	}
	lim := h.lim.Load()
	if lim == nil || !h.limited.Load() {
		return 0, nil
	}
	// A refused reservation is cancelled before any other is made (see
	// resMu), so that it is given back in full.
	h.resMu.Lock()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		h.resMu.Unlock()
		return 0, &RateLimitError{Host: h.host, Reason: ThrottleRate, Wait: time.Duration(math.MaxInt64), MaxWait: l.cfg.MaxWait}
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		// The limiter's latest event is now this one: a wait queued
		// before it gives its token back as x/time/rate allows.
		clear(h.waits)
		h.waits = h.waits[:0]
		h.resMu.Unlock()
		return 0, nil
	}
	if err := checkDeadline(ctx, now, d, max(l.cfg.MinAttemptTime, 0), SourceThrottle, ErrRateLimited); err != nil {
		r.CancelAt(now)
		h.resMu.Unlock()
		l.hosts.changed() // the token is back: the bucket may be full sooner
		AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(d.Seconds()), ThrottleReasonKey.String(ThrottleRate))
		return 0, err
	}
	if d > l.cfg.MaxWait-waited { // not waited+d: it may overflow
		r.CancelAt(now)
		h.resMu.Unlock()
		l.hosts.changed()
		AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(d.Seconds()), ThrottleReasonKey.String(ThrottleRate))
		return 0, &RateLimitError{Host: h.host, Reason: ThrottleRate, Wait: addWaits(waited, d), MaxWait: l.cfg.MaxWait}
	}
	// A copy of the reservation (its methods only read it): keeping r
	// itself would make every call's reservation escape to the heap, the
	// ones that need no wait too.
	w := &tokenWait{r: *r}
	h.waits = append(h.waits, w)
	h.resMu.Unlock()
	AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(d.Seconds()), ThrottleReasonKey.String(ThrottleRate))
	l.recordWait(ctx, h, ThrottleRate, d, req, false, w)
	err := sleepCtx(ctx, d)
	a.clockMoved()
	if err != nil {
		h.giveBack(w, time.Now())
		l.hosts.changed()
		return d, &throttleWaitEnded{err}
	}
	h.tokenUsed(w)
	return d, nil
}

// tokenWait is a reservation a request sleeps on (throttleHost.waits).
type tokenWait struct {
	r         rate.Reservation
	cancelled bool
}

// giveBack cancels w, the reservation of a request that gave up its wait.
// x/time/rate gives a cancelled reservation back in full only when it is
// the latest made: cancelled while a later one is out, it gives back
// nothing of the time the later ones were reserved after it, and the later
// ones, when cancelled in turn, do not return it either. So requests
// cancelled in the order they queued (the first to wait first to give up)
// left the host owing the tokens none of them used. A reservation with a
// later one still out is marked instead, and cancelled when every later one
// has been: the latest first, as x/time/rate gives them back in full.
func (h *throttleHost) giveBack(w *tokenWait, now time.Time) {
	h.resMu.Lock()
	defer h.resMu.Unlock()
	i := len(h.waits) - 1
	for i >= 0 && h.waits[i] != w {
		i--
	}
	if i < 0 { // no longer queued (see takeToken): as x/time/rate allows
		w.r.CancelAt(now)
		return
	}
	if i < len(h.waits)-1 {
		w.cancelled = true // a later reservation is out: put off
		return
	}
	h.waits[i] = nil
	h.waits = h.waits[:i]
	w.r.CancelAt(now)
	for n := len(h.waits); n > 0 && h.waits[n-1].cancelled; n-- {
		h.waits[n-1].r.CancelAt(now)
		h.waits[n-1] = nil
		h.waits = h.waits[:n-1]
	}
}

// tokenUsed removes w, whose request got its token, from h.waits, with
// the reservations made before it: they are due, none can be given back.
func (h *throttleHost) tokenUsed(w *tokenWait) {
	h.resMu.Lock()
	defer h.resMu.Unlock()
	for i, x := range h.waits {
		if x == w {
			n := copy(h.waits, h.waits[i+1:])
			clear(h.waits[n:])
			h.waits = h.waits[:n]
			return
		}
	}
}

// takeSlot takes one of h's concurrency slots, waiting at most MaxWait
// (and never past the deadline). waited is the time it waited: zero when
// it got one at once, positive when the clock moved.
func (l *throttleLayer) takeSlot(ctx context.Context, a *Attempt, h *throttleHost, req *http.Request) (waited time.Duration, err error) {
	if h.sem.tryAcquire() {
		return 0, nil
	}
	start := time.Now()
	wait := l.cfg.MaxWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, dl.Sub(start)-max(l.cfg.MinAttemptTime, 0))
	}
	err = h.sem.acquire(ctx, wait)
	a.clockMoved()
	d := max(time.Since(start), 1) // positive: the clock moved
	AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(d.Seconds()), ThrottleReasonKey.String(ThrottleConcurrency))
	l.recordWait(ctx, h, ThrottleConcurrency, d, req, err == nil, nil)
	switch {
	case err == nil:
		return d, nil
	case ctx.Err() != nil:
		return d, &throttleWaitEnded{context.Cause(ctx)}
	case wait < l.cfg.MaxWait:
		// Remaining: what is left before the deadline now (the reserve it
		// kept), not what is left of the wait it allowed itself.
		dl, _ := ctx.Deadline()
		return d, &DeadlineError{Wait: d, Remaining: dl.Sub(start.Add(d)), Reason: SourceThrottle, Err: ErrRateLimited}
	}
	return d, &RateLimitError{Host: h.host, Reason: ThrottleConcurrency, Wait: d, MaxWait: l.cfg.MaxWait}
}

// quota is takeQuota for req, not handed on yet: a panic of the quota (a
// bug in a SharedQuota of the caller's) goes on unchanged, but req's body
// is closed first, as RoundTrip must on every path (the slot is given
// back by RoundTrip's own guard).
func (l *throttleLayer) quota(ctx context.Context, a *Attempt, h *throttleHost, waited time.Duration, req *http.Request) error {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	err := l.takeQuota(ctx, a, h, waited)
	returned = true
	return err
}

// takeQuota takes the request's share of the shared quota, waiting as
// the quota asks while the waits, added to the time already waited in
// the throttle (waited), add up to at most MaxWait and each fits before
// the deadline.
func (l *throttleLayer) takeQuota(ctx context.Context, a *Attempt, h *throttleHost, waited time.Duration) error {
	for {
		w0, counted := waitsOf(l.cfg.Quota)
		d, err := l.cfg.Quota.TakeQuota(ctx, h.host)
		if mayHaveWaited(l.cfg.Quota, w0, counted) {
			a.clockMoved() // the quota may have waited for its store
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				// The quota's wait for its store, ended by the context: it
				// may return ctx.Err() or context.Cause(ctx). Either is
				// the caller's cancellation or deadline, not a quota that
				// failed, and ends with the cause, as every other wait
				// does.
				if cause := context.Cause(ctx); errors.Is(err, cerr) || errors.Is(err, cause) {
					return &throttleWaitEnded{cause}
				}
			}
			AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(0), ThrottleReasonKey.String(ThrottleQuota))
			return &quotaError{host: h.host, err: err}
		}
		if d <= 0 {
			return nil
		}
		d = max(d, minQuotaWait)
		if err := checkDeadline(ctx, time.Now(), d, max(l.cfg.MinAttemptTime, 0), SourceThrottle, ErrRateLimited); err != nil {
			AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(d.Seconds()), ThrottleReasonKey.String(ThrottleQuota))
			return err
		}
		if d > l.cfg.MaxWait-waited { // not waited+d: it may overflow
			AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(d.Seconds()), ThrottleReasonKey.String(ThrottleQuota))
			return &RateLimitError{Host: h.host, Reason: ThrottleQuota, Wait: addWaits(waited, d), MaxWait: l.cfg.MaxWait}
		}
		AddEvent(ctx, EventThrottled, ThrottleWaitKey.Float64(d.Seconds()), ThrottleReasonKey.String(ThrottleQuota))
		l.record(ctx, h.host, ThrottleQuota, d)
		err = sleepCtx(ctx, d)
		a.clockMoved()
		if err != nil {
			return &throttleWaitEnded{err}
		}
		waited += d
	}
}

// quotaError is the error of a request the shared quota refused
// (ThrottleConfig.Quota returned an error: its store could not be
// consulted, say). Nothing was sent, and the host did nothing wrong: the
// breaker does not count it, and the retry layer gives a retry it took
// from the budget back (refusedBeforeSending). One whose error matches
// ErrRateLimited is the quota's refusal and never retried; any other is
// never sent (ClassNeverSent).
type quotaError struct {
	host string
	err  error
}

func (e *quotaError) Error() string {
	return "transport: throttle: shared quota for " + e.host + ": " + e.err.Error()
}

func (e *quotaError) Unwrap() error { return e.err }

// throttleWaitEnded is the error of a request whose wait in the throttle
// (for a concurrency slot, a token or the shared quota) the context ended:
// the caller's cancellation or deadline, or the total timeout. Nothing
// was sent; the retry layer gives a retry it took from the budget back
// (refusedBeforeSending).
type throttleWaitEnded struct{ err error }

func (e *throttleWaitEnded) Error() string { return "transport: throttle: " + e.err.Error() }

func (e *throttleWaitEnded) Unwrap() error { return e.err }

// addWaits returns a + b (both non-negative), saturated at the largest
// time.Duration.
func addWaits(a, b time.Duration) time.Duration {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// recordWait records a wait of req's (l.record) on the caller's
// instrument with what the wait took in hand, the host's slot (slot) or
// the token bucket's reservation w: an instrument that panics (a bug in
// the caller's MeterProvider) has them given back and req's body closed,
// as RoundTrip must on every path, and its panic goes on unchanged
// (unguarded, the slot stayed taken for the life of the process). Only a
// wait is recorded: a request let through at once has no guard.
func (l *throttleLayer) recordWait(ctx context.Context, h *throttleHost, reason string, d time.Duration, req *http.Request, slot bool, w *tokenWait) {
	returned := false
	defer func() {
		if !returned {
			if slot {
				h.sem.release()
			}
			if w != nil {
				h.giveBack(w, time.Now())
				l.hosts.changed()
			}
			closeBody(req)
		}
	}()
	l.record(ctx, h.host, reason, d)
	returned = true
}

func (l *throttleLayer) record(ctx context.Context, host, reason string, d time.Duration) {
	if !l.waits.Enabled(ctx) {
		return
	}
	k := hostLabel{host, ThrottleReasonKey, reason}
	opts, ok := l.sets.load(k)
	if !ok {
		opts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(hostKeyAttrs(host, []attribute.KeyValue{ThrottleReasonKey.String(reason)})...))}
		l.sets.store(k, opts)
	}
	l.waits.Record(ctx, d.Seconds(), opts...)
}

// countSend counts one send, at now (ticks), for the rate measurement.
func (h *throttleHost) countSend(now int64) {
	h.winCount.Add(1)
	start := h.winStart.Load()
	if now-start < int64(time.Second) || !h.winStart.CompareAndSwap(start, now) {
		return
	}
	n := h.winCount.Swap(0)
	if start != 0 {
		h.lastRate.Store(math.Float64bits(float64(n) / (float64(now-start) / float64(time.Second))))
	}
}

// minRateWindow is the shortest period a send rate is measured over, so
// that a burst in the first milliseconds is not read as a huge rate.
const minRateWindow = 100 * time.Millisecond

// sendRate estimates the rate h has been sending at, per second: the
// larger of the last full window's rate and the current window's.
func (h *throttleHost) sendRate(now int64) rate.Limit {
	r := math.Float64frombits(h.lastRate.Load())
	if start := h.winStart.Load(); start != 0 {
		elapsed := max(time.Duration(now-start), minRateWindow)
		r = max(r, float64(h.winCount.Load())/elapsed.Seconds())
	}
	return rate.Limit(r)
}

// lower applies one adaptive decrease to h's rate. A request quota the
// server advertises in hdr (RateLimit-Policy) bounds the rate: it starts
// from that quota at most, and recovers to it and no further while the
// server keeps advertising it (see notePolicy).
func (l *throttleLayer) lower(h *throttleHost, now time.Time, hdr http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := l.clk.Mono(now)
	hint := l.notePolicy(h, now, hdr)
	if hint > 0 {
		l.applyPolicy(h, now, hint)
	}
	if t < h.noDecreaseTill {
		return
	}
	h.noDecreaseTill = l.clk.After(now, l.cfg.RecoveryInterval)
	lim := h.lim.Load()
	var cur rate.Limit
	switch {
	case lim != nil && h.limited.Load() && lim.Limit() != rate.Inf:
		cur = lim.Limit()
	default:
		cur = max(h.sendRate(t), l.cfg.MinRate)
	}
	if hint > 0 {
		cur = min(cur, hint)
	}
	if !h.adapting {
		switch {
		case hint > 0:
			h.ceiling = min(h.base, hint) // the server's word, not our guess
			h.policy = true
		case h.policy && t < h.policyUntil:
			// Held at a quota the server still advertises: keep it.
		case h.base != rate.Inf:
			h.ceiling, h.policy = h.base, false
		default:
			h.ceiling, h.policy = cur, false
		}
		h.adapting = true
	}
	// MinRate floors the decrease but never raises a host: one configured
	// (or held at a quota) below it stays at its ceiling.
	next := max(min(l.cfg.MinRate, h.ceiling, cur), cur*rate.Limit(l.cfg.Decrease))
	if lim == nil {
		lim = rate.NewLimiter(next, 1)
		h.lim.Store(lim)
	} else {
		h.setRate(lim, now, next)
		if h.base == rate.Inf {
			lim.SetBurstAt(now, 1)
		}
	}
	h.limited.Store(true)
	h.nextRecovery.Store(l.clk.After(now, l.cfg.RecoveryInterval))
	l.hosts.changed() // the recovery step may be sooner than the one a scan saw
}

// seePolicy applies the RateLimit-Policy of a response that is not a
// throttle signal to h, whose adaptive limit is in force.
func (l *throttleLayer) seePolicy(h *throttleHost, now time.Time, hdr http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.adapting && !h.policy {
		return // lifted meanwhile: a policy alone imposes no limit
	}
	if r := l.notePolicy(h, now, hdr); r > 0 {
		l.applyPolicy(h, now, r)
	}
}

// maxPolicyHold is the longest a RateLimit-Policy's window holds the
// host's ceiling once no response carries the policy: a server's window
// (w, up to a saturated 292 years) counts as at most this, so that a huge
// one cannot pin the host long after the server stopped advertising it.
const maxPolicyHold = time.Hour

// notePolicy records the request quota hdr's RateLimit-Policy field
// advertises and returns it (requests per second, never below MinRate,
// the floor of the adaptive rate; 0: none). The draft
// (draft-ietf-httpapi-ratelimit-headers) lets a server change its policies
// at any time and tells clients not to expect later responses to carry the
// same fields, or any: the latest policy seen wins, and one not seen again
// for the longer of its window (at most maxPolicyHold) and a full recovery
// (RecoveryInterval / RecoveryStep) lapses. The floor keeps a client
// under a tiny quota (q/w of a huge w) sending often enough to see the
// server's next policy. A new field that advertises no request rate (a
// quota in another unit, or over no stated window) ends the hold of the
// policy it replaces; a malformed one is ignored, the policy seen before
// standing. The field is parsed again only when it changes.
// Called with h.mu held.
func (l *throttleLayer) notePolicy(h *throttleHost, now time.Time, hdr http.Header) rate.Limit {
	vs := hdr["Ratelimit-Policy"]
	if len(vs) == 0 {
		return 0
	}
	raw := vs[0]
	if len(vs) > 1 {
		raw = strings.Join(vs, ", ")
	}
	if raw != h.policyRaw {
		if raw == h.policyBad {
			return 0 // malformed, seen before: not parsed again
		}
		r, w, ok := policyRate(hdr)
		if !ok {
			// Malformed: ignored, as the draft asks; the policy seen
			// before stands. Remembered, so that a server sending it
			// on every response (an older draft's syntax) costs no
			// parse on each.
			h.policyBad = raw
			return 0
		}
		h.policyRaw, h.policyRate, h.policyWindow = raw, r, w
		if r == 0 && h.policy {
			// The server replaced the policy it was held at with one
			// that advertises no request rate (a quota in another unit,
			// or over no stated window): the replaced one no longer
			// holds. Held at its ceiling, the host recovers now.
			t := l.clk.Mono(now)
			h.policyUntil = t
			if !h.adapting {
				h.nextRecovery.Store(t)
			}
		}
	}
	if h.policyRate == 0 {
		return 0
	}
	ttl := l.fullRecovery()
	h.policyUntil = l.clk.After(now, max(ttl, min(h.policyWindow, maxPolicyHold)))
	return max(h.policyRate, l.cfg.MinRate)
}

// fullRecovery returns the time a full recovery takes, RecoveryInterval /
// RecoveryStep, saturated at the longest time.Duration: the quotient of a
// long interval and a small step (80 years at 0.25) is beyond 292 years,
// and converting it unchecked gave a negative duration (on amd64), so a
// policy's hold ended with its window instead.
func (l *throttleLayer) fullRecovery() time.Duration {
	f := float64(l.cfg.RecoveryInterval) / l.cfg.RecoveryStep
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(f)
}

// applyPolicy makes r, the quota the server advertises now, h's ceiling
// when an adaptive limit is in force: while recovering, the rate recovers
// to it (and is cut down to it if above); held at an earlier quota, the
// rate follows it up or down. Called with h.mu held.
func (l *throttleLayer) applyPolicy(h *throttleHost, now time.Time, r rate.Limit) {
	if !h.adapting && !h.policy {
		return
	}
	h.ceiling, h.policy = min(h.base, r), true
	lim := h.lim.Load()
	if !h.adapting || lim.Limit() > h.ceiling {
		h.setRate(lim, now, h.ceiling)
	}
}

// policyRate returns the lowest request rate the RateLimit-Policy field of
// h advertises (quota / window, for policies counted in requests) and that
// policy's window, or 0 when it advertises none. An item without w is
// passed over: the draft makes w optional with no default (a quota over no
// stated time), so no rate follows from it. ok is false when the field is
// malformed (or absent).
func policyRate(h http.Header) (r rate.Limit, w time.Duration, ok bool) {
	if len(h["Ratelimit-Policy"]) == 0 {
		return 0, 0, false
	}
	ps, err := ParseRateLimitPolicy(h)
	if err != nil {
		return 0, 0, false
	}
	for _, p := range ps {
		if p.QuotaUnit != "requests" || p.Window <= 0 || p.Quota <= 0 {
			continue
		}
		if pr := rate.Limit(float64(p.Quota) / p.Window.Seconds()); r == 0 || pr < r {
			r, w = pr, p.Window
		}
	}
	return r, w, true
}

// recover gives back a recovery step of h's rate for each interval passed
// since the next step was due (at least one). At the ceiling the adaptive
// limit is lifted, or, when the ceiling is a quota the server still
// advertises, kept there until that lapses.
func (l *throttleLayer) recover(h *throttleHost, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := l.clk.Mono(now)
	nr := h.nextRecovery.Load()
	if nr == 0 || t < nr {
		return
	}
	lim := h.lim.Load()
	if h.adapting {
		// One step per interval passed since the first was due: a host left
		// idle recovers as much as one sent to all along.
		steps := 1 + float64(t-nr)/float64(l.cfg.RecoveryInterval)
		next := lim.Limit() + h.ceiling*rate.Limit(math.Floor(steps)*l.cfg.RecoveryStep)
		if next < h.ceiling {
			h.setRate(lim, now, next)
			h.nextRecovery.Store(l.clk.After(now, l.cfg.RecoveryInterval))
			return
		}
		h.adapting = false
		h.setRate(lim, now, h.ceiling)
	}
	if h.policy && t < h.policyUntil {
		// The server advertises its quota: stay at it while it does.
		h.nextRecovery.Store(h.policyUntil)
		return
	}
	h.policy = false
	h.nextRecovery.Store(0)
	if h.base == rate.Inf {
		h.limited.Store(false)
		lim.SetLimitAt(now, rate.Inf)
		return
	}
	lim.SetLimitAt(now, h.base)
	lim.SetBurstAt(now, h.burst)
}

// setRate sets lim, h's limiter, to r, a rate lowered by a throttle
// signal or held at a quota the server advertises, with a bucket of one
// second of r (at least 1 token), never above the configured Burst: kept
// whole, a configured burst refilled at the lowered rate (Burst 20 at 5/s
// after a 429: in 4 s) would let 20 requests go at once to a host that
// has just said "too many" (AWS's adaptive retry mode sizes its bucket
// to its rate the same way). A host with no configured rate keeps its
// burst of 1. recover gives the configured Burst back when the limit is
// lifted. Called with h.mu held.
func (h *throttleHost) setRate(lim *rate.Limiter, now time.Time, r rate.Limit) {
	lim.SetLimitAt(now, r)
	if h.base == rate.Inf {
		return
	}
	lim.SetBurstAt(now, min(h.burst, max(1, int(math.Ceil(float64(r))))))
}

// hostSem is a counting semaphore: an atomic fast path, a FIFO queue of
// waiters only when full.
type hostSem struct {
	cur     atomic.Int64
	max     int64
	waiting atomic.Int64
	mu      sync.Mutex
	queue   []chan struct{}
	// testFreed, when a test sets it, runs in release after the count
	// went down while a waiter may be queued.
	testFreed func()
	// freed, when set, is called after the count went down: the host may
	// be idle (see throttleLayer.hostWake).
	freed func()
}

func (s *hostSem) tryAcquire() bool {
	for {
		c := s.cur.Load()
		if c >= s.max {
			return false
		}
		if s.cur.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

// acquire waits up to wait for a slot. A slot freed while a waiter is
// queued is handed to the first waiter directly (release keeps the count).
func (s *hostSem) acquire(ctx context.Context, wait time.Duration) error {
	s.mu.Lock()
	s.waiting.Add(1)
	if s.tryAcquire() {
		s.waiting.Add(-1)
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.queue = append(s.queue, ch)
	s.mu.Unlock()

	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	} else {
		closed := make(chan time.Time)
		close(closed)
		timeout = closed
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	case <-timeout:
	}
	s.mu.Lock()
	for i, c := range s.queue {
		if c == ch {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			s.waiting.Add(-1)
			s.mu.Unlock()
			return ErrRateLimited
		}
	}
	s.mu.Unlock()
	// Granted while giving up: the slot is ours; pass it on.
	s.release()
	return ErrRateLimited
}

// release hands the slot to the first queued waiter, the count kept, so
// that a request arriving meanwhile (tryAcquire, without the lock) cannot
// take it ahead of the queue; with no waiter queued it frees the slot.
func (s *hostSem) release() {
	if s.waiting.Load() != 0 {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ch := s.queue[0]
			s.queue = s.queue[1:]
			s.waiting.Add(-1)
			s.mu.Unlock()
			close(ch)
			return
		}
		s.mu.Unlock()
	}
	s.cur.Add(-1)
	if s.freed != nil {
		s.freed()
	}
	// A waiter that registered before the count went down may have found
	// the slots full and be queued by now: hand it a slot.
	if s.waiting.Load() == 0 {
		return
	}
	if s.testFreed != nil {
		s.testFreed()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) > 0 && s.tryAcquire() {
		ch := s.queue[0]
		s.queue = s.queue[1:]
		s.waiting.Add(-1)
		close(ch)
	}
}

// semBody releases its concurrency slot once, at the first of: a Read
// that returns an error (io.EOF included: the body has ended, as net/http
// counts it, and a caller that reads a body to its end but never closes
// it would otherwise keep the slot), Close, or the end of the call's
// context (stop, when set, unregisters the latter).
type semBody struct {
	rc   io.ReadCloser
	sem  *hostSem
	stop func() bool
	once sync.Once
	// closed: Close has closed rc (a second Close does not).
	closed atomic.Bool
}

func (b *semBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		b.end()
	}
	return n, err
}

// Close closes the body under it, the first time only (io.Closer leaves a
// second Close undefined), and gives the slot back.
func (b *semBody) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := b.rc.Close()
	b.end()
	return err
}

// end unregisters the context's end and gives the slot back. Only the
// caller's side (Read, Close) calls it; the context's end calls free
// alone, as it may run before RoundTrip has set stop.
func (b *semBody) end() {
	if b.stop != nil {
		b.stop()
	}
	b.free()
}

// free gives the slot back, the first time only.
func (b *semBody) free() { b.once.Do(b.sem.release) }

// semRWBody is a 101 Switching Protocols body: the connection is the
// caller's, who may still write to it after its read side ended, so only
// Close gives the slot back.
type semRWBody struct {
	*semBody
	w io.Writer
}

func (b *semRWBody) Read(p []byte) (int, error) { return b.rc.Read(p) }

func (b *semRWBody) Write(p []byte) (int, error) { return b.w.Write(p) }
