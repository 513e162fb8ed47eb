package tokens

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The client id and secret hold every character RFC 6749 §2.3.1's form
// encoding must escape: ':', '+', '%', space, '&', '=', '/', non-ASCII.
const wireID, wireSecret = "app:1+2 %é", "s:+% /&=ü€"

// TestClientSecretBasicWireEncoding decodes the Authorization header as a
// server does by RFC 6749 §2.3.1: base64, split at the first ':', then
// application/x-www-form-urlencoded decoding of each half.
func TestClientSecretBasicWireEncoding(t *testing.T) {
	var hdr string
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		hdr = r.Header.Get("Authorization")
		if f.Has("client_secret") || r.URL.RawQuery != "" {
			t.Errorf("secret elsewhere too: form %v query %q", f, r.URL.RawQuery)
		}
		issue(w, "at", "")
	})
	cfg := as.config(ClientSecretBasic(StaticSecret([]byte(wireSecret))))
	cfg.ClientID = wireID
	cc, err := NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	b64, ok := strings.CutPrefix(hdr, "Basic ")
	if !ok {
		t.Fatalf("Authorization %q", hdr)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	encID, encSecret, _ := strings.Cut(string(raw), ":")
	if strings.ContainsAny(encID+encSecret, ": /&=") || strings.ContainsFunc(encID+encSecret, func(r rune) bool { return r > 0x7e }) {
		t.Errorf("not form-encoded before base64: %q", raw)
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	if err1 != nil || err2 != nil || id != wireID || secret != wireSecret {
		t.Errorf("decoded %q %q (%v %v)", id, secret, err1, err2)
	}
}

// TestClientSecretPostWire: id and secret in the form body, never the
// query, never a Basic header; the token URL's own query is kept.
func TestClientSecretPostWire(t *testing.T) {
	var query, ctype string
	var basic bool
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		query, ctype = r.URL.RawQuery, r.Header.Get("Content-Type")
		_, _, basic = r.BasicAuth()
		issue(w, "at", "")
	})
	cfg := as.config(ClientSecretPost(StaticSecret([]byte(wireSecret))))
	cfg.ClientID = wireID
	cfg.TokenURL += "?tenant=a%2Fb&x=1"
	cc, err := NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := as.lastForm()
	if f.Get("client_id") != wireID || f.Get("client_secret") != wireSecret || basic {
		t.Errorf("form %v basic %v", f, basic)
	}
	if query != "tenant=a%2Fb&x=1" || ctype != "application/x-www-form-urlencoded" {
		t.Errorf("query %q content type %q", query, ctype)
	}
}

func b64seg(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyJWS checks the signature with crypto/ directly, not golang-jwt.
func verifyJWS(t *testing.T, alg string, pub crypto.PublicKey, signed string, sig []byte) bool {
	h := sha256.Sum256([]byte(signed))
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
	case "PS256":
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig, nil) == nil
	case "ES256":
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), h[:], r, s)
	case "EdDSA":
		return ed25519.Verify(pub.(ed25519.PublicKey), []byte(signed), sig)
	}
	return false
}

// TestPrivateKeyJWTWire: 50 requests per key type; each assertion is
// checked by hand (RFC 7523 §3).
func TestPrivateKeyJWTWire(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name, alg, want, aud, kid string
		key                       crypto.Signer
	}{
		{"rsa", "", "RS256", "", "k1", rsaKey},
		{"pss", "PS256", "PS256", "https://issuer.example", "", rsaKey},
		{"ec", "", "ES256", "", "k2", ecKey},
		{"ed", "", "EdDSA", "https://issuer.example", "k3", edKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at", "") })
			cfg := as.config(PrivateKeyJWT(PrivateKeyJWTConfig{Signer: tc.key, KeyID: tc.kid, Algorithm: tc.alg, Audience: tc.aud}))
			cfg.TokenURL += "?tenant=t1"
			cc, err := NewClientCredentials(cfg)
			if err != nil {
				t.Fatal(err)
			}
			const n = 50
			for range n {
				if _, err := cc.Token(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			wantAud := tc.aud
			if wantAud == "" {
				wantAud = cfg.TokenURL
			}
			jtis := map[string]bool{}
			as.mu.Lock()
			forms, reqs := as.forms, as.reqs
			as.mu.Unlock()
			for i, f := range forms {
				if reqs[i].URL.RawQuery != "tenant=t1" {
					t.Errorf("query %q", reqs[i].URL.RawQuery)
				}
				if f.Get("client_id") != "client-1" || f.Get("client_assertion_type") != clientAssertionType || f.Has("client_secret") {
					t.Fatalf("form %v", f)
				}
				parts := strings.Split(f.Get("client_assertion"), ".")
				if len(parts) != 3 {
					t.Fatalf("assertion has %d parts", len(parts))
				}
				var hdr map[string]any
				var cl map[string]any
				if json.Unmarshal(b64seg(t, parts[0]), &hdr) != nil || json.Unmarshal(b64seg(t, parts[1]), &cl) != nil {
					t.Fatal("not JSON")
				}
				if hdr["alg"] != tc.want || (tc.kid != "" && hdr["kid"] != tc.kid) || (tc.kid == "" && hdr["kid"] != nil) {
					t.Errorf("header %v", hdr)
				}
				if !verifyJWS(t, tc.want, tc.key.Public(), parts[0]+"."+parts[1], b64seg(t, parts[2])) {
					t.Errorf("signature does not verify")
				}
				now := float64(time.Now().Unix())
				iat, _ := cl["iat"].(float64)
				exp, _ := cl["exp"].(float64)
				if cl["iss"] != "client-1" || cl["sub"] != "client-1" || cl["aud"] != wantAud ||
					iat < now-30 || iat > now+1 || exp-iat != 60 {
					t.Errorf("claims %v", cl)
				}
				jti, _ := cl["jti"].(string)
				jtis[jti] = true
			}
			if len(forms) != n || len(jtis) != n {
				t.Errorf("%d requests, %d distinct jti", len(forms), len(jtis))
			}
		})
	}
}
