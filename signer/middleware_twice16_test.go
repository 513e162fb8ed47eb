package signer

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// Middleware applied twice with one Verifier (a router-level and a
// handler-level wrap) must not refuse the request as a replay of itself:
// the inner pass finds the outer one's verdict in the context and passes
// the request through, and the handler sees what was verified.
func TestMiddlewareTwiceSameVerifier(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	var refused []error
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			refused = append(refused, err)
			DefaultErrorHandler(w, r, err)
		}})
	calls := 0
	var got *Result
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		got, _ = ResultFromContext(r.Context())
		if b, _ := io.ReadAll(r.Body); r.Method == "POST" && string(b) != `{"a":1}` {
			t.Errorf("handler read body %q", b)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := v.Middleware(v.Middleware(h))

	orig := signed(t, s, "POST", "https://api.example.com/v1/x", `{"a":1}`, time.Now())
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, serverView(t, orig))
	if rec.Code != http.StatusNoContent || calls != 1 {
		t.Fatalf("twice-wrapped: status %d, handler calls %d, refusals %v; want 204 and 1 call", rec.Code, calls, refused)
	}
	if got == nil || got.KeyID != "k" || !slices.ContainsFunc(got.Components, func(c Component) bool { return c.Name() == "content-digest" }) {
		t.Errorf("ResultFromContext: %+v", got)
	}

	// A replay of it is still refused, by the outer pass.
	refused = nil
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, serverView(t, orig))
	if rec.Code != http.StatusUnauthorized || calls != 1 || len(refused) != 1 || !errors.Is(refused[0], ErrReplay) {
		t.Fatalf("replay: status %d, calls %d, refusals %v; want 401 ErrReplay", rec.Code, calls, refused)
	}

	// Another request through the same handler is verified afresh.
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, serverView(t, signed(t, s, "GET", "https://api.example.com/v1/x", "", time.Now())))
	if rec.Code != http.StatusNoContent || calls != 2 {
		t.Fatalf("second request: %d, calls %d", rec.Code, calls)
	}
}

// One Verifier's verdict does not stand for another's policy: an inner
// Middleware of a different Verifier (here requiring a tag the request
// lacks) verifies the request itself and refuses it, even though the outer
// one accepted it; and an outer Verifier's verdict found past another's
// (A around B around A) still lets the innermost A pass.
func TestMiddlewareTwiceOtherVerifierStillVerifies(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	var refused []error
	onErr := func(w http.ResponseWriter, r *http.Request, err error) {
		refused = append(refused, err)
		DefaultErrorHandler(w, r, err)
	}
	a := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), ErrorHandler: onErr})
	strict := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Tag: "billing-api", ErrorHandler: onErr})
	b := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), ErrorHandler: onErr})
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusNoContent)
	})

	rec := httptest.NewRecorder()
	a.Middleware(strict.Middleware(h)).ServeHTTP(rec, serverView(t, signed(t, s, "GET", "https://api.example.com/v1/x", "", time.Now())))
	if rec.Code != http.StatusUnauthorized || calls != 0 || len(refused) != 1 || !errors.Is(refused[0], ErrMissingParameter) {
		t.Fatalf("outer accepted, inner stricter: status %d, calls %d, refusals %v; want 401 ErrMissingParameter (no tag)", rec.Code, calls, refused)
	}

	refused = nil
	rec = httptest.NewRecorder()
	a.Middleware(b.Middleware(a.Middleware(h))).ServeHTTP(rec, serverView(t, signed(t, s, "GET", "https://api.example.com/v1/x", "", time.Now())))
	if rec.Code != http.StatusNoContent || calls != 1 {
		t.Fatalf("A(B(A(h))): status %d, calls %d, refusals %v; want 204 and 1 call", rec.Code, calls, refused)
	}
}
