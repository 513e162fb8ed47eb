package transport

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/internal/testpki"
)

// steppedClock is the system clock (or a synctest bubble's) with a wall
// clock that the test steps, as NTP, an operator or a resumed virtual
// machine would: its readings are time.Now moved by the step, and the
// ticks of a reading take the step out again (a reading is used before the
// next step: the tests step between calls only).
type steppedClock struct{ step atomic.Int64 }

func (f *steppedClock) clock() clock {
	return clock{
		Now: func() time.Time { return time.Now().Add(time.Duration(f.step.Load())) },
		Mono: func(now time.Time) int64 {
			return monoTicks(now.Add(-time.Duration(f.step.Load())))
		},
	}
}

type stepRT func(*http.Request) (*http.Response, error)

func (f stepRT) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func stepResp(status int, h ...string) *http.Response {
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(""))}
	for i := 0; i+1 < len(h); i += 2 {
		resp.Header.Set(h[i], h[i+1])
	}
	return resp
}

// checkLeft fails unless end, read at now, is at most want and more than
// want-5s away, both on the wall clock (UnixNano) and as time.Sub
// measures it.
func checkLeft(t *testing.T, end, now time.Time, want time.Duration) {
	t.Helper()
	for _, d := range []time.Duration{time.Duration(end.UnixNano() - now.UnixNano()), end.Sub(now)} {
		if d > want || d <= want-5*time.Second {
			t.Fatalf("%v left after the wall clock stepped back an hour, want %v", d, want)
		}
	}
}

// A cooldown is kept on the monotonic clock: a step of the wall clock
// neither stretches nor shortens it. (Ends were unix nanoseconds: after
// the wall clock stepped an hour back, a 30 s cooldown held for an hour
// and 30 s, every call to the host waiting MaxRetryAfter.)
func TestCooldownSurvivesWallClockStep(t *testing.T) {
	const host = "https://api.example.com"
	var f steppedClock
	c := NewCooldowns(0)
	c.clk = f.clock()
	c.SetCooldown(host, c.clk.Now().Add(30*time.Second))
	f.step.Store(int64(-time.Hour))
	now := c.clk.Now()
	checkLeft(t, c.CooldownUntilAt(host, now), now, 30*time.Second)
	checkLeft(t, c.CooldownUntil(host), c.clk.Now(), 30*time.Second)
}

// The retry layer waits out a cooldown as long as the server asked, not
// that plus a backwards step of the wall clock, with its own per-host
// cooldowns and with the in-memory store.
func TestRetryCooldownSurvivesWallClockStep(t *testing.T) {
	for _, store := range []bool{false, true} {
		name := "own"
		if store {
			name = "Cooldowns"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var f steppedClock
				var sent atomic.Int32
				next := stepRT(func(*http.Request) (*http.Response, error) {
					if sent.Add(1) == 1 {
						return stepResp(http.StatusTooManyRequests, "Retry-After", "30"), nil
					}
					return stepResp(http.StatusOK), nil
				})
				cfg := RetryConfig{MaxAttempts: 1, ServerWaitJitter: -1}
				if store {
					c := NewCooldowns(0)
					c.clk = f.clock()
					cfg.Cooldowns = c
				}
				rt, err := NewRetry(next, cfg)
				if err != nil {
					t.Fatal(err)
				}
				rt.(*retryLayer).clk = f.clock()
				call := func() time.Duration {
					start := time.Now()
					req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
					resp, err := rt.RoundTrip(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					return time.Since(start)
				}
				call() // 429, Retry-After: 30: a 30 s cooldown
				f.step.Store(int64(-time.Hour))
				time.Sleep(31 * time.Second) // the cooldown is over
				if d := call(); d != 0 {
					t.Fatalf("a call waited %v 31 s into a 30 s cooldown, the wall clock having stepped back an hour", d)
				}
				if n := sent.Load(); n != 2 {
					t.Fatalf("%d requests sent, want 2", n)
				}
			})
		})
	}
}

// The throttle's adaptive rate keeps its deadlines (the next recovery
// step, the end of the interval without a further decrease) on the
// monotonic clock. (They were unix nanoseconds: after the wall clock
// stepped an hour back, a lowered rate did not recover, and further
// throttle signals did not lower it, for an hour.)
func TestThrottleAdaptiveSurvivesWallClockStep(t *testing.T) {
	for _, tc := range []struct {
		name string
		// after runs after the step; it returns the rate it should leave
		// (want) or a rate it should leave the host below (below).
		after func(t *testing.T, send func(status int)) (want, below float64)
	}{
		{"recovers", func(t *testing.T, send func(int)) (float64, float64) {
			time.Sleep(10 * time.Second)
			for range 10 { // each send may apply one recovery step
				send(http.StatusOK)
				time.Sleep(time.Second)
			}
			return 10, 0 // back to the configured rate
		}},
		{"lowers again", func(t *testing.T, send func(int)) (float64, float64) {
			time.Sleep(2 * time.Second)
			send(http.StatusTooManyRequests)
			return 0, 5
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var f steppedClock
				var status atomic.Int32
				next := stepRT(func(*http.Request) (*http.Response, error) {
					return stepResp(int(status.Load())), nil
				})
				rt, err := NewThrottle(next, ThrottleConfig{Limit: HostLimit{Rate: 10, Burst: 1}, MaxWait: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				l := rt.(*throttleLayer)
				l.clk = f.clock()
				send := func(s int) {
					status.Store(int32(s))
					req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
					resp, err := rt.RoundTrip(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
				}
				limit := func() float64 {
					return float64(l.hosts.lookup("api.example.com").lim.Load().Limit())
				}
				send(http.StatusTooManyRequests) // 10/s halved
				if r := limit(); r != 5 {
					t.Fatalf("rate %v after a 429, want 5", r)
				}
				f.step.Store(int64(-time.Hour))
				want, below := tc.after(t, send)
				if r := limit(); want != 0 && r != want || below != 0 && r >= below {
					t.Fatalf("rate %v after the wall clock stepped back an hour, want %v (below %v)", r, want, below)
				}
			})
		})
	}
}

// A file-based client certificate checks its files on the monotonic
// clock. (The next check was unix nanoseconds: after the wall clock
// stepped an hour back, reloading paused for an hour, and a rotated
// certificate was presented an hour late.)
func TestClientCertificateReloadSurvivesWallClockStep(t *testing.T) {
	ca, err := testpki.NewCA("client root")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ca.Client("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Client("b")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := a.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		var f steppedClock
		c, err := NewClientCertificateFromFiles(certFile, keyFile, WithCertificateReloadInterval(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		c.clk = f.clock()
		gen := c.generation()
		if err := b.WriteFiles(certFile, keyFile); err != nil {
			t.Fatal(err)
		}
		f.step.Store(int64(-time.Hour))
		time.Sleep(31 * time.Second) // the check is due
		if _, err := c.GetClientCertificate(nil); err != nil {
			t.Fatal(err)
		}
		if c.generation() == gen {
			t.Fatal("rotated certificate not loaded 31 s into a 30 s reload interval, the wall clock having stepped back an hour")
		}
	})
}

// A per-host registry tells the least recently used host by the monotonic
// clock. (Last uses were unix nanoseconds: after the wall clock stepped an
// hour back, a host used since the step looked an hour older than hosts
// idle since before it, was not refreshed, and was forgotten first, its
// cooldown with it.)
func TestRegistryEvictionSurvivesWallClockStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f steppedClock
		c := NewCooldowns(3)
		c.clk = f.clock()
		set := func(host string) { c.SetCooldown(host, c.clk.Now().Add(time.Minute)) }
		set("idle")
		set("busy")
		time.Sleep(2 * time.Second)
		f.step.Store(int64(-time.Hour))
		set("busy") // used since the step
		set("new")
		set("another") // full: the least recently used goes
		if c.reg.lookup("idle") != nil {
			t.Error("the host idle since before the step was kept")
		}
		for _, h := range []string{"busy", "new", "another"} {
			if c.reg.lookup(h) == nil {
				t.Errorf("%s, used since the wall clock stepped back an hour, was forgotten", h)
			}
		}
	})
}

// The retry budget's window runs on the monotonic clock. (It counted in
// slices of the wall clock: after a step back, the retries already taken
// were forgotten and the budget was spent again.)
func TestRetryBudgetSurvivesWallClockStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f steppedClock
		var sent atomic.Int32
		next := stepRT(func(*http.Request) (*http.Response, error) {
			sent.Add(1)
			return stepResp(http.StatusServiceUnavailable), nil
		})
		rt, err := NewRetry(next, RetryConfig{MaxAttempts: 2, Budget: BudgetConfig{MinRetries: 1}})
		if err != nil {
			t.Fatal(err)
		}
		rt.(*retryLayer).clk = f.clock()
		call := func() {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		call() // sent, retried: the budget's one retry is spent
		if n := sent.Load(); n != 2 {
			t.Fatalf("%d requests sent, want 2", n)
		}
		f.step.Store(int64(-time.Hour))
		call() // sent, not retried
		if n := sent.Load(); n != 3 {
			t.Fatalf("%d requests sent, want 3: the budget's retry was taken again after the wall clock stepped back an hour", n)
		}
	})
}

// The breaker's failure window runs on the monotonic clock. (It counted in
// slices of the wall clock: after a step back, the failures before it were
// forgotten, and a host failing every attempt was not cut off.)
func TestBreakerWindowSurvivesWallClockStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f steppedClock
		var sent atomic.Int32
		next := stepRT(func(*http.Request) (*http.Response, error) {
			sent.Add(1)
			return stepResp(http.StatusInternalServerError), nil
		})
		rt, err := NewBreaker(next, BreakerConfig{MinRequests: 4, FailureRatio: 0.5, ConsecutiveFailures: -1})
		if err != nil {
			t.Fatal(err)
		}
		rt.(*breakerLayer).clk = f.clock()
		call := func() error {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/v1", nil)
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}
		for i := range 4 {
			if i == 2 {
				f.step.Store(int64(-time.Hour))
			}
			if err := call(); err != nil {
				t.Fatal(err)
			}
		}
		if err := call(); err == nil {
			t.Fatalf("breaker closed after 4 of 4 attempts failed within its window, the wall clock having stepped back an hour in between (%d sent)", sent.Load())
		}
	})
}
