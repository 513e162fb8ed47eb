package fleet

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

// TestNonceStoreSeveralClaimsPerRequest: a request carrying a valid
// signature, another under an accepted key failing on this copy (a header
// only it covers was changed on the way) and six more under accepted keys
// passing the policy but not their MAC has all eight nonces claimed in
// Redis by one replica, so the message as sent, stripped down to the
// signature that failed, is refused as a replay by another replica; a
// request none of whose signatures verifies claims nothing.
func TestNonceStoreSeveralClaimsPerRequest(t *testing.T) {
	srv := redistest.Start(t)
	k1, err := signer.NewHMACKey("client-1", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := signer.NewHMACKey("client-2", append([]byte("2"), testSecret...))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signer.NewKeySet(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	var vs [2]*signer.Verifier
	for i := range vs {
		st, err := NewNonceStore(srv.Client(), NonceOptions{Timeout: patientTimeout})
		if err != nil {
			t.Fatal(err)
		}
		vs[i], err = signer.NewVerifier(signer.VerifierOptions{Keys: keys, Nonces: st, ErrorHandler: ErrorHandler})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	orig := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
	orig.Header.Set("X-Order", "1")
	s1, err := signer.New(signer.Options{Keys: signer.StaticKey(k1), Label: "sig1"})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := signer.New(signer.Options{Keys: signer.StaticKey(k2), Label: "sig2",
		Components: append(signer.DefaultRequired(), signer.Field("x-order"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*signer.Signer{s1, s2} {
		if err := s.Sign(context.Background(), orig, now); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		l := fmt.Sprint("junk", i)
		orig.Header.Add("Signature-Input", fmt.Sprintf(`%s=("@method" "@authority" "@path" "@query");created=%d;keyid="client-2";nonce="junk-%d"`, l, now.Unix(), i))
		orig.Header.Add("Signature", l+"=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:")
	}
	ctx := context.Background()
	size := func() int64 {
		n, err := srv.Client().DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// None valid: nothing claimed.
	none := orig.Clone(ctx)
	none.URL.Path = "/v1/orders/8"
	if code := serve(vs[0], none); code != http.StatusUnauthorized {
		t.Fatalf("no valid signature: %d, want 401", code)
	}
	if n := size(); n != 0 {
		t.Fatalf("Redis holds %d keys after a request with no valid signature, want 0", n)
	}

	altered := orig.Clone(ctx)
	altered.Header.Set("X-Order", "2")
	if code := serve(vs[0], altered); code != http.StatusOK {
		t.Fatalf("altered copy: %d, want 200 (sig1)", code)
	}
	if n := size(); n != 8 {
		t.Errorf("Redis holds %d keys, want 8 (one per signature)", n)
	}
	stripped := orig.Clone(ctx)
	in, sg := stripped.Header.Values("Signature-Input"), stripped.Header.Values("Signature")
	if len(in) != 8 || len(sg) != 8 || in[1][:5] != "sig2=" || sg[1][:5] != "sig2=" {
		t.Fatalf("Signature-Input %q, Signature %q: want sig2 on the second line", in, sg)
	}
	stripped.Header.Set("Signature-Input", in[1])
	stripped.Header.Set("Signature", sg[1])
	if code := serve(vs[1], stripped); code != http.StatusUnauthorized {
		t.Fatalf("message as sent, stripped down to sig2, on the other replica: %d, want 401 (replay)", code)
	}
	if code := serve(vs[1], orig.Clone(ctx)); code != http.StatusUnauthorized {
		t.Fatalf("message as sent on the other replica: %d, want 401 (replay)", code)
	}
	if n := size(); n != 8 {
		t.Errorf("Redis holds %d keys after the replays, want 8", n)
	}
}
