package fleet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

// captureOTelErrors records what reaches otel.Handle for the test's life.
func captureOTelErrors(t *testing.T) func() []error {
	reported, _ := captureOTelErrorsArrived(t)
	return reported
}

// captureOTelErrorsArrived is captureOTelErrors, with a channel that
// receives a value once each error has been recorded: for errors reported
// from a goroutine the call under test does not wait for (a quota lease
// reports after it has woken its waiters).
func captureOTelErrorsArrived(t *testing.T) (reported func() []error, arrived <-chan struct{}) {
	t.Helper()
	var mu sync.Mutex
	var got []error
	ch := make(chan struct{}, 64)
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
		select {
		case ch <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	return func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), got...)
	}, ch
}

// checkCollisionError: err names the Prefix option and its value and
// says what to do, keeps Redis's error (errors.As), and names no key.
func checkCollisionError(t *testing.T, err error, prefix string, keys ...string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, "Prefix") || !strings.Contains(msg, `"`+prefix+`"`) || !strings.Contains(msg, "Prefix of its own") {
		t.Errorf("error %q: want the Prefix option, its value %q and the remedy named", msg, prefix)
	}
	var re redis.Error
	if !errors.As(err, &re) {
		t.Errorf("error %q: Redis's error is not kept (errors.As redis.Error)", msg)
	}
	for _, k := range keys {
		if strings.Contains(msg, k) {
			t.Errorf("error %q names the key %q", msg, k)
		}
	}
}

// TestNonceClaimForeignKeyNamesPrefix: a claim whose nonce key holds
// another application's value (a Prefix shared with it: WRONGTYPE) was
// refused under FailClosed with an *Error reading "redis unavailable:
// WRONGTYPE Operation against a key holding the wrong kind of value",
// naming neither the Prefix option nor the remedy, and under
// FallBackLocal it was claimed locally with nothing reported at all. The
// refusal now names the Prefix (never the key) and says to give the store
// a Prefix of its own; under FallBackLocal that error goes to otel.Handle.
func TestNonceClaimForeignKeyNamesPrefix(t *testing.T) {
	for _, policy := range []Policy{FailClosed, FallBackLocal} {
		t.Run(policy.String(), func(t *testing.T) {
			reported := captureOTelErrors(t)
			srv := redistest.Start(t)
			c := srv.Client()
			const prefix = "shared:"
			st, err := NewNonceStore(c, NonceOptions{Prefix: prefix, Timeout: patientTimeout, Policy: policy, ProbeInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			key := st.key("k", "bad")
			if err := c.HSet(ctx, key, "field", "other app").Err(); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			err = st.Claim(ctx, "k", "bad", now, now.Add(time.Minute))
			if policy == FailClosed {
				var fe *Error
				if !errors.As(err, &fe) || !errors.Is(err, ErrUnavailable) || errors.Is(err, signer.ErrReplay) {
					t.Fatalf("Claim: %v, want an *Error matching ErrUnavailable", err)
				}
				checkCollisionError(t, err, prefix, key)
				return
			}
			if err != nil {
				t.Fatalf("Claim under FallBackLocal: %v, want the local claim", err)
			}
			got := reported()
			if len(got) != 1 {
				t.Fatalf("reported to otel.Handle: %v, want the collision once", got)
			}
			checkCollisionError(t, got[0], prefix)
		})
	}
}

// TestQuotaForeignKeyNamesPrefix: a quota whose Redis key holds another
// application's value (a Prefix shared with it: WRONGTYPE, or a string
// the GCRA script cannot read) was refused under FailClosed with Redis's
// bare message, and under FallBackLocal fell back to the local share with
// nothing reported, every ProbeInterval, for as long as the collision
// lasted. The refusal now names the Prefix (never the key) and the remedy;
// under FallBackLocal that error goes to otel.Handle, once per lease.
func TestQuotaForeignKeyNamesPrefix(t *testing.T) {
	for _, foreign := range []string{"string", "list"} {
		for _, policy := range []Policy{FailClosed, FallBackLocal} {
			t.Run(foreign+"/"+policy.String(), func(t *testing.T) {
				reported, arrived := captureOTelErrorsArrived(t)
				srv := redistest.Start(t)
				c := srv.Client()
				ctx := context.Background()
				const prefix = "shared:"
				key := "rate:" + prefix + "quota:bad.example"
				var err error
				if foreign == "string" {
					err = c.Set(ctx, key, "not a number", 0).Err()
				} else {
					err = c.RPush(ctx, key, "x").Err()
				}
				if err != nil {
					t.Fatal(err)
				}
				q := newQuota(t, c, QuotaOptions{Prefix: prefix, Limit: QuotaLimit{Rate: 1000, Burst: 4}, Policy: policy,
					ExpectedReplicas: 1000, ProbeInterval: time.Hour})
				for range 2 {
					_, err = q.TakeQuota(ctx, "bad.example")
					if policy == FailClosed {
						if !errors.Is(err, ErrUnavailable) {
							t.Fatalf("TakeQuota: %v, want an *Error matching ErrUnavailable", err)
						}
						checkCollisionError(t, err, prefix, key)
					} else if err != nil {
						t.Fatalf("TakeQuota under FallBackLocal: %v, want the local share", err)
					}
				}
				if st := q.Stats(); st.RedisCalls != 1 {
					t.Fatalf("stats %+v: want one lease", st)
				}
				if policy == FailClosed {
					if got := reported(); len(got) != 0 {
						t.Fatalf("reported to otel.Handle under FailClosed: %v, want nothing (the caller has it)", got)
					}
					return
				}
				// The lease reports from its own goroutine once it has
				// woken the callers: TakeQuota may return first. One
				// lease (RedisCalls above), so at most one report;
				// wait for it (the minute bounds a hang, it is no
				// timing assertion).
				select {
				case <-arrived:
				case <-time.After(time.Minute):
					t.Fatal("reported to otel.Handle: nothing, want the collision once")
				}
				got := reported()
				if len(got) != 1 {
					t.Fatalf("reported to otel.Handle: %v, want the collision once", got)
				}
				checkCollisionError(t, got[0], prefix, key)
			})
		}
	}
}
