package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func newThrottle(t testing.TB, next http.RoundTripper, cfg transport.ThrottleConfig) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewThrottle(next, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestThrottleConformance(t *testing.T) {
	for name, cfg := range map[string]transport.ThrottleConfig{
		"default": {},
		"limited": {Limit: transport.HostLimit{Rate: 1000, Burst: 10, MaxConcurrent: 4}},
	} {
		t.Run(name, func(t *testing.T) {
			transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
				return newThrottle(t, next, cfg)
			}, transporttest.ConformanceOptions{Synctest: true})
		})
	}
}

func TestThrottleTokenBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := &resTimed{next: transporttest.NewResponder()}
		rt := newThrottle(t, tm, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 2, Burst: 1}})
		for range 5 {
			if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
				t.Fatal(err)
			}
		}
		at := tm.arrivals()
		for i := 1; i < len(at); i++ {
			if d := at[i].Sub(at[i-1]); d != 500*time.Millisecond {
				t.Errorf("gap %d = %v, want 500ms", i, d)
			}
		}
	})
}

// A wait that cannot finish before the deadline fails at once with
// ErrRateLimited, and does not use up the token.
func TestThrottleDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tm := &resTimed{next: transporttest.NewResponder()}
		rt := newThrottle(t, tm, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 0.1, Burst: 1}, MaxWait: time.Minute})
		start := time.Now()
		resSend(t, t.Context(), rt, resURL)

		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		body := transporttest.NewTrackedBody([]byte("x"))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, resURL, body)
		_, err := rt.RoundTrip(req)
		var de *transport.DeadlineError
		if !errors.As(err, &de) || !errors.Is(err, transport.ErrRateLimited) || de.Reason != transport.SourceThrottle || de.Wait != 10*time.Second {
			t.Fatalf("err %v", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("waited %v before failing", time.Since(start))
		}
		if !body.Closed() || len(tm.arrivals()) != 1 {
			t.Errorf("body closed %v, sends %d", body.Closed(), len(tm.arrivals()))
		}
		// The refused request's reservation was given back: the next
		// token comes 10 s after the first send, not 20.
		resSend(t, t.Context(), rt, resURL)
		if at := tm.arrivals(); at[1].Sub(at[0]) != 10*time.Second {
			t.Errorf("second send after %v, want 10s", at[1].Sub(at[0]))
		}
	})
}

func TestThrottleMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder()
		rt := newThrottle(t, next, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 0.1}, MaxWait: time.Second})
		resSend(t, t.Context(), rt, resURL)
		_, err := resSend(t, t.Context(), rt, resURL)
		var rl *transport.RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, transport.ErrRateLimited) || rl.Reason != transport.ThrottleRate || rl.Host != "api.example.test" || rl.Wait != 10*time.Second {
			t.Errorf("err %v", err)
		}
		if next.Calls() != 1 {
			t.Errorf("%d calls", next.Calls())
		}
	})
}

func TestThrottleHostPatterns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newThrottle(t, transporttest.NewResponder(), transport.ThrottleConfig{
			Hosts: []transport.HostLimit{
				{Pattern: "api.example.test", Rate: 1, Burst: 1},
				{Pattern: "*.slow.test", Rate: 0.5, Burst: 1},
			},
			MaxWait: time.Millisecond,
		})
		refusedSecond := func(u string) bool {
			resSend(t, t.Context(), rt, u)
			_, err := resSend(t, t.Context(), rt, u)
			return errors.Is(err, transport.ErrRateLimited)
		}
		for u, want := range map[string]bool{
			"https://api.example.test/":      true,
			"https://API.example.test:443/":  true,
			"https://a.slow.test/":           true,
			"https://b.c.slow.test/":         true,
			"https://slow.test/":             false, // "*." does not match the apex
			"https://other.example.test/":    false,
			"https://api.example.test:8443/": false,
		} {
			if got := refusedSecond(u); got != want {
				t.Errorf("%s: limited %v, want %v", u, got, want)
			}
		}
	})
}

// The concurrency cap holds a slot until the response body is closed; a
// request that waits longer than MaxWait fails with ErrRateLimited.
func TestThrottleConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, "body"))
		rt := newThrottle(t, next, transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 2}, MaxWait: 5 * time.Second})
		var open []*http.Response
		for range 2 {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, resp) // headers back, body still open
		}
		// A third waits, then gets the first slot freed.
		got := make(chan time.Duration, 1)
		go func() {
			t0 := time.Now()
			if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
				t.Error(err)
			}
			got <- time.Since(t0)
		}()
		synctest.Wait()
		if next.Calls() != 2 {
			t.Fatalf("%d calls with two slots taken", next.Calls())
		}
		time.Sleep(2 * time.Second)
		io.ReadAll(open[0].Body)
		open[0].Body.Close()
		if d := <-got; d != 2*time.Second {
			t.Errorf("third request waited %v, want 2s", d)
		}
		// One slot still held: with both taken again, a waiter gives up
		// after MaxWait.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
		r2, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		_, err = resSend(t, t.Context(), rt, resURL)
		var rl *transport.RateLimitError
		if !errors.As(err, &rl) || rl.Reason != transport.ThrottleConcurrency || time.Since(t0) != 5*time.Second {
			t.Errorf("err %v after %v", err, time.Since(t0))
		}
		// A deadline shorter than MaxWait ends the wait at the deadline.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err = resSend(t, ctx, rt, resURL)
		cancel()
		if !errors.Is(err, transport.ErrRateLimited) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("deadline wait: err %v", err)
		}
		open[1].Body.Close()
		r2.Body.Close()
		// All slots free again: no wait.
		t0 = time.Now()
		for range 4 {
			if _, err := resSend(t, t.Context(), rt, resURL); err != nil {
				t.Fatal(err)
			}
		}
		if time.Since(t0) != 0 {
			t.Errorf("slots not released: waited %v", time.Since(t0))
		}
	})
}

// Many goroutines through a small cap: never more in flight than the cap,
// every request eventually served.
func TestThrottleConcurrencyStress(t *testing.T) {
	var mu sync.Mutex
	inflight, peak := 0, 0
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		mu.Lock()
		inflight--
		mu.Unlock()
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
	})
	rt := newThrottle(t, next, transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 3}, MaxWait: time.Minute})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				if _, err := resSend(t, context.Background(), rt, resURL); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if peak > 3 {
		t.Errorf("%d in flight, cap 3", peak)
	}
}

// Adaptive: a 429 lowers the rate of a host that had no limit (from the
// rate it was sending at), and the rate recovers until the limit is lifted.
func TestThrottleAdaptive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		// Send at 20/s for 2 s.
		for range 40 {
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(50 * time.Millisecond)
		}
		next.set(transporttest.Respond(429, "", "Retry-After", "1"))
		resSend(t, t.Context(), rt, resURL)
		next.set(transporttest.Respond(200, ""))
		// Now limited to about 10/s: back-to-back sends are spaced.
		n0 := len(tm.arrivals())
		for range 5 {
			resSend(t, t.Context(), rt, resURL)
		}
		at := tm.arrivals()[n0:]
		for i := 1; i < len(at); i++ {
			if d := at[i].Sub(at[i-1]); d < 80*time.Millisecond || d > 125*time.Millisecond {
				t.Errorf("gap %d = %v, want about 100ms (half of 20/s)", i, d)
			}
		}
		// Ten recovery intervals later the limit is lifted: no spacing.
		time.Sleep(15 * time.Second)
		for range 10 { // each send may apply one recovery step
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(time.Second)
		}
		t0 := time.Now()
		for range 20 {
			resSend(t, t.Context(), rt, resURL)
		}
		if time.Since(t0) != 0 {
			t.Errorf("limit not lifted: 20 sends took %v", time.Since(t0))
		}
	})
}

// A configured rate is lowered by a throttle signal and recovers to the
// configured rate, not above.
func TestThrottleAdaptiveConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "", "RateLimit", `"q";r=0;t=1`)}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 10, Burst: 1}, MaxWait: time.Minute})
		resSend(t, t.Context(), rt, resURL) // RateLimit r=0 on a 200: a signal
		next.set(transporttest.Respond(200, ""))
		for range 3 {
			resSend(t, t.Context(), rt, resURL)
		}
		at := tm.arrivals()
		if d := at[3].Sub(at[2]); d != 200*time.Millisecond {
			t.Errorf("gap %v, want 200ms (10/s halved)", d)
		}
		time.Sleep(30 * time.Second)
		for range 12 {
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(time.Second)
		}
		n0 := len(tm.arrivals())
		for range 3 {
			resSend(t, t.Context(), rt, resURL)
		}
		at = tm.arrivals()[n0:]
		if d := at[2].Sub(at[1]); d != 100*time.Millisecond {
			t.Errorf("recovered gap %v, want the configured 100ms", d)
		}
	})
}

// A burst of throttle signals lowers the rate once per interval, not once
// per signal.
func TestThrottleOneDecreasePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(429, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 100, Burst: 1}, MaxWait: time.Minute})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { resSend(t, t.Context(), rt, resURL) })
		}
		wg.Wait()
		next.set(transporttest.Respond(200, ""))
		n0 := len(tm.arrivals())
		time.Sleep(500 * time.Millisecond) // drain the bucket's debt
		for range 3 {
			resSend(t, t.Context(), rt, resURL)
		}
		at := tm.arrivals()[n0:]
		if d := at[2].Sub(at[1]); d != 20*time.Millisecond {
			t.Errorf("gap %v, want 20ms (100/s halved once)", d)
		}
	})
}

func TestThrottleAdaptiveDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(429, "", "Retry-After", "5"))
		rt := newThrottle(t, next, transport.ThrottleConfig{DisableAdaptive: true})
		start := time.Now()
		for range 20 {
			resSend(t, t.Context(), rt, resURL)
		}
		if time.Since(start) != 0 {
			t.Errorf("adaptive limit applied although disabled (%v)", time.Since(start))
		}
	})
}

// A host without any limit in force costs no allocation and no lock.
func TestThrottleUnlimitedNoAllocs(t *testing.T) {
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
	next := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return resp, nil })
	rt := newThrottle(t, next, transport.ThrottleConfig{})
	req, _ := http.NewRequest(http.MethodGet, resURL, nil)
	rt.RoundTrip(req)
	if n := testing.AllocsPerRun(200, func() { rt.RoundTrip(req) }); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

func TestThrottleConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg    transport.ThrottleConfig
		option string
	}{
		{transport.ThrottleConfig{Limit: transport.HostLimit{Rate: -1}}, "ThrottleConfig.Limit.Rate"},
		{transport.ThrottleConfig{Limit: transport.HostLimit{Burst: -1}}, "ThrottleConfig.Limit.Burst"},
		{transport.ThrottleConfig{Limit: transport.HostLimit{Burst: 5}}, "ThrottleConfig.Limit.Burst"},
		{transport.ThrottleConfig{Limit: transport.HostLimit{Rate: rate.Inf, Burst: 5}}, "ThrottleConfig.Limit.Burst"},
		{transport.ThrottleConfig{Hosts: []transport.HostLimit{{Pattern: "a.example", Burst: 5}}}, "ThrottleConfig.Hosts[0].Burst"},
		{transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: -1}}, "ThrottleConfig.Limit.MaxConcurrent"},
		{transport.ThrottleConfig{Hosts: []transport.HostLimit{{Rate: 1}}}, "ThrottleConfig.Hosts[0].Pattern"},
		{transport.ThrottleConfig{Hosts: []transport.HostLimit{{Pattern: "a.*.com"}}}, "ThrottleConfig.Hosts[0].Pattern"},
		{transport.ThrottleConfig{Hosts: []transport.HostLimit{{Pattern: "*.x.*"}}}, "ThrottleConfig.Hosts[0].Pattern"},
		{transport.ThrottleConfig{MaxWait: -1}, "ThrottleConfig.MaxWait"},
		{transport.ThrottleConfig{Decrease: 1}, "ThrottleConfig.Decrease"},
		{transport.ThrottleConfig{MinRate: rate.Inf}, "ThrottleConfig.MinRate"},
		{transport.ThrottleConfig{RecoveryStep: 2}, "ThrottleConfig.RecoveryStep"},
		{transport.ThrottleConfig{RecoveryInterval: -1}, "ThrottleConfig.RecoveryInterval"},
		{transport.ThrottleConfig{MaxHosts: -1}, "ThrottleConfig.MaxHosts"},
	} {
		_, err := transport.NewThrottle(nil, tc.cfg)
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: err %v, want a ConfigError for %s", tc.cfg, err, tc.option)
		}
	}
}

// A RateLimit-Policy on the throttle signal bounds the adaptive rate: it
// starts from the advertised quota at most and recovers to it, where it
// stays instead of being lifted while the server keeps advertising it
// (TestThrottlePolicyCeilingExpires: until it stops).
func TestThrottleAdaptivePolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := &resSwitch{step: transporttest.Respond(200, "")}
		tm := &resTimed{next: next}
		rt := newThrottle(t, tm, transport.ThrottleConfig{MaxWait: time.Minute})
		for range 100 { // far above the quota: 100/s
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(10 * time.Millisecond)
		}
		next.set(transporttest.Respond(429, "", "Retry-After", "1", "RateLimit-Policy", `"burst";q=100;w=5, "sec";q=10;w=1`))
		resSend(t, t.Context(), rt, resURL)
		next.set(transporttest.Respond(200, "", "RateLimit-Policy", `"burst";q=100;w=5, "sec";q=10;w=1`))
		n0 := len(tm.arrivals())
		for range 3 {
			resSend(t, t.Context(), rt, resURL)
		}
		at := tm.arrivals()[n0:]
		if d := at[2].Sub(at[1]); d != 200*time.Millisecond {
			t.Errorf("gap %v, want 200ms (half of the advertised 10/s)", d)
		}
		for range 60 {
			resSend(t, t.Context(), rt, resURL)
			time.Sleep(time.Second)
		}
		n0 = len(tm.arrivals())
		for range 3 {
			resSend(t, t.Context(), rt, resURL)
		}
		at = tm.arrivals()[n0:]
		if d := at[2].Sub(at[1]); d != 100*time.Millisecond {
			t.Errorf("gap %v after recovery, want 100ms: the advertised quota stays in force", d)
		}
	})
}

// No throttle wait starts that would leave less than MinAttemptTime
// before the deadline.
func TestThrottleMinAttemptTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder()
		rt := newThrottle(t, next, transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 1}, MinAttemptTime: 100 * time.Millisecond})
		resSend(t, t.Context(), rt, resURL)
		ctx, cancel := context.WithTimeout(t.Context(), 1050*time.Millisecond)
		defer cancel()
		if _, err := resSend(t, ctx, rt, resURL); !errors.As(err, new(*transport.DeadlineError)) {
			t.Errorf("1s wait with 1.05s left and 100ms reserve: err %v", err)
		}
		ctx2, cancel2 := context.WithTimeout(t.Context(), 1200*time.Millisecond)
		defer cancel2()
		if _, err := resSend(t, ctx2, rt, resURL); err != nil {
			t.Errorf("1s wait with 1.2s left: %v", err)
		}
	})
}

// A host's trailing dot changes neither which limit applies nor whose
// state it uses: a request to "api.example.test." is limited as
// "api.example.test" (not a way around its limit), and a pattern written
// with the dot matches the host with or without it.
func TestThrottleHostPatternsTrailingDot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newThrottle(t, transporttest.NewResponder(), transport.ThrottleConfig{
			Hosts: []transport.HostLimit{
				{Pattern: "api.example.test", Rate: 1, Burst: 1},
				{Pattern: "dotted.test.", Rate: 1, Burst: 1},
				{Pattern: "*.wild.test.", Rate: 1, Burst: 1},
				{Pattern: "port.test.:8443", Rate: 1, Burst: 1},
			},
			MaxWait: time.Millisecond,
		})
		for _, u := range []string{"https://api.example.test./", "https://dotted.test/", "https://a.wild.test/", "https://port.test:8443/"} {
			resSend(t, t.Context(), rt, u)
			if _, err := resSend(t, t.Context(), rt, u); !errors.Is(err, transport.ErrRateLimited) {
				t.Errorf("%s: second call %v, want limited", u, err)
			}
		}
		// One host, one bucket: the other spelling finds it empty.
		if _, err := resSend(t, t.Context(), rt, "https://api.example.test/"); !errors.Is(err, transport.ErrRateLimited) {
			t.Errorf("api.example.test after api.example.test.: %v, want limited (shared state)", err)
		}
	})
}
