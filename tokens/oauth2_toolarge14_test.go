package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTokenResponseOverLimitRefused: x/oauth2 reads 1 MiB of a token
// response and drops the rest without a word, so a form-encoded answer
// with a longer access_token gave a truncated token that was then sent. A
// success answer over 1 MiB is refused with ErrMalformedResponse saying
// so, form or JSON, from ClientCredentials and Refresher alike.
func TestTokenResponseOverLimitRefused(t *testing.T) {
	long := strings.Repeat("A", 2<<20)
	for name, body := range map[string]struct{ ctype, body string }{
		"form": {"application/x-www-form-urlencoded", "token_type=bearer&expires_in=60&refresh_token=rt-1&access_token=" + long},
		"text": {"text/plain", "token_type=bearer&access_token=" + long},
		"json": {"application/json; charset=utf-8", `{"token_type":"bearer","access_token":"` + long + `"}`},
	} {
		t.Run(name, func(t *testing.T) {
			as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
				w.Header().Set("Content-Type", body.ctype)
				w.Write([]byte(body.body))
			})
			cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
			cc, err := NewClientCredentials(cfg)
			if err != nil {
				t.Fatal(err)
			}
			store := NewMemoryStore()
			store.Set(context.Background(), "rt", []byte("rt-0"))
			r, err := NewRefresher(cfg, store, "rt")
			if err != nil {
				t.Fatal(err)
			}
			for src, s := range map[string]Source{"ClientCredentials": cc, "Refresher": r} {
				tok, err := s.Token(context.Background())
				if !tok.IsZero() || !errors.Is(err, ErrMalformedResponse) || !errors.Is(err, ErrNoToken) ||
					!strings.Contains(err.Error(), "1 MiB") || len(err.Error()) > 200 {
					t.Errorf("%s: token of %d bytes, err %.200v", src, len(tok.Value()), err)
				}
				// Like a body that is no token response at all (a proxy's
				// page): the retry layer may ask again.
				if tmp, ok := errors.AsType[interface {
					error
					Temporary() bool
				}](err); !ok || !tmp.Temporary() {
					t.Errorf("%s: not Temporary: %v", src, err)
				}
			}
		})
	}
}
