package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPrivateKeyJWTAssertionHasNotBefore: the private_key_jwt client
// assertion carried iat and exp but no nbf, which RFC 7523 §3 allows
// (MAY) and which Microsoft Entra ID's certificate credentials list among
// the claims to send ("using the current time is appropriate") and MSAL
// sets: a server that requires it refused every token request with
// invalid_client. The assertion read as the token endpoint reads it now
// carries nbf equal to iat (not valid before it was issued), exp still
// iat plus the lifetime.
func TestPrivateKeyJWTAssertionHasNotBefore(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at", "") })
	cc, err := NewClientCredentials(as.config(PrivateKeyJWT(PrivateKeyJWTConfig{Signer: key})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	as.mu.Lock()
	forms := as.forms
	as.mu.Unlock()
	if len(forms) != 1 {
		t.Fatalf("%d token requests, want 1", len(forms))
	}
	parts := strings.Split(forms[0].Get("client_assertion"), ".")
	if len(parts) != 3 {
		t.Fatalf("assertion has %d parts", len(parts))
	}
	if !verifyJWS(t, "ES256", key.Public(), parts[0]+"."+parts[1], b64seg(t, parts[2])) {
		t.Fatal("signature does not verify")
	}
	var cl map[string]any
	if err := json.Unmarshal(b64seg(t, parts[1]), &cl); err != nil {
		t.Fatal(err)
	}
	nbf, ok := cl["nbf"].(float64)
	if !ok {
		t.Fatalf("claims %v: no numeric nbf", cl)
	}
	iat, _ := cl["iat"].(float64)
	exp, _ := cl["exp"].(float64)
	if nbf != iat || exp-iat != DefaultAssertionLifetime.Seconds() {
		t.Errorf("nbf %v, iat %v, exp %v: want nbf = iat, exp = iat + %v", nbf, iat, exp, DefaultAssertionLifetime)
	}
}
