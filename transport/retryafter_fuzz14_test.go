package transport_test

import (
	"math"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// refServerWait is ServerWait without its cheap pre-filter: the RateLimit
// field is always parsed. ServerWait must agree with it on every input; a
// value the pre-filter passes over that holds r=0 would lose the server's
// wait (and the throttle's "quota used up" signal).
func refServerWait(h http.Header, now time.Time) (time.Duration, transport.WaitSource, bool, bool) {
	var (
		wait          time.Duration
		source        transport.WaitSource
		exhausted, ok bool
	)
	if rls, err := transport.ParseRateLimit(h); err == nil {
		for _, rl := range rls {
			if rl.Remaining != 0 {
				continue
			}
			exhausted = true
			if rl.HasReset && (!ok || rl.Reset > wait) {
				wait, source, ok = rl.Reset, transport.SourceRateLimit, true
			}
		}
	}
	if vs := h["Retry-After"]; len(vs) > 0 {
		if d, valid := transport.ParseRetryAfter(vs[0], now); valid {
			return d, transport.SourceRetryAfter, exhausted, true
		}
	}
	return wait, source, exhausted, ok
}

// FuzzServerWait checks the throttle-signal parsers on any field values:
// no panic; ServerWait agrees with refServerWait (its allocation-free
// pre-filter never hides an r=0); a wait is never negative; ParseRetryAfter
// reads delta-seconds as the number of seconds (clamped, never wrapped);
// RateLimit and RateLimit-Policy give non-negative integers or an error.
func FuzzServerWait(f *testing.F) {
	f.Add("7", `"a";r=0;t=12`, "", `"p";q=100;w=60`)
	f.Add("", `"a";r=-0;t=3`, `"b";r=00;t=9`, "")
	f.Add("Wed, 04 Mar 2026 10:00:30 GMT", `"a";r=05`, `r=0;;`, `"p";q=1;qu=content-bytes;pk=:AQ==:`)
	f.Add("99999999999999999999", `a;r=0, b;r=10;t=30`, `"c";x="r=0";r=1`, `q=0`)
	f.Add("later", `"a";pr=0;r=1`, `"a";r=1;r=0`, `"p";q=-1`)
	f.Fuzz(func(t *testing.T, retryAfter, rl1, rl2, policy string) {
		h := http.Header{}
		if retryAfter != "" {
			h["Retry-After"] = []string{retryAfter}
		}
		for _, v := range []string{rl1, rl2} {
			if v != "" {
				h["Ratelimit"] = append(h["Ratelimit"], v)
			}
		}
		if policy != "" {
			h["Ratelimit-Policy"] = []string{policy}
		}

		w, src, ex, ok := transport.ServerWait(&http.Response{StatusCode: 429, Header: h}, raNow)
		rw, rsrc, rex, rok := refServerWait(h, raNow)
		if w != rw || src != rsrc || ex != rex || ok != rok {
			t.Fatalf("header %q: ServerWait = %v, %q, %v, %v; parsing every RateLimit value gives %v, %q, %v, %v",
				h, w, src, ex, ok, rw, rsrc, rex, rok)
		}
		if w < 0 || (!ok && (w != 0 || src != "")) {
			t.Fatalf("header %q: ServerWait = %v, %q, ok %v", h, w, src, ok)
		}

		if d, valid := transport.ParseRetryAfter(retryAfter, raNow); valid {
			if d < 0 {
				t.Fatalf("ParseRetryAfter(%q) = %v", retryAfter, d)
			}
			if s := strings.TrimSpace(retryAfter); s != "" && strings.Trim(s, "0123456789") == "" {
				n, _ := new(big.Int).SetString(s, 10)
				want := time.Duration(math.MaxInt64)
				if n.Cmp(big.NewInt(math.MaxInt64/int64(time.Second))) <= 0 {
					want = time.Duration(n.Int64()) * time.Second
				}
				if d != want {
					t.Fatalf("ParseRetryAfter(%q) = %v, want %v", retryAfter, d, want)
				}
			}
		} else if d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, not valid", retryAfter, d)
		}

		if rls, err := transport.ParseRateLimit(h); err == nil {
			for _, rl := range rls {
				if rl.Remaining < 0 || rl.Reset < 0 || (!rl.HasReset && rl.Reset != 0) {
					t.Fatalf("ParseRateLimit(%q): %+v", h["Ratelimit"], rl)
				}
			}
		} else if len(h["Ratelimit"]) == 0 { // no field: nil, no error
			t.Fatalf("ParseRateLimit(%q): %v", h["Ratelimit"], err)
		}
		if ps, err := transport.ParseRateLimitPolicy(h); err == nil {
			for _, p := range ps {
				if p.Quota < 0 || p.Window < 0 {
					t.Fatalf("ParseRateLimitPolicy(%q): %+v", policy, p)
				}
			}
		} else if policy == "" {
			t.Fatalf("ParseRateLimitPolicy(%q): %v", policy, err)
		}
	})
}
