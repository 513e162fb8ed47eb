package transport_test

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// Tests for the one-allocation attempt (the attempt's own copy of the
// request, its header room), the attempt's clock reading, and the lazy
// attempt deadline: each would fail if the behaviour it names broke. The
// time-dependent ones run in virtual time (testing/synctest): their sleeps
// only create the situation, and what they assert is outcomes and counts
// (a virtual instant is exact, not a timing bound).

// apStack builds [total timeout →] retry (one attempt, so a failure is not
// hidden by a second one) → mid → attempt timeout → next. mid wraps what
// is below it (nil: nothing).
func apStack(t testing.TB, total, attempt time.Duration, retry transport.RetryConfig, mid func(http.RoundTripper) http.RoundTripper, next http.RoundTripper) http.RoundTripper {
	t.Helper()
	// As client.New builds it: the per-attempt layers share the retry
	// layer's clock reading, which the tests check is renewed.
	retry.SharedClock = true
	return apStackAs(t, total, attempt, retry, mid, next)
}

// apStackAs is apStack with retry exactly as given.
func apStackAs(t testing.TB, total, attempt time.Duration, retry transport.RetryConfig, mid func(http.RoundTripper) http.RoundTripper, next http.RoundTripper) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewAttemptTimeout(next, attempt)
	if err != nil {
		t.Fatal(err)
	}
	if mid != nil {
		rt = mid(rt)
	}
	if retry.MaxAttempts == 0 {
		retry.MaxAttempts = 1
	}
	rt = newRetry(t, rt, retry)
	if total > 0 {
		if rt, err = transport.NewTotalTimeout(rt, total); err != nil {
			t.Fatal(err)
		}
	}
	return rt
}

// apTotals names the two shapes of the resilience stack: without a total
// timeout (the attempt timeout makes its own timer context) and with one
// (the attempt gets a lazy deadline over the call's).
var apTotals = []struct {
	name  string
	total time.Duration
}{{"attempt-only", 0}, {"with-total", 10 * time.Second}}

// apQuota is a SharedQuota that asks the first request to wait wait, then
// lets every request through.
type apQuota struct {
	wait  time.Duration
	calls atomic.Int32
}

func (q *apQuota) TakeQuota(context.Context, string) (time.Duration, error) {
	if q.calls.Add(1) == 1 {
		return q.wait, nil
	}
	return 0, nil
}

// A throttle wait renews the attempt's clock reading: the attempt timeout
// below it starts counting when the wait is over. With the reading taken
// before the wait (500 ms stale, the attempt timeout 200 ms), the attempt
// would begin past its deadline and the transport, which checks its
// context first as net/http's does, would fail it with an
// *AttemptTimeoutError. Each of the throttle's three waits is covered.
func TestAttemptClockRenewedAfterThrottleWait(t *testing.T) {
	const attempt, wait = 200 * time.Millisecond, 500 * time.Millisecond
	for _, tc := range apTotals {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("token", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
					timed := &resTimed{next: next}
					// 2 per second, burst 1: the second request waits 500 ms.
					cfg := transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 2, Burst: 1}, DisableAdaptive: true}
					rt := apStack(t, tc.total, attempt, transport.RetryConfig{}, func(n http.RoundTripper) http.RoundTripper {
						return newThrottle(t, n, cfg)
					}, timed)
					start := time.Now()
					for i := range 2 {
						resp, err := resGet(t, t.Context(), rt)
						if err != nil {
							t.Fatalf("request %d: %v (the attempt clock was not renewed after the throttle's wait)", i, err)
						}
						if got := resReadAll(t, resp); got != "ok" {
							t.Fatalf("request %d: body %q", i, got)
						}
					}
					if n := next.Calls(); n != 2 {
						t.Errorf("transport called %d times, want 2", n)
					}
					if arr := timed.arrivals(); len(arr) != 2 || arr[1].Sub(start) < wait {
						t.Fatalf("the throttle did not make the second request wait (arrivals %v)", arr)
					}
				})
			})
			t.Run("concurrency", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
					cfg := transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 1}, DisableAdaptive: true}
					rt := apStack(t, tc.total, attempt, transport.RetryConfig{}, func(n http.RoundTripper) http.RoundTripper {
						return newThrottle(t, n, cfg)
					}, next)
					first, err := resGet(t, t.Context(), rt) // holds the host's only slot until its body is closed
					if err != nil {
						t.Fatal(err)
					}
					done := make(chan error, 1)
					go func() {
						req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, resURL, nil)
						resp, err := rt.RoundTrip(req)
						if err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						done <- err
					}()
					synctest.Wait()
					if n := next.Calls(); n != 1 {
						t.Fatalf("second request sent (%d calls) while the slot was taken", n)
					}
					time.Sleep(wait)
					resReadAll(t, first) // frees the slot
					if err := <-done; err != nil {
						t.Fatalf("request that waited for the slot: %v (the attempt clock was not renewed)", err)
					}
					if n := next.Calls(); n != 2 {
						t.Errorf("transport called %d times, want 2", n)
					}
				})
			})
			t.Run("quota", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
					q := &apQuota{wait: wait}
					cfg := transport.ThrottleConfig{Quota: q, DisableAdaptive: true}
					rt := apStack(t, tc.total, attempt, transport.RetryConfig{}, func(n http.RoundTripper) http.RoundTripper {
						return newThrottle(t, n, cfg)
					}, next)
					start := time.Now()
					resp, err := resGet(t, t.Context(), rt)
					if err != nil {
						t.Fatalf("request that waited for the quota: %v (the attempt clock was not renewed)", err)
					}
					resReadAll(t, resp)
					if q.calls.Load() != 2 || time.Since(start) < wait {
						t.Fatalf("the quota was asked %d times, after %v: the request did not wait", q.calls.Load(), time.Since(start))
					}
					if n := next.Calls(); n != 1 {
						t.Errorf("transport called %d times, want 1", n)
					}
				})
			})
		})
	}
}

// The retry layer's own waits give the attempt a fresh clock reading: the
// host cooldown a 429 set (awaited before the next call's first attempt)
// and the backoff between attempts.
func TestAttemptClockRenewedAfterRetryWaits(t *testing.T) {
	const attempt = 200 * time.Millisecond
	for _, tc := range apTotals {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("cooldown", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					next := transporttest.NewResponder(
						transporttest.Respond(http.StatusTooManyRequests, "slow down", "Retry-After", "1"),
						transporttest.Respond(200, "ok"))
					timed := &resTimed{next: next}
					rt := apStack(t, tc.total, attempt, transport.RetryConfig{ServerWaitJitter: -1}, nil, timed)
					resp, err := resGet(t, t.Context(), rt)
					if err != nil {
						t.Fatal(err)
					}
					resReadAll(t, resp)
					if resp.StatusCode != http.StatusTooManyRequests {
						t.Fatalf("first call: status %d, want the 429 (one attempt)", resp.StatusCode)
					}
					// The second call waits out the host's cooldown (1 s), then
					// sends with an attempt timeout counted from then.
					resp, err = resGet(t, t.Context(), rt)
					if err != nil {
						t.Fatalf("call after the cooldown: %v (the attempt clock was not renewed after the cooldown)", err)
					}
					if got := resReadAll(t, resp); resp.StatusCode != 200 || got != "ok" {
						t.Fatalf("call after the cooldown: %d %q", resp.StatusCode, got)
					}
					if arr := timed.arrivals(); len(arr) != 2 || arr[1].Sub(arr[0]) < time.Second {
						t.Fatalf("the cooldown was not awaited (arrivals %v)", arr)
					}
				})
			})
			t.Run("backoff", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					next := transporttest.NewResponder(transporttest.Respond(503, "busy"), transporttest.Respond(200, "ok"))
					rt := apStack(t, tc.total, attempt, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Second)}, nil, next)
					resp, err := resGet(t, t.Context(), rt)
					if err != nil {
						t.Fatalf("retry after a 1 s backoff: %v", err)
					}
					if got := resReadAll(t, resp); resp.StatusCode != 200 || got != "ok" {
						t.Fatalf("got %d %q", resp.StatusCode, got)
					}
					if n := transport.Attempts(resp); n != 2 {
						t.Errorf("Attempts = %d, want 2", n)
					}
				})
			})
		})
	}
}

// A throttle wait renews the clock reading the sign layer (nil Clock) puts
// in the signature's created parameter: it is the time the request is
// sent, not the time the call began. (created has one-second resolution:
// the wait is 2 s.)
func TestSignCreatedAfterThrottleWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		timed := &resTimed{next: next}
		sign := newSignLayer(t, timed, mustOrigins(t, "https://api.example.test"), nil)
		cfg := transport.ThrottleConfig{Limit: transport.HostLimit{Rate: 0.5, Burst: 1}, DisableAdaptive: true}
		rt := newRetry(t, newThrottle(t, sign, cfg), transport.RetryConfig{MaxAttempts: 1, SharedClock: true})
		for i := range 2 {
			resp, err := resGet(t, t.Context(), rt)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			resReadAll(t, resp)
		}
		got, arr := next.Requests(), timed.arrivals()
		if len(got) != 2 || len(arr) != 2 || arr[1].Sub(arr[0]) < 2*time.Second {
			t.Fatalf("the throttle did not make the second request wait (arrivals %v)", arr)
		}
		for i, r := range got {
			if c := signatureInput(t, r.Header).Created; c.Unix() != arr[i].Unix() {
				t.Errorf("request %d: created %v, but signed and sent at %v", i, c.UTC(), arr[i].UTC())
			}
		}
	})
}

// The auth layer's replay after a 401 is a second send with its own clock
// reading: its signature's created is later than the first send's when the
// server took more than a second to refuse the token. The first send's
// request (which the discarded response may still hold) keeps its own
// credential and signature: the replay's values do not reuse its room.
func TestSignCreatedRenewedOnAuthReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		next := transporttest.NewResponder(
			transporttest.Respond(http.StatusUnauthorized, "", "WWW-Authenticate", `Bearer error="invalid_token"`),
			transporttest.Respond(http.StatusOK, "ok"))
		var sends atomic.Int32
		slowFirst := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(req)
			if sends.Add(1) == 1 {
				time.Sleep(1100 * time.Millisecond) // the server takes its time to refuse the token
			}
			return resp, err
		})
		sign := newSignLayer(t, slowFirst, mustOrigins(t, "https://api.example.test"), nil)
		rt := newRetry(t, newAuth(t, sign, authCache(t, &seqSource{})), transport.RetryConfig{SharedClock: true})
		resp, err := resGet(t, t.Context(), rt)
		if err != nil {
			t.Fatal(err)
		}
		if got := resReadAll(t, resp); resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("got %d %q, want the replay's 200", resp.StatusCode, got)
		}
		got := next.Requests()
		if len(got) != 2 {
			t.Fatalf("%d sends, want the first and the replay", len(got))
		}
		a, b := signatureInput(t, got[0].Header), signatureInput(t, got[1].Header)
		if !b.Created.After(a.Created) {
			t.Errorf("replay created %v, first send %v: the replay reused the first send's clock reading", b.Created.UTC(), a.Created.UTC())
		}
		if a.Nonce == b.Nonce {
			t.Errorf("replay reused nonce %q", a.Nonce)
		}
		if got[0].Header.Get("Authorization") != "Bearer t1" || got[1].Header.Get("Authorization") != "Bearer t2" {
			t.Errorf("Authorization %q then %q, want Bearer t1 then Bearer t2",
				got[0].Header.Get("Authorization"), got[1].Header.Get("Authorization"))
		}
		// The first send's request, as the discarded response holds it.
		first := got[0].Request.Header
		for _, k := range []string{"Authorization", "Signature-Input", "Signature"} {
			if !slices.Equal(first[k], got[0].Header[k]) {
				t.Errorf("first send's %s changed by the replay: %q, was %q", k, first[k], got[0].Header[k])
			}
		}
	})
}

// apSnap is a deep copy of what BeginAttempt copies from a request.
type apSnap struct {
	url       url.URL
	header    http.Header
	trailer   http.Header
	te        []string
	headerMap uintptr
	urlPtr    *url.URL
}

func apSnapshot(r *http.Request) apSnap {
	s := apSnap{url: *r.URL, header: r.Header.Clone(), trailer: r.Trailer.Clone(), te: slices.Clone(r.TransferEncoding), urlPtr: r.URL}
	s.headerMap = reflect.ValueOf(r.Header).Pointer()
	return s
}

// diff names what of r differs from s (nil and empty values differ).
func (s apSnap) diff(r *http.Request) []string {
	var d []string
	if r.URL != s.urlPtr || *r.URL != s.url {
		d = append(d, "URL")
	}
	if reflect.ValueOf(r.Header).Pointer() != s.headerMap || !reflect.DeepEqual(r.Header, s.header) {
		d = append(d, "Header")
	}
	if !reflect.DeepEqual(r.Trailer, s.trailer) {
		d = append(d, "Trailer")
	}
	if !reflect.DeepEqual(r.TransferEncoding, s.te) {
		d = append(d, "TransferEncoding")
	}
	return d
}

func apKeys(h http.Header) []string {
	ks := make([]string, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// apAliasFree changes each field's value slice of h in place (its first
// value, then an append) and reports every other field that changed with
// it: no two fields may share value storage.
func apAliasFree(t *testing.T, who string, h http.Header) {
	t.Helper()
	for _, k := range apKeys(h) {
		before := h.Clone()
		if len(h[k]) > 0 {
			h[k][0] = "changed:" + k
		}
		h[k] = append(h[k], "appended:"+k)
		for _, k2 := range apKeys(before) {
			if k2 != k && !reflect.DeepEqual(h[k2], before[k2]) {
				t.Errorf("%s: changing %s changed %s to %q (shared value storage)", who, k, k2, h[k2])
			}
		}
	}
}

// A request goes through a stack whose layers set Authorization, an API
// key, Idempotency-Key, Traceparent (a real propagator) and the signature
// fields: four values through the attempt's three-slot room (the fourth
// overflows), three more set directly. The caller's request (Header, URL,
// Trailer, TransferEncoding) is left exactly as it was; each attempt starts
// from the caller's fields, whatever an inner layer did to the previous
// attempt's copy; the second attempt does not write into the first's
// values; and no two fields of an attempt share value storage.
func TestAttemptCloneIsolatesCallerAndAttempts(t *testing.T) {
	rig := newOtelRig(t, nil)
	next := transporttest.NewResponder(transporttest.Respond(503, "busy"), transporttest.Respond(200, "ok"))
	type seen struct {
		header, trailer http.Header
		url             url.URL
		te              []string
		req             *http.Request
	}
	var attempts []seen
	inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		r := transport.Own(req)
		if r != req {
			t.Error("the layer below the attempt trace does not own the attempt's request")
		}
		attempts = append(attempts, seen{header: r.Header.Clone(), trailer: r.Trailer.Clone(), url: *r.URL, te: slices.Clone(r.TransferEncoding), req: r})
		if len(attempts) > 1 {
			return next.RoundTrip(r) // left as the stack made it (checked below)
		}
		// What an inner layer may do to its attempt's request.
		r.Header.Set("X-Leak", "from attempt")
		r.Header["X-Multi"][0] = "changed"
		r.Header["X-Multi"] = append(r.Header["X-Multi"], "appended")
		r.Trailer["X-Trailer"][0] = "changed"
		r.Trailer.Set("X-Leak-Trailer", "from attempt")
		r.TransferEncoding[0] = "identity"
		r.URL.Path += "/changed"
		r.URL.RawQuery = "changed=1"
		return next.RoundTrip(r)
	})
	rt := transport.NewAttemptTrace(inner, rig.cfg)
	rt = newSignLayer(t, rt, mustOrigins(t, "https://api.example.test"), nil)
	rt = newAuth(t, rt, authCache(t, &seqSource{}))
	rt = newAPIKey(t, rt, transport.APIKeyConfig{Source: staticKey("key-1"), Scope: apiOrigins})
	rt = newRetry(t, rt, transport.RetryConfig{IdempotencyKeys: true, Backoff: resFixedBackoff(0)})

	const body = `{"order":1}`
	req, err := http.NewRequest(http.MethodPost, resURL+"?page=2", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/json")
	req.Header["X-Multi"] = []string{"a", "b"}
	req.Header["X-Nil"] = nil
	req.Header["X-Empty"] = []string{}
	req.Trailer = http.Header{"X-Trailer": {"t"}}
	req.TransferEncoding = []string{"chunked"}
	caller := apSnapshot(req)

	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resReadAll(t, resp); resp.StatusCode != 200 || got != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
	if n := transport.Attempts(resp); n != 2 || len(attempts) != 2 {
		t.Fatalf("Attempts = %d, inner layer saw %d attempts; want 2", n, len(attempts))
	}
	if d := caller.diff(req); d != nil {
		t.Fatalf("the caller's request changed: %v (header %v)", d, req.Header)
	}

	// Each attempt starts from the caller's request plus what the stack's
	// layers set again; nothing of the first attempt's copy leaks.
	added := []string{"Authorization", "Content-Digest", "Idempotency-Key", "Signature", "Signature-Input", "Traceparent", "X-Api-Key"}
	for i, a := range attempts {
		for k, v := range caller.header {
			if !reflect.DeepEqual(a.header[k], v) {
				t.Errorf("attempt %d: %s = %#v, want the caller's %#v", i, k, a.header[k], v)
			}
		}
		var extra []string
		for _, k := range apKeys(a.header) {
			if _, ok := caller.header[k]; !ok {
				extra = append(extra, k)
			}
		}
		if !slices.Equal(extra, added) {
			t.Errorf("attempt %d: fields beyond the caller's %v, want %v", i, extra, added)
		}
		if a.url != caller.url || !reflect.DeepEqual(a.trailer, caller.trailer) || !reflect.DeepEqual(a.te, caller.te) {
			t.Errorf("attempt %d: URL %v, Trailer %v, TransferEncoding %v; want the caller's %v, %v, %v",
				i, &a.url, a.trailer, a.te, &caller.url, caller.trailer, caller.te)
		}
		if a.req == req || a.req.URL == req.URL {
			t.Errorf("attempt %d shares the caller's request or URL", i)
		}
	}
	a0, a1 := attempts[0].header, attempts[1].header
	if k := a0.Get("Idempotency-Key"); k == "" || a1.Get("Idempotency-Key") != k {
		t.Errorf("Idempotency-Key %q then %q, want one key on both attempts", k, a1.Get("Idempotency-Key"))
	}
	if a0.Get("Traceparent") == a1.Get("Traceparent") {
		t.Errorf("both attempts carry traceparent %q", a0.Get("Traceparent"))
	}
	if a0.Get("Authorization") != "Bearer t1" || a0.Get("X-Api-Key") != "key-1" {
		t.Errorf("attempt 0: Authorization %q, X-Api-Key %q", a0.Get("Authorization"), a0.Get("X-Api-Key"))
	}

	// The second attempt's values did not go into the first attempt's
	// value storage.
	live0 := attempts[0].req.Header
	for _, k := range added {
		if !slices.Equal(live0[k], a0[k]) {
			t.Errorf("attempt 0's %s became %q after attempt 1, was %q", k, live0[k], a0[k])
		}
	}

	// No two fields of the second attempt's copy (as the stack made it)
	// share value storage: room values are capped at one element, the
	// overflow and the copied values are separate; and none shares it
	// with the caller.
	apAliasFree(t, "attempt 1", attempts[1].req.Header)
	apAliasFree(t, "attempt 1 trailer", attempts[1].req.Trailer)
	if d := caller.diff(req); d != nil {
		t.Errorf("changing the attempts' values changed the caller's request: %v (header %v)", d, req.Header)
	}
}

// Requests with what BeginAttempt does not copy into the attempt's own
// storage (URL userinfo, forms, a server-side pattern with its path
// values) still get a full copy: the attempt's copy is distinct, and
// changing it leaves the caller's request alone. A request without a
// header gets one in its attempt (inner layers add to it).
func TestAttemptCloneUnusualRequests(t *testing.T) {
	served := func(t *testing.T) *http.Request {
		var got *http.Request
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/items/{id}", func(_ http.ResponseWriter, r *http.Request) { got = r })
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "https://api.example.test/v1/items/7", nil))
		if got == nil || got.Pattern == "" || got.PathValue("id") != "7" {
			t.Fatalf("mux did not match: %+v", got)
		}
		got.RequestURI = "" // a client request now (a proxy passing it on)
		return got
	}
	for _, tc := range []struct {
		name   string
		req    func(t *testing.T) *http.Request
		change func(t *testing.T, caller, attempt *http.Request)
		check  func(t *testing.T, caller *http.Request)
	}{
		{
			name: "userinfo",
			req: func(t *testing.T) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, "https://user:secret@api.example.test/v1/items", nil)
				return r
			},
			change: func(t *testing.T, caller, attempt *http.Request) {
				if attempt.URL.User == caller.URL.User {
					t.Error("the attempt shares the caller's *url.Userinfo")
				}
				if attempt.URL.User.String() != "user:secret" {
					t.Errorf("attempt userinfo %q", attempt.URL.User.String())
				}
				*attempt.URL.User = *url.UserPassword("other", "x")
				attempt.URL.Host = "other.example.test"
			},
			check: func(t *testing.T, caller *http.Request) {
				if caller.URL.User.String() != "user:secret" || caller.URL.Host != "api.example.test" {
					t.Errorf("caller's URL now %v", caller.URL.Redacted())
				}
			},
		},
		{
			name: "form",
			req: func(t *testing.T) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, resURL, nil)
				r.Form = url.Values{"a": {"1"}}
				r.PostForm = url.Values{"p": {"1"}}
				return r
			},
			change: func(t *testing.T, caller, attempt *http.Request) {
				if attempt.Form.Get("a") != "1" || attempt.PostForm.Get("p") != "1" {
					t.Errorf("attempt forms %v %v", attempt.Form, attempt.PostForm)
				}
				attempt.Form["a"][0] = "2"
				attempt.Form.Set("b", "x")
				attempt.PostForm["p"][0] = "2"
			},
			check: func(t *testing.T, caller *http.Request) {
				if !reflect.DeepEqual(caller.Form, url.Values{"a": {"1"}}) || !reflect.DeepEqual(caller.PostForm, url.Values{"p": {"1"}}) {
					t.Errorf("caller's forms now %v %v", caller.Form, caller.PostForm)
				}
			},
		},
		{
			name: "multipart",
			req: func(t *testing.T) *http.Request {
				r, _ := http.NewRequest(http.MethodGet, resURL, nil)
				r.MultipartForm = &multipart.Form{Value: map[string][]string{"a": {"1"}}}
				return r
			},
			change: func(t *testing.T, caller, attempt *http.Request) {
				if attempt.MultipartForm == caller.MultipartForm {
					t.Error("the attempt shares the caller's MultipartForm")
				}
				attempt.MultipartForm.Value["a"][0] = "2"
			},
			check: func(t *testing.T, caller *http.Request) {
				if v := caller.MultipartForm.Value["a"]; !slices.Equal(v, []string{"1"}) {
					t.Errorf("caller's multipart value now %q", v)
				}
			},
		},
		{
			name: "nil-header",
			req: func(t *testing.T) *http.Request {
				u, _ := url.Parse(resURL)
				return &http.Request{Method: http.MethodGet, URL: u}
			},
			change: func(t *testing.T, caller, attempt *http.Request) {
				if attempt.Header == nil {
					t.Fatal("the attempt's copy of a request without a header has none either")
				}
			},
			check: func(t *testing.T, caller *http.Request) {
				if caller.Header != nil {
					t.Errorf("caller's header now %v", caller.Header)
				}
			},
		},
		{
			name: "pattern",
			req:  served,
			change: func(t *testing.T, caller, attempt *http.Request) {
				if attempt.Pattern != caller.Pattern || attempt.PathValue("id") != "7" {
					t.Errorf("attempt pattern %q, id %q", attempt.Pattern, attempt.PathValue("id"))
				}
				attempt.SetPathValue("id", "8")
				attempt.SetPathValue("extra", "x")
			},
			check: func(t *testing.T, caller *http.Request) {
				if caller.PathValue("id") != "7" || caller.PathValue("extra") != "" {
					t.Errorf("caller's path values now id=%q extra=%q", caller.PathValue("id"), caller.PathValue("extra"))
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req(t)
			caller := apSnapshot(req)
			next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
			inner := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				a := transport.Own(r)
				if a != r || a == req {
					t.Error("the attempt does not own a copy of its own")
				}
				tc.change(t, req, a)
				a.Header.Set("X-Attempt", "1")
				return next.RoundTrip(a)
			})
			rt := newRetry(t, inner, transport.RetryConfig{MaxAttempts: 1})
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resReadAll(t, resp); resp.StatusCode != 200 || got != "ok" {
				t.Fatalf("got %d %q", resp.StatusCode, got)
			}
			tc.check(t, req)
			if tc.name != "userinfo" { // its URL was checked above
				if d := caller.diff(req); d != nil {
					t.Errorf("the caller's request changed: %v", d)
				}
			}
			if req.Header.Get("X-Attempt") != "" {
				t.Error("the attempt's header is the caller's")
			}
		})
	}
}

// apCtxSeen is a next transport that records the context of the request
// it gets, and whether that context had ended during the call.
type apCtxSeen struct {
	mu        sync.Mutex
	ctx       context.Context
	errDuring error
	respond   func(*http.Request) (*http.Response, error)
}

func (s *apCtxSeen) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.ctx, s.errDuring = req.Context(), req.Context().Err()
	s.mu.Unlock()
	if s.respond != nil {
		return s.respond(req)
	}
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
}

func (s *apCtxSeen) seen() (context.Context, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx, s.errDuring
}

func apDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// The attempt timeout's context, over a transport that never waits on it,
// lives exactly as long as the attempt: not ended during the call nor when
// RoundTrip returns, context.Canceled once the response body is closed (or
// at once for a response without a body, or a failure), its deadline the
// earlier of the attempt's and the call's.
func TestAttemptDeadlineReleasedWithTheAttempt(t *testing.T) {
	for _, tc := range []struct {
		name           string
		total, attempt time.Duration
		wantDeadlineIn time.Duration
	}{
		{"attempt-only", 0, 2 * time.Second, 2 * time.Second},
		{"attempt-first", 5 * time.Second, 2 * time.Second, 2 * time.Second},
		{"total-first", time.Second, 2 * time.Second, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := &apCtxSeen{}
				rt := apStack(t, tc.total, tc.attempt, transport.RetryConfig{}, nil, next)
				start := time.Now()
				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				ctx, during := next.seen()
				if during != nil {
					t.Fatalf("attempt context ended during the call: %v", during)
				}
				if dl, ok := ctx.Deadline(); !ok || dl.Sub(start) != tc.wantDeadlineIn {
					t.Errorf("deadline %v after the start (set %v), want %v", dl.Sub(start), ok, tc.wantDeadlineIn)
				}
				if err := ctx.Err(); err != nil {
					t.Fatalf("attempt context ended when RoundTrip returned: %v", err)
				}
				if got := resReadAll(t, resp); got != "ok" {
					t.Fatalf("body %q", got)
				}
				if err := ctx.Err(); !errors.Is(err, context.Canceled) {
					t.Fatalf("after the body was closed: Err = %v, want context.Canceled", err)
				}
				if !apDone(ctx) {
					t.Fatal("after the body was closed: Done not closed")
				}
				if !errors.Is(ctx.Err(), context.Canceled) {
					t.Errorf("Err changed to %v once Done was called", ctx.Err())
				}

				// No body: released when RoundTrip returns.
				next.respond = func(req *http.Request) (*http.Response, error) {
					return &http.Response{StatusCode: 204, Body: http.NoBody, Request: req}, nil
				}
				resp, err = resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if ctx, _ := next.seen(); !errors.Is(ctx.Err(), context.Canceled) {
					t.Errorf("no body: Err = %v, want context.Canceled", ctx.Err())
				}

				// A failure: released when RoundTrip returns.
				next.respond = func(*http.Request) (*http.Response, error) { return nil, errors.New("broken") }
				if _, err = resGet(t, t.Context(), rt); err == nil {
					t.Fatal("no error")
				}
				var ate *transport.AttemptTimeoutError
				if errors.As(err, &ate) {
					t.Errorf("a plain failure reported as an attempt timeout: %v", err)
				}
				if ctx, _ := next.seen(); !errors.Is(ctx.Err(), context.Canceled) {
					t.Errorf("failure: Err = %v, want context.Canceled", ctx.Err())
				}
			})
		})
	}
}

// Over a transport that waits on the request context and never answers,
// the attempt ends at its deadline: an *AttemptTimeoutError (matching
// context.DeadlineExceeded) when the attempt timeout is the earlier
// deadline, the plain deadline error when the call's is, the caller's
// cancellation as such.
func TestAttemptDeadlineEndsAHangingAttempt(t *testing.T) {
	for _, tc := range []struct {
		name           string
		total, attempt time.Duration
		wantAttemptErr bool
		wantAfter      time.Duration
	}{
		{"attempt-only", 0, 200 * time.Millisecond, true, 200 * time.Millisecond},
		{"attempt-first", 5 * time.Second, 200 * time.Millisecond, true, 200 * time.Millisecond},
		{"total-first", 200 * time.Millisecond, 5 * time.Second, false, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := transporttest.NewResponder(transporttest.Hang())
				rt := apStack(t, tc.total, tc.attempt, transport.RetryConfig{}, nil, next)
				start := time.Now()
				_, err := resGet(t, t.Context(), rt)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want one matching context.DeadlineExceeded", err)
				}
				var ate *transport.AttemptTimeoutError
				if got := errors.As(err, &ate); got != tc.wantAttemptErr {
					t.Errorf("err = %v: *AttemptTimeoutError %v, want %v", err, got, tc.wantAttemptErr)
				} else if got && ate.Timeout != tc.attempt {
					t.Errorf("AttemptTimeoutError.Timeout = %v, want %v", ate.Timeout, tc.attempt)
				}
				if d := time.Since(start); d != tc.wantAfter {
					t.Errorf("ended after %v (virtual), want %v", d, tc.wantAfter)
				}
				if n := next.Calls(); n != 1 {
					t.Errorf("transport called %d times, want 1", n)
				}

				// The caller's cancellation is not an attempt timeout.
				ctx, cancel := context.WithCancel(t.Context())
				go func() {
					time.Sleep(50 * time.Millisecond)
					cancel()
				}()
				_, err = resGet(t, ctx, rt)
				if !errors.Is(err, context.Canceled) || errors.As(err, &ate) {
					t.Errorf("caller's cancellation: err = %v", err)
				}
			})
		})
	}
}

// A transport that makes child contexts of the attempt's (as net/http does
// per request) gets them registered with the attempt deadline's timer
// directly: creating them starts no goroutine, and closing the response
// body cancels them all.
func TestAttemptDeadlineChildContexts(t *testing.T) {
	const children = 100
	for _, tc := range apTotals {
		t.Run(tc.name, func(t *testing.T) {
			var kids []context.Context
			var cancels []context.CancelFunc
			var growth []int
			next := &apCtxSeen{respond: func(req *http.Request) (*http.Response, error) {
				ctx := req.Context()
				for range 3 {
					before := runtime.NumGoroutine()
					for range children {
						c, cancel := context.WithCancel(ctx)
						kids, cancels = append(kids, c), append(cancels, cancel)
					}
					growth = append(growth, runtime.NumGoroutine()-before)
				}
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
			}}
			rt := apStack(t, tc.total, 30*time.Second, transport.RetryConfig{}, nil, next)
			resp, err := resGet(t, t.Context(), rt)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for _, c := range cancels {
					c()
				}
			}()
			// A goroutine per child shows as growth of `children` in every
			// round; an unrelated goroutine starting now and then does not.
			if slices.Min(growth) > 0 {
				t.Errorf("goroutines grew by %v while making %d child contexts per round", growth, children)
			}
			for i, c := range kids {
				if c.Err() != nil {
					t.Fatalf("child %d ended before the body was closed: %v", i, c.Err())
				}
			}
			resReadAll(t, resp)
			for i, c := range kids {
				if !errors.Is(c.Err(), context.Canceled) || !apDone(c) {
					t.Fatalf("child %d after the body was closed: Err %v", i, c.Err())
				}
			}
		})
	}
}

// The attempt context's Err, once non-nil, never changes: a deadline that
// passed while the body was still open (nothing waiting on the context, so
// no timer) stays DeadlineExceeded after the body is closed, and a context
// released by closing the body stays Canceled after its deadline passes
// (also when nothing asked before). Done is closed whenever Err is non-nil.
func TestAttemptDeadlineErrLatched(t *testing.T) {
	for _, tc := range apTotals {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := &apCtxSeen{}
				rt := apStack(t, tc.total, time.Second, transport.RetryConfig{}, nil, next)

				resp, err := resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				ctx, _ := next.seen()
				time.Sleep(2 * time.Second) // past the attempt's deadline, body open
				if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("past the deadline: Err = %v, want context.DeadlineExceeded", err)
				}
				resReadAll(t, resp)
				if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("after the body was closed: Err = %v, want the first value, context.DeadlineExceeded", err)
				}
				if !apDone(ctx) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
					t.Errorf("Done closed %v, Err %v", apDone(ctx), ctx.Err())
				}

				resp, err = resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				ctx, _ = next.seen()
				resReadAll(t, resp)
				if err := ctx.Err(); !errors.Is(err, context.Canceled) {
					t.Fatalf("after the body was closed: Err = %v, want context.Canceled", err)
				}
				time.Sleep(2 * time.Second) // past the deadline
				if err := ctx.Err(); !errors.Is(err, context.Canceled) {
					t.Errorf("past the deadline: Err = %v, want the first value, context.Canceled", err)
				}
				if !apDone(ctx) || !errors.Is(ctx.Err(), context.Canceled) {
					t.Errorf("Done closed %v, Err %v", apDone(ctx), ctx.Err())
				}

				// Released before its deadline, first asked after it: the
				// release came first (as with a context.WithDeadline
				// cancelled in time).
				resp, err = resGet(t, t.Context(), rt)
				if err != nil {
					t.Fatal(err)
				}
				ctx, _ = next.seen()
				resReadAll(t, resp)
				time.Sleep(2 * time.Second)
				if err := ctx.Err(); !errors.Is(err, context.Canceled) {
					t.Errorf("released, then past the deadline: Err = %v, want context.Canceled", err)
				}
			})
		})
	}
}

// The call trace's duration metric, with the inventory between it and the
// transport: one measurement per call, the call's real duration, whether
// the inventory has the default clock (it then shares the call's clock
// readings) or its own (InventoryConfig.Now, which must then not leak into
// the metric, nor the call's readings into the inventory).
func TestCallDurationWithInventoryClock(t *testing.T) {
	const calls, took = 3, 250 * time.Millisecond
	for _, tc := range []struct {
		name   string
		custom bool
	}{{"default-clock", false}, {"custom-clock", true}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rig := newOtelRig(t, nil)
				cfg := transport.InventoryConfig{}
				const step = 7 * time.Millisecond
				if tc.custom {
					var mu sync.Mutex
					fake := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
					cfg.Now = func() time.Time {
						mu.Lock()
						defer mu.Unlock()
						fake = fake.Add(step)
						return fake
					}
				}
				inv := newInventory(t, cfg)
				slow := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					time.Sleep(took)
					return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
				})
				rt := transport.NewCallTrace(inventoryLayer(t, slow, inv), rig.cfg)
				for range calls {
					resp, err := resGet(t, t.Context(), rt)
					if err != nil {
						t.Fatal(err)
					}
					resReadAll(t, resp)
				}
				h := findHistogram(t, rig.metrics(t), transport.MetricRequestDuration)
				if len(h.DataPoints) != 1 {
					t.Fatalf("%d duration data points, want 1", len(h.DataPoints))
				}
				p := h.DataPoints[0]
				if p.Count != calls {
					t.Errorf("%d duration measurements, want %d (one per call)", p.Count, calls)
				}
				if lo, ok := p.Min.Value(); !ok || lo < 0 {
					t.Errorf("negative duration: min %v", lo)
				}
				if want := float64(calls) * took.Seconds(); p.Sum != want {
					t.Errorf("duration sum %v s, want %v s (the calls' virtual duration)", p.Sum, want)
				}
				e, ok := findEntry(inv.Snapshot(), "GET", "https://api.example.test:443", "/v1/items")
				if !ok {
					t.Fatalf("no inventory entry in %+v", inv.Snapshot().Entries)
				}
				wantMs := float64(took.Milliseconds())
				if tc.custom {
					wantMs = float64(step.Milliseconds()) // two readings of the inventory's own clock
				}
				if e.Latency.Count != calls || e.Latency.MinMs != wantMs || e.Latency.MaxMs != wantMs {
					t.Errorf("inventory latency %+v, want %d calls of %v ms", e.Latency, calls, wantMs)
				}
			})
		})
	}
}
