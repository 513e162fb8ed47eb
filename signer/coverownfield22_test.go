package signer

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestCoveringTheSignatureFieldsRefused: Sign adds its member to the
// Signature-Input and Signature fields after building the signature base,
// so a signature covering either field whole (Field, FieldSF or FieldBS
// of "signature" or "signature-input") never verified on a request
// already signed under another label (the verifier's base has the new
// member too: ErrInvalidSignature), and was missing (left out unsigned
// when IfPresent) on any other; FieldKey of the signer's own label covers
// a member that does not exist yet. New accepted all of them. It now
// refuses them with a *ConfigError naming the component, and NewVerifier
// refuses the whole fields as Required (no signature can cover them).
// Covering another label's member ("signature";key="other", RFC 9421
// §4.3) is still signed and verifies.
func TestCoveringTheSignatureFieldsRefused(t *testing.T) {
	k := testKey(t, "k")
	for _, c := range []Component{
		Field("signature").IfPresent(),
		Field("signature-input").IfPresent(),
		FieldSF("signature").IfPresent(),
		FieldBS("signature-input"),
		FieldKey("signature", "sig1").IfPresent(),
		FieldKey("signature-input", "sig1"),
	} {
		_, err := New(Options{Keys: StaticKey(k), Components: []Component{Method, c}})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "Options.Components[1]" {
			t.Errorf("New with %s: err = %v; want a *ConfigError naming Options.Components[1]", c, err)
		}
		if c.Optional() || c.hasKey {
			continue
		}
		_, err = NewVerifier(VerifierOptions{Keys: StaticKey(k), Required: []Component{Method, c}})
		if !errors.As(err, &ce) || ce.Option != "VerifierOptions.Required[1]" {
			t.Errorf("NewVerifier with %s: err = %v; want a *ConfigError naming VerifierOptions.Required[1]", c, err)
		}
	}

	s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, FieldKey("signature", "other")}})
	if _, err := New(Options{Keys: StaticKey(k), Label: "mine", Components: []Component{Method, FieldKey("signature", "sig1")}}); err != nil {
		t.Errorf("label mine covering sig1's member: %v", err)
	}
	req, _ := http.NewRequest("GET", "https://api.example.com/", nil)
	req.Header.Set("Signature-Input", `other=("@method");created=1`)
	req.Header.Set("Signature", `other=:AAAA:`)
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}, Label: "sig1",
		Required: []Component{Method, FieldKey("signature", "other")}})
	if _, err := v.Verify(serverView(t, req), t0); err != nil {
		t.Errorf("covering another label's member: %v", err)
	}
}
