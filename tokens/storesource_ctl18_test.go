package tokens

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// StoreSource handed over a stored secret with a control character as it
// was: the trailing newline of a value provisioned with echo (a secret
// file, a Kubernetes secret made --from-file), which net/http refuses in a
// header, so every call through the client failed after its retries with
// net/http's "invalid header field value for \"X-Api-Key\"", naming
// neither the key nor the cause, and the Cache kept the token (no expiry).
// Such a value is refused, as the Refresher refuses such a refresh token:
// an error naming the key, never the value, matching ErrMalformedToken and
// ErrNoToken; a Bearer value is held to what a bearer header carries, as a
// persisted token is.
func TestStoreSourceRefusesValueAHeaderCannotCarry(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ typ, v string }{
		{"", "SECRETKEY\n"}, {"", "SECRETKEY\r\n"}, {"", "\x00SECRETKEY"}, {"", "SECRET\tKEY"}, {"", "SECRETKEY\x7f"},
		{"Bearer", "SECRETKEY\n"}, {"Bearer", "SECRET KEY"}, {"Bearer", "SECRET,KEY"},
	} {
		m := NewMemoryStore()
		m.Set(ctx, "api-key", []byte(tc.v))
		_, err := StoreSource(m, "api-key", tc.typ).Token(ctx)
		if !errors.Is(err, ErrMalformedToken) || !errors.Is(err, ErrNoToken) {
			t.Errorf("%q %q: err = %v, want ErrMalformedToken and ErrNoToken", tc.typ, tc.v, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, `"api-key"`) || strings.Contains(msg, "SECRET") {
			t.Errorf("%q %q: message %q does not name the key, or quotes the value", tc.typ, tc.v, msg)
		}
	}
	for _, tc := range []struct{ typ, v string }{{"", "SECRET KEY"}, {"", "k,ey"}, {"Bearer", "abc.DEF-123_~+/="}} {
		m := NewMemoryStore()
		m.Set(ctx, "api-key", []byte(tc.v))
		if tok, err := StoreSource(m, "api-key", tc.typ).Token(ctx); err != nil || tok.Value() != tc.v {
			t.Errorf("%q %q: Token = %v, %v", tc.typ, tc.v, tok, err)
		}
	}
}
