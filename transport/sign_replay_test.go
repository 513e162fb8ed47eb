package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestSignAgainAfterAuthReplay: the auth layer's single replay after a 401
// goes through the sign layer a second time within one attempt; it must get
// a new signature (new nonce), not a second sig1 beside the old one.
func TestSignAgainAfterAuthReplay(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	var n atomic.Int32
	src, err := tokens.NewCache(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		return tokens.NewToken(fmt.Sprintf("t%d", n.Add(1)), "Bearer", time.Now().Add(time.Hour)), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	next := transporttest.NewResponder(
		transporttest.Respond(http.StatusUnauthorized, "", "WWW-Authenticate", `Bearer error="invalid_token"`),
		transporttest.Respond(http.StatusOK, "ok"),
	)
	auth, err := transport.NewAuth(newSignLayer(t, next, scope, nil), transport.AuthConfig{Source: src, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	rt := transport.NewAttemptScope(auth)
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 after the replay", resp.StatusCode)
	}
	got := next.Requests()
	if len(got) != 2 {
		t.Fatalf("next got %d requests, want 2", len(got))
	}
	a, b := signatureInput(t, got[0].Header), signatureInput(t, got[1].Header)
	if a.Nonce == "" || a.Nonce == b.Nonce {
		t.Fatalf("replay reused nonce %q", a.Nonce)
	}
	if got[1].Header.Get("Authorization") != "Bearer t2" {
		t.Errorf("replay carried %q, want the new token", got[1].Header.Get("Authorization"))
	}
}

// TestSignCallersOwnLabelStillCollides: a caller who set a sig1 signature
// themselves gets the signer's collision error; the layer never silently
// replaces what it did not add.
func TestSignCallersOwnLabelStillCollides(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	next := transporttest.NewResponder(transporttest.Respond(http.StatusOK, "ok"))
	rt := transport.NewAttemptScope(newSignLayer(t, next, scope, nil))
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
	req.Header.Set("Signature-Input", `sig1=("@method");created=1;keyid="theirs"`)
	req.Header.Set("Signature", `sig1=:AAAA:`)
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, signer.ErrLabelInUse) {
		t.Fatalf("err = %v, want ErrLabelInUse", err)
	}
	if next.Calls() != 0 {
		t.Error("request was sent")
	}
}
