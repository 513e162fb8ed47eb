package signer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The outer Middleware's verdict lives in the request's context, which a
// handler hands on to every request it builds with r.Context(): a batch
// endpoint fanning out sub-requests, or an internal re-dispatch through the
// same mux. Such a request, sent through a Middleware of the same Verifier,
// was passed on unverified: unsigned, another method and path, anything.
// It must be verified as the request it is.
func TestMiddlewareSubRequestWithOuterContextIsVerified(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	var refused []error
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			refused = append(refused, err)
			DefaultErrorHandler(w, r, err)
		}})
	innerCalls := 0
	inner := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		innerCalls++
		w.WriteHeader(http.StatusNoContent)
	}))

	for _, tc := range []struct {
		name    string
		build   func(r *http.Request) *http.Request
		wantErr error
	}{
		{"unsigned, another method and path", func(r *http.Request) *http.Request {
			sub, err := http.NewRequestWithContext(r.Context(), "DELETE", "https://api.example.com/v1/admin/users", nil)
			if err != nil {
				t.Fatal(err)
			}
			return sub
		}, ErrMissingSignature},
		{"the outer's signature copied, another path", func(r *http.Request) *http.Request {
			sub, err := http.NewRequestWithContext(r.Context(), r.Method, "https://api.example.com/v1/admin/users", nil)
			if err != nil {
				t.Fatal(err)
			}
			sub.TLS = r.TLS
			sub.Header.Set("Signature-Input", r.Header.Get("Signature-Input"))
			sub.Header.Set("Signature", r.Header.Get("Signature"))
			return sub
		}, ErrInvalidSignature},
		{"the outer's header map reused, another path", func(r *http.Request) *http.Request {
			sub, err := http.NewRequestWithContext(r.Context(), r.Method, "https://api.example.com/v1/admin/users", nil)
			if err != nil {
				t.Fatal(err)
			}
			sub.TLS = r.TLS
			sub.Header = r.Header
			return sub
		}, ErrInvalidSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused, innerCalls = nil, 0
			var subCode int
			outer := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				inner.ServeHTTP(rec, tc.build(r))
				subCode = rec.Code
				w.WriteHeader(http.StatusOK)
			}))
			rec := httptest.NewRecorder()
			outer.ServeHTTP(rec, serverView(t, signed(t, s, "GET", "https://api.example.com/v1/x", "", time.Now())))
			if rec.Code != http.StatusOK {
				t.Fatalf("outer request: status %d, refusals %v; want 200", rec.Code, refused)
			}
			if subCode != http.StatusUnauthorized || innerCalls != 0 || len(refused) != 1 || !errors.Is(refused[0], tc.wantErr) {
				t.Fatalf("sub-request: status %d, inner handler calls %d, refusals %v; want 401 %v and no call", subCode, innerCalls, refused, tc.wantErr)
			}
		})
	}
}

// The double wrap still passes once the inner pass verifies the request
// again: through a router's r.WithContext, an http.MaxBytesHandler (which
// replaces the body the outer pass buffered), and with two signatures (a
// key rotation), whose nonces the outer pass both claimed.
func TestMiddlewareTwiceSameVerifierThroughRouters(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	var refused []error
	v := newTestVerifier(t, VerifierOptions{Keys: ks,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			refused = append(refused, err)
			DefaultErrorHandler(w, r, err)
		}})
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if b, _ := io.ReadAll(r.Body); string(b) != `{"a":1}` {
			t.Errorf("handler read body %q", b)
		}
		if res, ok := ResultFromContext(r.Context()); !ok || res.Label != "sig1" {
			t.Errorf("ResultFromContext = %+v, %v", res, ok)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	type key struct{}
	router := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, 1)))
		})
	}
	srv := v.Middleware(router(http.MaxBytesHandler(router(v.Middleware(h)), 1<<20)))

	req, err := http.NewRequest("POST", "https://api.example.com/v1/x", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, s := range []*Signer{mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1"}), mustSigner(t, Options{Keys: StaticKey(kb), Label: "sig2"})} {
		if err := s.Sign(context.Background(), req, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, serverView(t, req))
	if rec.Code != http.StatusNoContent || calls != 1 {
		t.Fatalf("twice-wrapped through routers: status %d, calls %d, refusals %v; want 204 and 1 call", rec.Code, calls, refused)
	}
}

// Backs docs/signing.md: the inner wrap verifies the request it is given,
// so a handler between the wraps that changes a covered component
// (http.StripPrefix, @path) makes it refuse the request, as it would on
// its own; the outer wrap accepted it, and its nonce is not claimed twice
// (the refusal is the signature's, not a replay).
func TestMiddlewareTwiceStripPrefixBetweenRefused(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	var refused []error
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			refused = append(refused, err)
			DefaultErrorHandler(w, r, err)
		}})
	calls := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ })
	rec := httptest.NewRecorder()
	v.Middleware(http.StripPrefix("/api", v.Middleware(h))).ServeHTTP(rec,
		serverView(t, signed(t, s, "GET", "https://api.example.com/api/x", "", time.Now())))
	if rec.Code != http.StatusUnauthorized || calls != 0 || len(refused) != 1 || !errors.Is(refused[0], ErrInvalidSignature) {
		t.Fatalf("status %d, calls %d, refusals %v; want 401 ErrInvalidSignature", rec.Code, calls, refused)
	}
}
