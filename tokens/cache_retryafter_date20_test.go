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

// TestCacheRetryAfterDateReadOnServerClock: a token endpoint shedding load
// answered 503 with Retry-After as an HTTP-date 2 minutes after its Date
// field. The Cache read the date against its own clock: 5 minutes fast,
// it asked again at once (the date already past: the IdP hammered while
// it asked for a pause); 5 minutes slow, it waited 7 minutes (capped only
// by its maximum backoff). The date is now read against the response's
// Date (moved on by Age for a cached answer), as the retry layer does;
// without a valid Date the local clock is used, as before.
func TestCacheRetryAfterDateReadOnServerClock(t *testing.T) {
	for _, tc := range []struct {
		name      string
		skew      time.Duration // the client's clock minus the server's
		date, age string        // "": none; "server" the server's time
		least     time.Duration // the least wait before the next request
		most      time.Duration
	}{
		{"client 5 min fast", 5 * time.Minute, "server", "", 2 * time.Minute, 2*time.Minute + time.Second},
		{"client 5 min slow", -5 * time.Minute, "server", "", 2 * time.Minute, 2*time.Minute + time.Second},
		{"cached 30 s ago", -5 * time.Minute, "server", "30", 90 * time.Second, 91 * time.Second},
		{"no Date: local clock", -5 * time.Minute, "", "", 7 * time.Minute, 7*time.Minute + time.Second},
		{"bad Date: local clock", -5 * time.Minute, "yesterday", "", 7 * time.Minute, 7*time.Minute + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server := time.Now().Add(-tc.skew).Truncate(time.Second)
				h := http.Header{}
				h.Set("Retry-After", server.Add(2*time.Minute).UTC().Format(http.TimeFormat))
				switch tc.date {
				case "server":
					h.Set("Date", server.UTC().Format(http.TimeFormat))
				case "":
				default:
					h.Set("Date", tc.date)
				}
				if tc.age != "" {
					h.Set("Age", tc.age)
				}
				src := &fakeSource{ttl: time.Hour}
				src.hook = func(_ context.Context, n int) error {
					if n == 1 {
						return wrapTokenErr(&oauth2.RetrieveError{Response: &http.Response{StatusCode: 503, Header: h}})
					}
					return nil
				}
				c := mustCache(t, src, WithBackoff(time.Second, time.Hour), WithJitter(0))
				start := time.Now()
				_, err := c.Token(t.Context())
				var re *RefreshError
				if !errors.As(err, &re) {
					t.Fatalf("err %v, want a *RefreshError", err)
				}
				if got := re.RetryAt.Sub(start); got < tc.least || got > tc.most {
					t.Errorf("RetryAt %v after the answer, want %v to %v", got, tc.least, tc.most)
				}
			})
		})
	}
}
