package transport_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A Retry-After given as an HTTP-date was read against the local clock:
// a client whose clock is 5 minutes fast took a date 2 minutes ahead of
// the server's for one in the past and retried at once, into the outage;
// one whose clock is 5 minutes slow waited 7 minutes instead of 2 (or gave
// up, the wait over MaxRetryAfter). With a valid Date field the wait is
// Retry-After minus Date, the interval the server meant (RFC 9110 §10.2.3,
// §6.6.1: both are of the server's clock), less a valid Age (RFC 9111
// §5.1: a cached response's time since the server made it); without a
// Date, or with one that does not parse, the local clock is used, as
// before.

const raSkew = 5 * time.Minute

// TestServerWaitRetryAfterDateUsesDateField: ServerWait, for clocks on
// both sides of the server's.
func TestServerWaitRetryAfterDateUsesDateField(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) // the client's clock
	for _, tc := range []struct {
		name string
		skew time.Duration // the server's clock minus the client's
		date string        // "" for the server's now, "-" for no Date field
		want time.Duration
	}{
		{"client slow", raSkew, "", 2 * time.Minute},
		{"client fast", -raSkew, "", 2 * time.Minute},
		{"in sync", 0, "", 2 * time.Minute},
		{"no Date: local clock", raSkew, "-", 2*time.Minute + raSkew},
		{"malformed Date: local clock", raSkew, "yesterday", 2*time.Minute + raSkew},
		{"Retry-After before Date", -raSkew, "after", 0},
		{"served by a cache 90s after it was made", raSkew, "age=90", 30 * time.Second},
		{"served by a cache after the wait", raSkew, "age=600", 0},
		{"malformed Age: ignored", raSkew, "age=-5", 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := now.Add(tc.skew)
			h := http.Header{"Retry-After": {server.Add(2 * time.Minute).Format(http.TimeFormat)}}
			switch tc.date {
			case "":
				h.Set("Date", server.Format(http.TimeFormat))
			case "after":
				h.Set("Date", server.Add(3*time.Minute).Format(http.TimeFormat))
			case "-":
			case "age=90", "age=600", "age=-5":
				h.Set("Date", server.Format(http.TimeFormat))
				h.Set("Age", tc.date[len("age="):])
			default:
				h.Set("Date", tc.date)
			}
			w, src, _, ok := transport.ServerWait(&http.Response{StatusCode: 503, Header: h}, now)
			if !ok || src != transport.SourceRetryAfter || w != tc.want {
				t.Fatalf("ServerWait = %v, %q, %v; want %v from Retry-After", w, src, ok, tc.want)
			}
		})
	}
	// delta-seconds are an interval already: the Date field plays no part.
	h := http.Header{"Retry-After": {"120"}, "Date": {now.Add(raSkew).Format(http.TimeFormat)}}
	if w, _, _, _ := transport.ServerWait(&http.Response{StatusCode: 503, Header: h}, now); w != 2*time.Minute {
		t.Fatalf("Retry-After: 120 with a skewed Date: wait %v, want 2m", w)
	}
}

// TestRetryAfterDateSkewedClock: the retry layer waits the interval the
// server meant, whichever way the client's clock is off.
func TestRetryAfterDateSkewedClock(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration
	}{
		{"client slow", raSkew},
		{"client fast", -raSkew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := &resTimed{next: transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					server := time.Now().Add(tc.skew)
					h := http.Header{
						"Date":        {server.Format(http.TimeFormat)},
						"Retry-After": {server.Add(2 * time.Minute).Format(http.TimeFormat)},
					}
					return &http.Response{StatusCode: 503, Header: h, Body: http.NoBody, Request: req}, nil
				})}
				rt := newRetry(t, next, transport.RetryConfig{
					MaxAttempts: 2, Backoff: resFixedBackoff(time.Second),
					MaxRetryAfter: time.Hour, ServerWaitJitter: -1,
				})
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				at := next.arrivals()
				if len(at) != 2 {
					t.Fatalf("%d attempts, want 2", len(at))
				}
				if got := at[1].Sub(at[0]); got != 2*time.Minute {
					t.Fatalf("retried after %v (virtual time), want the 2m the server asked for", got)
				}
			})
		})
	}
}
