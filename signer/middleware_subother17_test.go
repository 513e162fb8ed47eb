package signer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestMiddlewareSubRequestOfOtherMessageNotUnclaimed: the outer pass
// claims the nonce of another signature that passes the policy but not its
// MAC on the outer request (a signature of another message, carried
// along); a request a handler builds in its context, to which that
// signature does apply, is that other message: its nonce claimed by the
// outer pass, it is a replay, not a copy of the outer request whose
// claim stands for it. Otherwise a batch endpoint handing its headers to
// each sub-request would execute the other message once per sub-request.
func TestMiddlewareSubRequestOfOtherMessageNotUnclaimed(t *testing.T) {
	low, admin := testKey(t, "low"), testKey(t, "admin")
	keys, err := NewKeySet(low, admin)
	if err != nil {
		t.Fatal(err)
	}
	// A message signed with the admin key, captured and never delivered.
	other, err := http.NewRequest("DELETE", "https://api.example.com/admin/users/9", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustSigner(t, Options{Keys: StaticKey(admin), Label: "adm"}).Sign(context.Background(), other, t0); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("GET", "https://api.example.com/batch?n=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustSigner(t, Options{Keys: StaticKey(low), Label: "sig1"}).Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	req.Header.Add("Signature-Input", other.Header.Get("Signature-Input"))
	req.Header.Add("Signature", other.Header.Get("Signature"))

	store := NewMemoryNonceStore(0)
	var refused []error
	v := newTestVerifier(t, VerifierOptions{Keys: keys, Nonces: store, Clock: func() time.Time { return t0 },
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			refused = append(refused, err)
			DefaultErrorHandler(w, r, err)
		}})
	deletes := 0
	mux := http.NewServeMux()
	mux.Handle("DELETE /admin/users/{id}", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if res, _ := ResultFromContext(r.Context()); res != nil && res.KeyID == "admin" {
			deletes++
		}
	})))
	batch := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Each sub-request inherits the batch request's header.
		for range 2 {
			sub, err := http.NewRequestWithContext(r.Context(), "DELETE", "https://api.example.com/admin/users/9", nil)
			if err != nil {
				t.Fatal(err)
			}
			sub.Header = r.Header.Clone()
			sub.TLS = r.TLS
			mux.ServeHTTP(httptest.NewRecorder(), sub)
		}
	}))
	batch.ServeHTTP(httptest.NewRecorder(), serverView(t, req))
	if deletes > 1 {
		t.Errorf("the other message was executed %d times through sub-requests (refusals %v); want at most once", deletes, refused)
	}
	if _, err := v.Verify(serverView(t, other), t0); !errors.Is(err, ErrReplay) {
		t.Errorf("the other message itself: %v, want ErrReplay", err)
	}
}
