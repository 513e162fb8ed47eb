package signer

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestSignLabelInUseInSignatureAlone: a request whose Signature field
// already has a member under the signer's label (its Signature-Input none)
// carries a signature under that label: Sign refuses it with ErrLabelInUse,
// as it does when Signature-Input has the label, rather than sending two
// members of one key in Signature, of which a receiver keeps only the last.
func TestSignLabelInUseInSignatureAlone(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	for _, v := range []string{"sig1=:AAAA:", "other=:AAAA:, sig1=:AAAA:"} {
		req, _ := http.NewRequest("GET", "https://api.example.com/p", nil)
		req.Header.Set("Signature", v)
		if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrLabelInUse) {
			t.Errorf("Signature %q: %v, want ErrLabelInUse", v, err)
		}
		if got := req.Header.Values("Signature"); len(got) != 1 || got[0] != v {
			t.Errorf("Signature %q became %q", v, got)
		}
	}
	// Another label in Signature alone is left as it is.
	req, _ := http.NewRequest("GET", "https://api.example.com/p", nil)
	req.Header.Set("Signature", "other=:AAAA:")
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Errorf("another label: %v", err)
	}
}
