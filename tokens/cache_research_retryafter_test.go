package tokens

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"
)

// throttledAnswer is the error ClientCredentials returns for a token
// endpoint that answered status with Retry-After: ra.
func throttledAnswer(status int, ra string) error {
	h := http.Header{}
	if ra != "" {
		h.Set("Retry-After", ra)
	}
	return wrapTokenErr(&oauth2.RetrieveError{Response: &http.Response{StatusCode: status, Header: h}})
}

// TestCacheHonoursTokenEndpointRetryAfter: a token endpoint that answers
// 429 or 503 with Retry-After asked for no new token request before then.
// The Cache backed off its own 1 s step instead and asked again after it
// (and after 2 s, 4 s...), hammering an IdP that is shedding load; the
// RetryAt it reported, which the retry layer waits for, was as short. The
// server's wait now counts, capped at the Cache's maximum backoff.
func TestCacheHonoursTokenEndpointRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		ra     string
		want   time.Duration // the least wait before the next request
	}{
		{"429 seconds", 429, "20", 20 * time.Second},
		{"503 seconds", 503, "7", 7 * time.Second},
		{"above the max backoff", 429, "3600", DefaultMaxBackoff * 3 / 4}, // capped (jitter may take a quarter off)
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := &fakeSource{ttl: time.Hour}
				src.hook = func(_ context.Context, n int) error {
					if n == 1 {
						return throttledAnswer(tc.status, tc.ra)
					}
					return nil
				}
				c := mustCache(t, src)
				start := time.Now()
				_, err := c.Token(t.Context())
				var re *RefreshError
				if !errors.As(err, &re) {
					t.Fatalf("err %v, want a *RefreshError", err)
				}
				if got := re.RetryAt.Sub(start); got < tc.want {
					t.Errorf("RetryAt %v after the answer, want at least %v (Retry-After %s)", got, tc.want, tc.ra)
				}
				if tc.ra == "3600" && re.RetryAt.Sub(start) > DefaultMaxBackoff {
					t.Errorf("RetryAt %v after the answer, want at most the max backoff %v", re.RetryAt.Sub(start), DefaultMaxBackoff)
				}
				// Asking before then makes no token request.
				time.Sleep(tc.want - time.Millisecond)
				if _, err := c.Token(t.Context()); !errors.Is(err, ErrBackoff) {
					t.Errorf("before Retry-After: err %v, want ErrBackoff", err)
				}
				if n := src.calls.Load(); n != 1 {
					t.Errorf("%d token requests before Retry-After, want 1", n)
				}
			})
		})
	}
}
