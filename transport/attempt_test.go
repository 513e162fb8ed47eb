package transport_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func newReq(t *testing.T, method, body string) *http.Request {
	t.Helper()
	var req *http.Request
	var err error
	if body == "" {
		req, err = http.NewRequest(method, "https://api.example.test/v1?x=1", nil)
	} else {
		req, err = http.NewRequest(method, "https://api.example.test/v1?x=1", strings.NewReader(body))
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Caller", "1")
	return req
}

func TestBeginAttemptClonesOnce(t *testing.T) {
	req := newReq(t, http.MethodPut, "payload")
	r := transport.BeginAttempt(req, 2)
	if r == req {
		t.Fatal("BeginAttempt returned the caller's request")
	}
	r.Header.Set("X-Layer", "1")
	r.URL.RawQuery = "changed=1"
	if req.Header.Get("X-Layer") != "" || req.URL.RawQuery != "x=1" {
		t.Fatalf("changing the attempt's clone changed the caller's request: %v %q", req.Header, req.URL.RawQuery)
	}
	if r.Body != req.Body {
		t.Fatal("the clone does not share the caller's body")
	}
	a, ok := transport.AttemptFrom(r.Context())
	if !ok || a.Number != 2 {
		t.Fatalf("AttemptFrom = %+v, %v; want attempt 2", a, ok)
	}
	if _, ok := transport.AttemptFrom(req.Context()); ok {
		t.Fatal("the caller's context gained an attempt")
	}
}

func TestAttemptFromOutsideAttempt(t *testing.T) {
	if a, ok := transport.AttemptFrom(context.Background()); ok || a != nil {
		t.Fatalf("AttemptFrom(Background) = %v, %v", a, ok)
	}
}

func TestAttemptContextKeepsCallerValues(t *testing.T) {
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	r := transport.BeginAttempt(newReq(t, http.MethodGet, "").WithContext(ctx), 0)
	if r.Context().Value(key{}) != "v" {
		t.Fatal("caller's context value lost in the attempt context")
	}
	cancel()
	select {
	case <-r.Context().Done():
	default:
		t.Fatal("caller's cancellation does not reach the attempt context")
	}
}

func TestNestedAttemptNumber(t *testing.T) {
	first := transport.BeginAttempt(newReq(t, http.MethodGet, ""), 0)
	second := transport.BeginAttempt(first, 1)
	if a, _ := transport.AttemptFrom(second.Context()); a.Number != 1 {
		t.Fatalf("inner attempt number = %d, want 1", a.Number)
	}
	if a, _ := transport.AttemptFrom(first.Context()); a.Number != 0 {
		t.Fatalf("outer attempt number = %d, want 0", a.Number)
	}
	if transport.Own(second) != second {
		t.Fatal("the newest attempt's clone is not owned")
	}
	second.Header.Set("X-Second", "1")
	if first.Header.Get("X-Second") != "" {
		t.Fatal("the attempts share a header map")
	}
}

func TestOwnInsideAttemptIsFree(t *testing.T) {
	r := transport.BeginAttempt(newReq(t, http.MethodGet, ""), 0)
	if got := transport.Own(r); got != r {
		t.Fatal("Own cloned the attempt's own request")
	}
	// Twice in a row (two layers of one attempt): still the same request.
	if transport.Own(transport.Own(r)) != r {
		t.Fatal("second Own cloned")
	}
}

func TestOwnOutsideAttemptClones(t *testing.T) {
	req := newReq(t, http.MethodPost, "payload")
	got := transport.Own(req)
	if got == req {
		t.Fatal("Own returned the caller's request outside an attempt")
	}
	got.Header.Set("Authorization", "Bearer x")
	if req.Header.Get("Authorization") != "" {
		t.Fatal("the clone shares the caller's header map")
	}
	if got.Body != req.Body || got.Context() != req.Context() {
		t.Fatal("the clone must share body and context")
	}
}

// A request that shares the attempt's context but is not the attempt's
// request (a shallow copy made with req.WithContext, say) is not owned.
func TestOwnShallowCopyInsideAttemptClones(t *testing.T) {
	r := transport.BeginAttempt(newReq(t, http.MethodGet, ""), 0)
	cp := r.WithContext(r.Context()) // shares r's header map
	got := transport.Own(cp)
	if got == cp {
		t.Fatal("Own returned a shallow copy that shares the owned request's headers")
	}
	got.Header.Set("X-Copy", "1")
	if r.Header.Get("X-Copy") != "" {
		t.Fatal("modifying Own's result changed the attempt's request")
	}
}

func TestWithContextKeepsOwnership(t *testing.T) {
	type key struct{}
	r := transport.BeginAttempt(newReq(t, http.MethodGet, ""), 0)
	src := r.WithContext(r.Context()) // what an outer layer would still hold
	r2 := transport.WithContext(r, context.WithValue(r.Context(), key{}, "v"))
	if r2 != r {
		t.Fatal("WithContext copied the attempt's own request instead of replacing its context in place")
	}
	if transport.Own(r2) != r2 {
		t.Fatal("ownership lost across WithContext")
	}
	if src.Context().Value(key{}) != nil {
		t.Fatal("a copy made before WithContext saw the new context")
	}
	if r2.Context().Value(key{}) != "v" {
		t.Fatal("new context not used")
	}
	if a, ok := transport.AttemptFrom(r2.Context()); !ok || a.Number != 0 {
		t.Fatal("attempt lost in the derived context")
	}
}

func TestWithContextOutsideAttempt(t *testing.T) {
	req := newReq(t, http.MethodGet, "")
	r := transport.WithContext(req, context.Background())
	if transport.Own(r) == r {
		t.Fatal("a request outside any attempt became owned")
	}
}

// A context that does not descend from the attempt's does not carry the
// ownership over: the inner layers then clone before changing anything.
func TestWithContextUnrelatedContext(t *testing.T) {
	r := transport.BeginAttempt(newReq(t, http.MethodGet, ""), 0)
	r2 := transport.WithContext(r, context.Background())
	if transport.Own(r2) == r2 {
		t.Fatal("a request whose context left the attempt is still owned")
	}
	// A request outside any attempt or call is copied, never changed.
	plain := newReq(t, http.MethodGet, "")
	if transport.WithContext(plain, context.Background()) == plain {
		t.Fatal("WithContext changed a request it does not own")
	}
}

func TestNewAttemptScopeHandsOneOwnedClone(t *testing.T) {
	var got *http.Request
	scope := transport.NewAttemptScope(transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return transporttest.NewResponder().RoundTrip(r)
	}))
	req := newReq(t, http.MethodGet, "")
	resp, err := scope.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got == req {
		t.Fatal("next got the caller's request")
	}
	if transport.Own(got) != got {
		t.Fatal("next's request is not owned by the attempt")
	}
	if a, ok := transport.AttemptFrom(got.Context()); !ok || a.Number != 0 {
		t.Fatalf("AttemptFrom = %+v, %v; want attempt 0", a, ok)
	}
}

func TestNewAttemptScopeNilNextIsDefaultTransport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // http.DefaultTransport fails at once; nothing is dialled
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = transport.NewAttemptScope(nil).RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled from http.DefaultTransport", err)
	}
}

// ownLayer is a per-attempt layer written the documented way: it asks Own
// for a request it may modify.
func ownLayer(next http.RoundTripper) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		r := transport.Own(req)
		r.Header.Set("X-Own", "1")
		return next.RoundTrip(r)
	})
}

func TestConformanceAttemptScope(t *testing.T) {
	transporttest.Conformance(t, transport.NewAttemptScope)
}

func TestConformanceOwnLayerStandalone(t *testing.T) {
	transporttest.Conformance(t, ownLayer)
}

func TestConformanceOwnLayersInsideScope(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return transport.NewAttemptScope(ownLayer(ownLayer(next)))
	})
}

// Inside a scope the layers modify the one clone in place: the second
// layer sees the first one's header and next gets that same request.
func TestOwnLayersShareTheAttemptClone(t *testing.T) {
	var seen []*http.Request
	spy := func(next http.RoundTripper) http.RoundTripper {
		return transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			seen = append(seen, r)
			return next.RoundTrip(r)
		})
	}
	next := transporttest.NewResponder()
	rt := transport.NewAttemptScope(spy(ownLayer(spy(next))))
	resp, err := rt.RoundTrip(newReq(t, http.MethodGet, ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(seen) != 2 || seen[0] != seen[1] {
		t.Fatalf("layers saw %d requests, distinct=%v; want one shared clone", len(seen), len(seen) == 2 && seen[0] != seen[1])
	}
	if next.Requests()[0].Request != seen[0] || next.Requests()[0].Header.Get("X-Own") != "1" {
		t.Fatal("next did not get the shared clone with the layer's header")
	}
}

func TestAttemptsAreIndependentUnderConcurrency(t *testing.T) {
	req := newReq(t, http.MethodGet, "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				r := transport.BeginAttempt(req, i)
				o := transport.Own(r)
				if o != r {
					t.Error("attempt clone not owned")
					return
				}
				o.Header.Set("X-N", string(rune('a'+i)))
				if a, _ := transport.AttemptFrom(o.Context()); a.Number != i {
					t.Errorf("attempt number %d, want %d", a.Number, i)
				}
			}
		})
	}
	wg.Wait()
	if req.Header.Get("X-N") != "" {
		t.Fatal("caller's request modified")
	}
}
