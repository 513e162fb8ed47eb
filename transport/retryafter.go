package transport

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/httpdate"
)

// Server-side throttle signals: Retry-After (RFC 9110 §10.2.3) and the IETF
// RateLimit and RateLimit-Policy fields
// (draft-ietf-httpapi-ratelimit-headers-09 and later: Lists of Items whose
// value is a policy name, with parameters r, t, pk and q, qu, w, pk).
//
// The resilience layers read them through ServerWait, which combines them
// into one wait, the way the draft asks: Retry-After takes precedence, and
// RateLimit with r=0 says how long the quota stays exhausted.

// maxDelaySeconds bounds a parsed delay so that seconds x time.Second
// cannot overflow a time.Duration (about 292 years).
const maxDelaySeconds = math.MaxInt64 / int64(time.Second)

// ParseRetryAfter parses a Retry-After field value: delta-seconds (a
// non-negative integer) or an HTTP-date in any of the three formats RFC
// 9110 requires recipients to accept (IMF-fixdate, RFC 850, asctime; see
// http.ParseTime). A date is turned into the delay from now; a date in the
// past gives 0. ServerWait passes the response's Date field as now when it
// has a valid one, so that the local clock's skew plays no part. ok is
// false for an empty or malformed value. A delay too large for a
// time.Duration is clamped to the largest one.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if ascii.AllDigits(v) { // v is not empty
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > maxDelaySeconds { // too many digits: a very long wait
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// RateLimit is one service-limit item of a RateLimit field: the quota
// still available under the named policy and the time within which it
// applies.
type RateLimit struct {
	// Policy is the item's policy name (an sf-string; a token is accepted
	// too).
	Policy string
	// Remaining is the r parameter: the available quota, in quota units.
	Remaining int64
	// Reset is the t parameter: the effective window, in which the client
	// can use no more than Remaining. HasReset says whether t was present.
	Reset    time.Duration
	HasReset bool
	// PartitionKey is the pk parameter, nil when absent.
	PartitionKey []byte
}

// RateLimitPolicy is one quota-policy item of a RateLimit-Policy field.
type RateLimitPolicy struct {
	// Name is the item's policy name.
	Name string
	// Quota is the q parameter, in QuotaUnit units.
	Quota int64
	// QuotaUnit is the qu parameter: "requests" (the default when absent),
	// "content-bytes" or "concurrent-requests". The draft makes it a
	// String; a Token is read the same (qu=content-bytes is
	// "content-bytes"), and a value of any other type is "", an unknown
	// unit (the throttle reads only "requests" quotas).
	QuotaUnit string
	// Window is the w parameter (zero when absent: the draft makes it
	// optional, with no default window; the throttle takes no rate from
	// such an item).
	Window time.Duration
	// PartitionKey is the pk parameter, nil when absent.
	PartitionKey []byte
}

// errRateLimitSyntax reports a RateLimit or RateLimit-Policy member that
// is not an Item with the required integer parameter.
var errRateLimitSyntax = errors.New("transport: malformed RateLimit field")

// ParseRateLimit parses the RateLimit fields of h (all field lines, as one
// List). It returns nil and no error when there is none. A member that is
// not an Item, or lacks a non-negative integer r, is an error; unknown
// parameters are ignored, as the draft says.
func ParseRateLimit(h http.Header) ([]RateLimit, error) {
	vs := h.Values("Ratelimit")
	if len(vs) == 0 {
		return nil, nil
	}
	list, err := httpsfv.UnmarshalList(vs)
	if err != nil {
		return nil, errors.Join(errRateLimitSyntax, err)
	}
	out := make([]RateLimit, 0, len(list))
	for _, m := range list {
		it, ok := m.(httpsfv.Item)
		if !ok {
			return nil, errRateLimitSyntax
		}
		rl := RateLimit{Policy: itemName(it)}
		r, ok := intParam(it.Params, "r")
		if !ok {
			return nil, errRateLimitSyntax
		}
		rl.Remaining = r
		if t, ok := intParam(it.Params, "t"); ok {
			rl.Reset, rl.HasReset = secondsDuration(t), true
		}
		rl.PartitionKey = bytesParam(it.Params, "pk")
		out = append(out, rl)
	}
	return out, nil
}

// ParseRateLimitPolicy parses the RateLimit-Policy fields of h. It returns
// nil and no error when there is none. A member that is not an Item, or
// lacks a non-negative integer q, is an error.
func ParseRateLimitPolicy(h http.Header) ([]RateLimitPolicy, error) {
	vs := h.Values("Ratelimit-Policy")
	if len(vs) == 0 {
		return nil, nil
	}
	list, err := httpsfv.UnmarshalList(vs)
	if err != nil {
		return nil, errors.Join(errRateLimitSyntax, err)
	}
	out := make([]RateLimitPolicy, 0, len(list))
	for _, m := range list {
		it, ok := m.(httpsfv.Item)
		if !ok {
			return nil, errRateLimitSyntax
		}
		p := RateLimitPolicy{Name: itemName(it), QuotaUnit: "requests"}
		q, ok := intParam(it.Params, "q")
		if !ok {
			return nil, errRateLimitSyntax
		}
		p.Quota = q
		if qu, ok := it.Params.Get("qu"); ok {
			// The draft makes qu a String; a Token spelling a unit is read
			// as that unit, as the policy name accepts one. Any other type
			// is an unknown unit, never taken for a request quota.
			p.QuotaUnit = itemName(httpsfv.Item{Value: qu})
		}
		if w, ok := intParam(it.Params, "w"); ok {
			p.Window = secondsDuration(w)
		}
		p.PartitionKey = bytesParam(it.Params, "pk")
		out = append(out, p)
	}
	return out, nil
}

func itemName(it httpsfv.Item) string {
	switch v := it.Value.(type) {
	case string:
		return v
	case httpsfv.Token:
		return string(v)
	}
	return ""
}

func intParam(p *httpsfv.Params, name string) (int64, bool) {
	if p == nil {
		return 0, false
	}
	v, ok := p.Get(name)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok || n < 0 {
		return 0, false
	}
	return n, true
}

func bytesParam(p *httpsfv.Params, name string) []byte {
	if p == nil {
		return nil
	}
	v, ok := p.Get(name)
	if !ok {
		return nil
	}
	b, _ := v.([]byte)
	return b
}

func secondsDuration(n int64) time.Duration {
	if n > maxDelaySeconds {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(n) * time.Second
}

// WaitSource says where a wait came from. It is the value of the
// securecall.retry.source and securecall.throttle.reason attributes.
type WaitSource string

// Sources of a wait.
const (
	// SourceBackoff: the retry layer's own backoff schedule.
	SourceBackoff WaitSource = "backoff"
	// SourceRetryAfter: the server's Retry-After field.
	SourceRetryAfter WaitSource = "retry-after"
	// SourceRateLimit: a RateLimit field with r=0 and its t parameter.
	SourceRateLimit WaitSource = "ratelimit"
	// SourceCooldown: a per-host cooldown another call set from one of the
	// two above.
	SourceCooldown WaitSource = "cooldown"
	// SourceThrottle: the client-side throttle (token bucket or
	// concurrency cap).
	SourceThrottle WaitSource = "throttle"
	// SourceTokenRefresh: the token cache backing off after a failed
	// refresh (tokens.RefreshError.RetryAt): no new token before then.
	SourceTokenRefresh WaitSource = "token-refresh"
	// SourceDeadline: an attempt that would start with too little time
	// left before the deadline.
	SourceDeadline WaitSource = "deadline"
)

// ServerWait returns how long the server asked the client to wait before
// sending again, read from resp's header as of now:
//
//   - Retry-After, when present and valid, on any response (it takes
//     precedence, as the RateLimit draft asks); source SourceRetryAfter.
//     An HTTP-date is read against the response's Date field when that is
//     a valid HTTP-date (the delay is Retry-After minus Date, both of the
//     server's clock, whatever the skew of the local one; minus a valid
//     Age too, for a response a cache served), against now otherwise;
//   - otherwise the largest t of the RateLimit items whose r is 0; source
//     SourceRateLimit.
//
// exhausted reports a RateLimit item with r=0 (with or without t): the
// quota is used up, a signal for the throttle even when no wait is known.
// ok is false when the response carries neither signal. A malformed
// RateLimit field is ignored.
//
// The common case costs no allocation: the RateLimit field is parsed only
// when one of its values may hold r=0.
func ServerWait(resp *http.Response, now time.Time) (wait time.Duration, source WaitSource, exhausted, ok bool) {
	if resp == nil {
		return 0, "", false, false
	}
	h := resp.Header
	if vs := h["Ratelimit"]; len(vs) > 0 && mayHaveZeroRemaining(vs) {
		if rls, err := ParseRateLimit(h); err == nil {
			for _, rl := range rls {
				if rl.Remaining != 0 {
					continue
				}
				exhausted = true
				if rl.HasReset && (!ok || rl.Reset > wait) {
					wait, source, ok = rl.Reset, SourceRateLimit, true
				}
			}
		}
	}
	if vs := h["Retry-After"]; len(vs) > 0 {
		if d, valid := ParseRetryAfter(vs[0], retryAfterBase(h, vs[0], now)); valid {
			return d, SourceRetryAfter, exhausted, true
		}
	}
	return wait, source, exhausted, ok
}

// retryAfterBase returns the time a Retry-After value v of header h is
// read against: for an HTTP-date, the response's own clock (its Date,
// moved on by a valid Age: httpdate.ServerNow); for delta-seconds, now.
func retryAfterBase(h http.Header, v string, now time.Time) time.Time {
	if ascii.AllDigits(strings.TrimSpace(v)) {
		return now
	}
	return httpdate.ServerNow(h, now)
}

// mayHaveZeroRemaining is a cheap pre-filter: whether some value may carry
// an r parameter equal to 0 ("r=0" or "r=-0", the Integer 0 too, any
// further zeros, then no digit). A false positive only costs a full parse.
func mayHaveZeroRemaining(vs []string) bool {
	for _, v := range vs {
		for i := 0; ; {
			j := strings.Index(v[i:], "r=")
			if j < 0 {
				break
			}
			end := i + j + 2
			if end < len(v) && v[end] == '-' {
				end++
			}
			if end == len(v) || v[end] != '0' {
				i = end
				continue
			}
			for end < len(v) && v[end] == '0' { // r=00 is 0 too
				end++
			}
			if end == len(v) || v[end] < '0' || v[end] > '9' {
				return true
			}
			i = end
		}
	}
	return false
}
