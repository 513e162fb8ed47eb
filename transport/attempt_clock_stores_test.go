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

// apSlowCooldowns is a CooldownStore whose calls take a while (the fleet
// store reads Redis on a host's first use and writes a new cooldown while
// the caller waits, each up to its Timeout): reads take readDelay and
// answer until, writes take writeDelay and are recorded. waits counts the
// slow calls; apCountingCooldowns reports the count (a WaitCounter).
type apSlowCooldowns struct {
	readDelay, writeDelay time.Duration
	until                 time.Time // what reads answer
	waits                 apWaits
	writes                atomic.Int32
	set                   atomic.Int64 // the last cooldown end written, unix nanoseconds
}

func (s *apSlowCooldowns) CooldownUntil(string) time.Time {
	if s.readDelay > 0 {
		s.waits.waited()
		time.Sleep(s.readDelay)
	}
	return s.until
}

func (s *apSlowCooldowns) SetCooldown(_ string, until time.Time) {
	s.writes.Add(1)
	s.set.Store(until.UnixNano())
	if s.writeDelay > 0 {
		s.waits.waited()
		time.Sleep(s.writeDelay)
	}
}

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

type apCountingCooldowns struct{ *apSlowCooldowns }

func (s apCountingCooldowns) Waits() uint64 { return s.waits.Waits() }

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
		var cool transport.CooldownStore = &apSlowCooldowns{readDelay: delay}
		var quota transport.SharedQuota = apSlowQuota{delay}
		var brk transport.BreakerStore = apSlowBreakerStore{delay}
		if w.n != nil {
			cool = apCountingCooldowns{&apSlowCooldowns{readDelay: delay, waits: w}}
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

// The retry layer's own clock reading, around a cooldown store's calls that
// may block (known since session 3, fixed in session 4).

// ccVariants are the store and stack shapes the cooldown clock tests run
// in: a store that counts its waits or not, and per-attempt layers sharing
// the retry layer's clock reading (as client.New builds them) or not.
type ccVariant struct {
	name           string
	counted, share bool
}

var ccVariants = []ccVariant{
	{"counted/shared-clock", true, true},
	{"uncounted/shared-clock", false, true},
	{"counted/own-clocks", true, false},
	{"uncounted/own-clocks", false, false},
}

// ccStore returns a slow cooldown store that counts its waits, and the
// store as variant v's retry layer sees it (counting or not).
func ccStore(v ccVariant, s *apSlowCooldowns) (*apSlowCooldowns, transport.CooldownStore) {
	s.waits = apWaits{n: new(atomic.Uint64), honest: true}
	if v.counted {
		return s, apCountingCooldowns{s}
	}
	return s, s
}

// A cooldown store read that blocks while a cooldown is set: the attempt
// starts when the cooldown ends (or when the read returns, if the cooldown
// ended meanwhile), not the read's time after it (the wait used to be
// computed from the clock reading taken before the read).
func TestCooldownWaitCountsFromAfterASlowRead(t *testing.T) {
	for _, v := range ccVariants {
		for _, tc := range []struct {
			name      string
			until, at time.Duration // the cooldown's end, when the send is due
			readDelay time.Duration
		}{
			{"ends-after-the-read", 3 * time.Second, 3 * time.Second, 2 * time.Second},
			{"ends-during-the-read", time.Second, 2 * time.Second, 2 * time.Second},
		} {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					start := time.Now()
					_, cs := ccStore(v, &apSlowCooldowns{readDelay: tc.readDelay, until: start.Add(tc.until)})
					var sentAt time.Time
					next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
					rt := apStackAs(t, 0, time.Minute,
						transport.RetryConfig{Cooldowns: cs, ServerWaitJitter: -1, SharedClock: v.share},
						nil, roundTripFunc(func(r *http.Request) (*http.Response, error) {
							sentAt = time.Now()
							return next.RoundTrip(r)
						}))
					resp, err := resGet(t, t.Context(), rt)
					if err != nil {
						t.Fatal(err)
					}
					resReadAll(t, resp)
					if got := sentAt.Sub(start); got != tc.at {
						t.Fatalf("sent %v after the call began; want %v", got, tc.at)
					}
				})
			})
		}
	}
}

// ccSlowWrite returns a store whose cooldown write takes 2 s, a server
// answering 503 with Retry-After 3 s and then 200, and the stack of variant
// v with a total timeout of total over the server (wrapped by wrap, when
// given).
func ccSlowWrite(t *testing.T, v ccVariant, total time.Duration, wrap func(http.RoundTripper) http.RoundTripper) (*apSlowCooldowns, *transporttest.Responder, http.RoundTripper) {
	store, cs := ccStore(v, &apSlowCooldowns{writeDelay: 2 * time.Second})
	next := transporttest.NewResponder(
		transporttest.Respond(503, "busy", "Retry-After", "3"),
		transporttest.Respond(200, "ok"))
	var rt http.RoundTripper = next
	if wrap != nil {
		rt = wrap(next)
	}
	return store, next, apStackAs(t, total, time.Second,
		transport.RetryConfig{Cooldowns: cs, MaxAttempts: 3, ServerWaitJitter: -1,
			MinAttemptTime: -1, SharedClock: v.share}, nil, rt)
}

// A cooldown store whose write of the server's cooldown blocks: the
// server's wait counts from its response, so the time the write took is
// part of it, and the deadline check uses a fresh clock reading. Retry-After
// 3 s, a 2 s write, a 4 s deadline: the second send is due at 3 s. With the
// reading from before the write the layer slept 3 s more and the call ran
// into its deadline at 4 s; with a fresh reading but the whole wait, the 3 s
// did not fit the 2 s left and the call stopped at 2 s.
func TestRetryClockAfterSlowCooldownWrite(t *testing.T) {
	for _, v := range ccVariants {
		t.Run(v.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sends []time.Duration
				start := time.Now()
				store, _, rt := ccSlowWrite(t, v, 4*time.Second, func(next http.RoundTripper) http.RoundTripper {
					return roundTripFunc(func(r *http.Request) (*http.Response, error) {
						sends = append(sends, time.Since(start))
						return next.RoundTrip(r)
					})
				})
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatalf("err = %v; want the second send's 200", err)
				}
				resReadAll(t, resp)
				if len(sends) != 2 || sends[1] != 3*time.Second {
					t.Fatalf("sends at %v; want 0s and 3s (the server's 3 s from its response)", sends)
				}
				if store.writes.Load() != 1 {
					t.Errorf("%d cooldown writes; want 1", store.writes.Load())
				}
				if got := time.Duration(store.set.Load() - start.UnixNano()); got != 3*time.Second {
					t.Errorf("cooldown written to end %v after the call began; want 3s (the response + Retry-After)", got)
				}
			})
		})
	}
}

// The deadline still holds after a slow cooldown write: Retry-After 3 s, a
// 2 s write and a 2.5 s deadline stop the call at once after the write, for
// the deadline, without a second send.
func TestRetryDeadlineAfterSlowCooldownWrite(t *testing.T) {
	for _, v := range ccVariants {
		t.Run(v.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, next, rt := ccSlowWrite(t, v, 2500*time.Millisecond, nil)
				start := time.Now()
				_, err := resGet(t, t.Context(), rt)
				var re *transport.RetryError
				if !errors.As(err, &re) || re.Reason != transport.StopDeadline || !errors.Is(err, transport.ErrRateLimited) {
					t.Fatalf("err = %v; want a RetryError stopped for the deadline, ErrRateLimited", err)
				}
				if got := time.Since(start); got != 2*time.Second {
					t.Errorf("stopped %v after the call began; want 2s (at once after the write)", got)
				}
				if n := next.Calls(); n != 1 {
					t.Errorf("%d sends; want 1", n)
				}
			})
		})
	}
}
