package transport_test

// The attempt's shared clock reading must be renewed after anything that
// may block (a token fetch, a shared store's read), and the attempt's own
// copy of a request must not share the caller's path values. Each test
// failed on 87c77ce, which introduced the per-attempt copy and clock, and
// passes since the fixes (a second reader found them).

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// beginAttempt's own copy of the request shares the caller's
// path values (Request.otherValues, set by SetPathValue) when the request
// has no Pattern: an inner layer that sets a path value on the request it
// owns changes the caller's request. Request.Clone copies them.
func TestAttemptCloneCopiesPathValues(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stack func(next http.RoundTripper) http.RoundTripper
	}{
		{"retry", func(next http.RoundTripper) http.RoundTripper {
			return newRetry(t, next, transport.RetryConfig{MaxAttempts: 1})
		}},
		{"attempt-scope", transport.NewAttemptScope},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, resURL, nil)
			req.SetPathValue("id", "7") // e.g. filled in from a URL template
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			inner := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				a := transport.Own(r) // the attempt's own request: may be modified
				a.SetPathValue("id", "8")
				return next.RoundTrip(a)
			})
			resp, err := tc.stack(inner).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resReadAll(t, resp)
			if got := req.PathValue("id"); got != "7" {
				t.Errorf("the caller's path value id is now %q, want 7: the attempt's copy shares it", got)
			}
		})
	}
}

// the credential layers' token fetch is a wait that does not renew
// the attempt's clock reading, so the sign layer (nil Clock) signs with the
// time the call began: a token endpoint taking 3 s makes created 3 s old
// when the request leaves, and a signature with expires = created + 2 s is
// already expired on arrival (before 87c77ce the sign layer read the clock
// itself).
func TestSignCreatedAfterSlowTokenFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int32
		src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
			fetches.Add(1)
			time.Sleep(3 * time.Second) // a slow token endpoint
			return tokens.NewToken("t1", "Bearer", time.Now().Add(time.Hour)), nil
		})
		s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Expires: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(signKey(t)), ClockSkew: time.Millisecond, Scheme: "https"})
		if err != nil {
			t.Fatal(err)
		}
		var verr error
		var sentAt time.Time
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		wire := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sentAt = time.Now()
			_, verr = v.Verify(r, sentAt)
			return next.RoundTrip(r)
		})
		sign, err := transport.NewSign(wire, transport.SignConfig{Signer: s, Scope: mustOrigins(t, "https://api.example.test")})
		if err != nil {
			t.Fatal(err)
		}
		rt := newRetry(t, newAuth(t, sign, src), transport.RetryConfig{MaxAttempts: 1, SharedClock: true})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		resReadAll(t, resp)
		if fetches.Load() != 1 {
			t.Fatalf("%d token fetches", fetches.Load())
		}
		created := signatureInput(t, next.Requests()[0].Header).Created
		if created.Unix() != sentAt.Unix() {
			t.Errorf("created %v, but signed and sent at %v", created.UTC(), sentAt.UTC())
		}
		if verr != nil {
			t.Errorf("the server rejects the fresh signature: %v", verr)
		}
	})
}

// apSlowCooldowns is a CooldownStore whose reads take a while (the fleet
// store reads Redis on a host's first use, up to its Timeout).
type apSlowCooldowns struct{ delay time.Duration }

func (s apSlowCooldowns) CooldownUntil(string) time.Time { time.Sleep(s.delay); return time.Time{} }
func (apSlowCooldowns) SetCooldown(string, time.Time)    {}

// apSlowQuota answers "go" after a round trip to the shared store (the
// fleet quota's slow path leases from Redis synchronously).
type apSlowQuota struct{ delay time.Duration }

func (q apSlowQuota) TakeQuota(context.Context, string) (time.Duration, error) {
	time.Sleep(q.delay)
	return 0, nil
}

// apSlowBreakerStore is a BreakerStore whose reads take a while.
type apSlowBreakerStore struct{ delay time.Duration }

func (s apSlowBreakerStore) OpenUntil(string) time.Time   { time.Sleep(s.delay); return time.Time{} }
func (apSlowBreakerStore) SetOpenUntil(string, time.Time) {}

// apWaits is a transport.WaitCounter: honest counts every slow call, a
// dishonest one (honest false) never moves.
type apWaits struct {
	n      *atomic.Uint64
	honest bool
}

func (w apWaits) Waits() uint64 { return w.n.Load() }

func (w apWaits) waited() {
	if w.honest {
		w.n.Add(1)
	}
}

type apCountingCooldowns struct {
	apSlowCooldowns
	apWaits
}

func (s apCountingCooldowns) CooldownUntil(h string) time.Time {
	s.waited()
	return s.apSlowCooldowns.CooldownUntil(h)
}

type apCountingQuota struct {
	apSlowQuota
	apWaits
}

func (q apCountingQuota) TakeQuota(ctx context.Context, h string) (time.Duration, error) {
	q.waited()
	return q.apSlowQuota.TakeQuota(ctx, h)
}

type apCountingBreakerStore struct {
	apSlowBreakerStore
	apWaits
}

func (s apCountingBreakerStore) OpenUntil(h string) time.Time {
	s.waited()
	return s.apSlowBreakerStore.OpenUntil(h)
}

// a shared store's read that blocks (a cooldown store read, a
// shared quota answering "go" after its round trip, a breaker store read)
// is not a wait that renews the attempt's clock reading, so the attempt
// timeout below starts counting before it: a 300 ms read under a 200 ms
// attempt timeout fails an attempt the transport would answer at once with
// an *AttemptTimeoutError (before 87c77ce the attempt timeout read the
// clock itself).
func TestAttemptClockAfterSlowSharedStore(t *testing.T) {
	const attempt, delay = 200 * time.Millisecond, 300 * time.Millisecond
	// A store that counts its waits (transport.WaitCounter) is trusted:
	// honest, the layer reads the clock again after the slow call; one that
	// waits without counting it leaves the attempt's reading as it was (the
	// count did not move), and the attempt times out: proof that the count,
	// not a clock read, decides.
	stores := func(w apWaits) []struct {
		name  string
		retry transport.RetryConfig
		mid   func(t testing.TB) func(http.RoundTripper) http.RoundTripper
	} {
		var cool transport.CooldownStore = apSlowCooldowns{delay}
		var quota transport.SharedQuota = apSlowQuota{delay}
		var brk transport.BreakerStore = apSlowBreakerStore{delay}
		if w.n != nil {
			cool = apCountingCooldowns{apSlowCooldowns{delay}, w}
			quota = apCountingQuota{apSlowQuota{delay}, w}
			brk = apCountingBreakerStore{apSlowBreakerStore{delay}, w}
		}
		return []struct {
			name  string
			retry transport.RetryConfig
			mid   func(t testing.TB) func(http.RoundTripper) http.RoundTripper
		}{
			{"cooldown-store", transport.RetryConfig{Cooldowns: cool, SharedClock: true}, nil},
			{"shared-quota", transport.RetryConfig{SharedClock: true}, func(t testing.TB) func(http.RoundTripper) http.RoundTripper {
				return func(n http.RoundTripper) http.RoundTripper {
					return newThrottle(t, n, transport.ThrottleConfig{Quota: quota, DisableAdaptive: true})
				}
			}},
			{"breaker-store", transport.RetryConfig{SharedClock: true}, func(t testing.TB) func(http.RoundTripper) http.RoundTripper {
				return func(n http.RoundTripper) http.RoundTripper {
					return newBreaker(t, n, transport.BreakerConfig{Store: brk})
				}
			}},
		}
	}
	for _, kind := range []struct {
		name     string
		waits    apWaits
		timesOut bool
	}{
		{"uncounted", apWaits{}, false},
		{"counted", apWaits{n: new(atomic.Uint64), honest: true}, false},
		{"count-not-moved", apWaits{n: new(atomic.Uint64)}, true},
	} {
		for _, tc := range stores(kind.waits) {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
					var mid func(http.RoundTripper) http.RoundTripper
					if tc.mid != nil {
						mid = tc.mid(t)
					}
					rt := apStack(t, 0, attempt, tc.retry, mid, next)
					resp, err := resGet(t, t.Context(), rt)
					if kind.timesOut {
						var ate *transport.AttemptTimeoutError
						if !errors.As(err, &ate) {
							t.Fatalf("err = %v; want the attempt timeout (the layer kept its reading, as the count said)", err)
						}
						return
					}
					if err != nil {
						t.Fatalf("%v (the attempt timeout counted the store's %v read)", err, delay)
					}
					resReadAll(t, resp)
				})
			})
		}
	}
}
