package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestPrivateKeyJWTAcceptedByServerClockBehind: the private_key_jwt
// assertion carried iat and nbf equal to the moment of the request on our
// clock: a token endpoint whose clock runs a few seconds behind ours (no
// two clocks agree; NTP keeps them within a second or so, a VM resumed
// from a pause or a container without time sync drifts further) saw an
// assertion not valid yet, or issued in the future, and refused every
// token request with invalid_client where it allows no leeway (a server
// on golang-jwt checks nbf with none by default; Google's token endpoint
// refuses an iat in the future, which is why x/oauth2's jws sets iat 10 s
// back). iat and nbf are now 10 s before the request (assertionBackdate),
// exp still iat plus the lifetime. The server here checks
// exp, nbf and iat with golang-jwt v5 and no leeway, on a clock 5 s
// behind ours.
func TestPrivateKeyJWTAcceptedByServerClockBehind(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const behind = 5 * time.Second
	var claims jwt.MapClaims
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		claims = jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(f.Get("client_assertion"), claims,
			func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(func() time.Time { return time.Now().Add(-behind) }))
		if err != nil {
			writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": err.Error()})
			return
		}
		issue(w, "at", "")
	})
	cc, err := NewClientCredentials(as.config(PrivateKeyJWT(PrivateKeyJWTConfig{Signer: key})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatalf("a token endpoint %v behind refused the assertion: %v", behind, err)
	}
	iat, _ := claims["iat"].(float64)
	nbf, _ := claims["nbf"].(float64)
	exp, _ := claims["exp"].(float64)
	if nbf != iat || exp-iat != DefaultAssertionLifetime.Seconds() {
		t.Errorf("iat %v nbf %v exp %v: want nbf = iat, exp = iat + %v", iat, nbf, exp, DefaultAssertionLifetime)
	}
}
