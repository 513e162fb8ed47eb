package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A client secret read with a control character in it (the trailing
// newline of a value provisioned with echo) is no client secret
// (*VSCHAR, RFC 6749 Appendix A.2), yet it was sent, and the server's
// invalid_client named neither the key nor the cause, as if the client
// had been deleted or its secret rotated. It is refused without a token
// request, as the Refresher refuses such a refresh token: an error
// matching ErrNoToken that says why and never quotes the secret.
func TestClientSecretWithControlCharacterNotSent(t *testing.T) {
	for _, v := range []string{"SECRET\n", "SECRET\r\n", "\x00SECRET", "SEC\tRET", "SECRET\x7f"} {
		for _, auth := range []func(SecretFunc) ClientAuth{ClientSecretBasic, ClientSecretPost} {
			as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
				writeJSON(w, 401, map[string]string{"error": "invalid_client"})
			})
			ctx := context.Background()
			m := NewMemoryStore()
			m.Set(ctx, "client-secret", []byte(v))
			cc, err := NewClientCredentials(as.config(auth(FromStore(m, "client-secret"))))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cc.Token(ctx)
			if !errors.Is(err, ErrNoToken) || errors.Is(err, ErrInvalidClient) {
				t.Errorf("%q: err = %v, want ErrNoToken without a token request", v, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "control character") || strings.Contains(msg, "SEC") {
				t.Errorf("%q: message %q does not say why, or quotes the secret", v, msg)
			}
			if n := as.count(); n != 0 {
				t.Errorf("%q: %d token requests, want 0", v, n)
			}
		}
	}
}
