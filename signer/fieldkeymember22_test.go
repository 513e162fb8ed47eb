package signer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestFieldKeyMemberNotADictionaryKeyRefused: FieldKey's member is looked
// up as a Dictionary key, which is lower-case letters, digits and "_-.*",
// starting with a letter or "*" (RFC 8941 §3.2), but New took any
// printable member: FieldKey("x-pref", "Mode").IfPresent() was accepted
// and silently never covered (no Dictionary has the key "Mode", so the
// field counted as absent on every request), and without IfPresent every
// Sign failed with ErrMissingComponent, naming no option; likewise
// FieldKey("content-digest", "SHA-256"), which also never made Sign add
// or check a digest. New and NewVerifier (for Required) now refuse such a
// member with a *ConfigError naming the component; a valid key is still
// signed.
func TestFieldKeyMemberNotADictionaryKeyRefused(t *testing.T) {
	k := testKey(t, "k")
	for _, c := range []Component{
		FieldKey("x-pref", "Mode").IfPresent(),
		FieldKey("x-pref", "mode 1"),
		FieldKey("x-pref", "1mode"),
		FieldKey("x-pref", ""),
		FieldKey("content-digest", "SHA-256").IfPresent(),
	} {
		_, err := New(Options{Keys: StaticKey(k), Components: []Component{Method, c}})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "Options.Components[1]" {
			t.Errorf("New with %s: err = %v; want a *ConfigError naming Options.Components[1]", c, err)
		}
		if c.Optional() {
			continue
		}
		_, err = NewVerifier(VerifierOptions{Keys: StaticKey(k), Required: []Component{Method, c}})
		if !errors.As(err, &ce) || ce.Option != "VerifierOptions.Required[1]" {
			t.Errorf("NewVerifier with %s: err = %v; want a *ConfigError naming VerifierOptions.Required[1]", c, err)
		}
	}

	s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, FieldKey("x-pref", "mode*1.a_b-c").IfPresent()}})
	req, _ := http.NewRequest("GET", "https://api.example.com/", nil)
	req.Header.Set("X-Pref", "mode*1.a_b-c=?1, other=2")
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if si := req.Header.Get("Signature-Input"); !strings.Contains(si, `"x-pref";key="mode*1.a_b-c"`) {
		t.Errorf("Signature-Input %s does not cover the member", si)
	}
}
