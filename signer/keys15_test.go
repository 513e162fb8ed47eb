package signer

import (
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
)

// TestVerifyRefusesEmptyAlg: a signature whose alg parameter is present
// but empty (alg="") names no algorithm, so it cannot match the key's; the
// verifier took it for an absent alg and accepted it. ParseSignatureInput
// refuses it as malformed, so that Alg is empty only when alg is absent,
// and the verifier refuses that signature.
func TestVerifyRefusesEmptyAlg(t *testing.T) {
	k := testKey(t, "k")
	for _, alg := range []string{`;alg=""`, ``} {
		params := `("@method" "@authority" "@path");created=1777636800;nonce="abcdefghijklmnopqrstuv";keyid="k"` + alg
		base := "\"@method\": GET\n\"@authority\": example.com\n\"@path\": /x\n\"@signature-params\": " + params
		sig, err := k.sign(nil, []byte(base))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", "https://example.com/x", nil)
		req.Header.Set("Signature-Input", "sig1="+params)
		req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: []Component{Method}})
		res, err := v.Verify(serverView(t, req), t0)
		if alg == "" {
			if err != nil {
				t.Errorf("no alg: Verify = %v, want accepted (the algorithm comes from the key)", err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("alg=\"\": Verify = %+v, %v; want ErrMalformed", res, err)
		}
		if _, err := ParseSignatureInput("sig1=" + params); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSignatureInput(alg=\"\") = %v, want ErrMalformed", err)
		}
	}
}
