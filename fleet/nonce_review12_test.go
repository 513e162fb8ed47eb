package fleet

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

// TestNonceTTLBoundedForFarFutureOtherSignature: a request through a
// verifier on a NonceStore, signed twice, its second signature's created
// a year ahead. Its nonce key was set in Redis with a year's TTL, so a key
// holder could grow Redis without bound (every such request one more key
// for a year). No key may live longer than two verifier windows and the
// clock margin.
func TestNonceTTLBoundedForFarFutureOtherSignature(t *testing.T) {
	srv := redistest.Start(t)
	ka, err := signer.NewHMACKey("a", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := signer.NewHMACKey("b", append([]byte("b-"), testSecret...))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := signer.NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewNonceStore(srv.Client(), NonceOptions{Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: ks, Nonces: st, ErrorHandler: ErrorHandler})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
	defer hs.Close()
	sa, err := signer.New(signer.Options{Keys: signer.StaticKey(ka), Label: "sig1"})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := signer.New(signer.Options{Keys: signer.StaticKey(kb), Label: "sig2"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("GET", hs.URL+"/v1/orders/7", nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := sa.Sign(context.Background(), req, now); err != nil {
		t.Fatal(err)
	}
	if err := sb.Sign(context.Background(), req, now.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ctx := context.Background()
	keys, err := srv.Client().Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	most := 2*(signer.DefaultMaxAge+2*signer.DefaultClockSkew) + DefaultNonceClockMargin + time.Second
	for _, k := range keys {
		ttl, err := srv.Client().PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl < 0 || ttl > most {
			t.Errorf("key %s lives %v in Redis (answer %d), want at most %v", k, ttl, resp.StatusCode, most)
		}
	}
}
