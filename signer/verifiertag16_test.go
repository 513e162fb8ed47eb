package signer

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dunglas/httpsfv"
)

// VerifierOptions.Tag is compared with a signature's tag parameter, an
// sf-string (printable ASCII), and since session 16 it is written into
// Middleware's Accept-Signature as one. A Tag that is no sf-string ("é", a
// CR/LF) was taken: the Verifier refused every signature (no signature can
// carry that tag; the Signer refuses such an Options.Tag) and sent an
// Accept-Signature that is no structured field. It is a *ConfigError
// naming VerifierOptions.Tag, as Options.Tag is for the Signer; a tag with
// a quote or a backslash is still taken, and asked for escaped.
func TestVerifierTagMustBePrintableASCII(t *testing.T) {
	k := testKey(t, "k")
	for _, tag := range []string{"é", "app\r\n1", "app\x001", "\x7f"} {
		_, err := NewVerifier(VerifierOptions{Keys: StaticKey(k), Tag: tag})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "VerifierOptions.Tag" {
			t.Errorf("Tag %q: err %v, want a *ConfigError naming VerifierOptions.Tag", tag, err)
		}
	}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Tag: `a"b\c d`})
	w := httptest.NewRecorder()
	v.Middleware(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "https://api.example.test/", nil))
	d, err := httpsfv.UnmarshalDictionary(w.Header().Values("Accept-Signature"))
	if err != nil {
		t.Fatalf("Accept-Signature %q: %v", w.Header().Values("Accept-Signature"), err)
	}
	m, _ := d.Get("sig1")
	if tag, _ := m.(httpsfv.InnerList).Params.Get("tag"); tag != `a"b\c d` {
		t.Fatalf("Accept-Signature tag %q", tag)
	}
}
