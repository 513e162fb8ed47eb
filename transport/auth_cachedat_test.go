package transport_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// atSource is a token source with both of tokens.Cache's fast paths; it
// records which one the auth layer used and the reading it was given.
type atSource struct {
	tok      tokens.Token
	plain    atomic.Int32
	at       atomic.Int32
	readings []time.Time
}

func (s *atSource) Token(context.Context) (tokens.Token, error) { return s.tok, nil }
func (s *atSource) CachedToken(context.Context) (tokens.Token, bool) {
	s.plain.Add(1)
	return s.tok, true
}
func (s *atSource) CachedTokenAt(_ context.Context, t time.Time) (tokens.Token, bool) {
	s.at.Add(1)
	s.readings = append(s.readings, t)
	return s.tok, true
}

// Under the retry layer's shared clock the auth layer hands the attempt's
// reading to a cache that takes one (tokens.Cache.CachedTokenAt), so the
// cached token costs no clock read of its own; the sign layer then signs
// with the same reading. Without a shared clock it asks CachedToken.
func TestAuthPassesTheAttemptsClockToTheCache(t *testing.T) {
	for _, shared := range []bool{true, false} {
		src := &atSource{tok: tokens.NewToken("t1", "Bearer", time.Now().Add(time.Hour))}
		var sentAt time.Time
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		wire := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sentAt = time.Now()
			return next.RoundTrip(r)
		})
		rt := newRetry(t, newAuth(t, wire, src), transport.RetryConfig{MaxAttempts: 1, SharedClock: shared})
		before := time.Now()
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resReadAll(t, resp)
		if shared {
			if src.at.Load() != 1 || src.plain.Load() != 0 {
				t.Fatalf("shared clock: CachedTokenAt %d, CachedToken %d calls; want 1, 0", src.at.Load(), src.plain.Load())
			}
			if r := src.readings[0]; r.Before(before) || r.After(sentAt) || r == r.Round(0) {
				t.Errorf("reading %v not a monotonic time.Now of the attempt (call began %v, sent %v)", r, before, sentAt)
			}
		} else if src.at.Load() != 0 || src.plain.Load() != 1 {
			t.Fatalf("no shared clock: CachedTokenAt %d, CachedToken %d calls; want 0, 1", src.at.Load(), src.plain.Load())
		}
		if got := next.Requests()[0].Header.Get("Authorization"); got != "Bearer t1" {
			t.Errorf("Authorization %q", got)
		}
	}
}
