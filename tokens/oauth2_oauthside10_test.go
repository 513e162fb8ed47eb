package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// RFC 6750 §2.1: a bearer token goes in the Authorization header as a
// b64token. An access_token a token endpoint (hostile, or broken) issued
// with a space, a comma, a control character (CR/LF: header injection),
// a quote or a non-ASCII byte must not reach a request header: it is
// refused with an error matching ErrMalformedToken (and ErrNoToken), for
// client credentials and for refresh, and a rotated refresh token is still
// persisted first. Tokens of the printable ASCII real servers issue (JWTs,
// base64 with padding, Salesforce's "00D!AQ...") are accepted.
func TestAccessTokenMustFitBearerHeader(t *testing.T) {
	access := ""
	n := 0
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		n++
		writeJSON(w, 200, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": fmt.Sprintf("rt-%d", n)})
	})
	ctx := context.Background()
	cc, err := NewClientCredentials(as.config(ClientSecretBasic(StaticSecret([]byte("s")))))
	if err != nil {
		t.Fatal(err)
	}
	for _, good := range []string{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_", "abc+/==", "00D5g!AQ0AQ.x~y", "a:b@c$"} {
		access = good
		if tok, err := cc.Token(ctx); err != nil || tok.Value() != good {
			t.Errorf("access_token %q: %v, err = %v", good, tok, err)
		}
	}
	bad := []string{"abc def", "abc\r\nX-Injected: 1", "abc\nx", "a,b", "t\u00f6k", "a\x00b", "a\tb", `a"b`, "a\\b", " abc", "abc\x7f"}
	for _, b := range bad {
		access = b
		tok, err := cc.Token(ctx)
		if err == nil || !tok.IsZero() {
			t.Errorf("access_token %q accepted: header %q", b, tok.HeaderValue())
			continue
		}
		if !errors.Is(err, ErrMalformedToken) || !errors.Is(err, ErrNoToken) {
			t.Errorf("access_token %q: err = %v; want ErrMalformedToken and ErrNoToken", b, err)
		}
		if s := err.Error(); containsAny(s, b) {
			t.Errorf("access_token %q: error %q prints the token", b, s)
		}
	}

	access = "a b"
	conf := oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: as.URL + "/token"}}
	src := FromOAuth2(conf.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, as.Client()), &oauth2.Token{RefreshToken: "rt-x"}))
	if tok, err := src.Token(ctx); !errors.Is(err, ErrMalformedToken) || !tok.IsZero() {
		t.Errorf("FromOAuth2: access_token with a space: %v, err = %v; want ErrMalformedToken", tok, err)
	}

	store := NewMemoryStore()
	store.Set(ctx, "rt", []byte("rt-0"))
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	if err != nil {
		t.Fatal(err)
	}
	access = "abc\r\nX-Injected: 1"
	if tok, err := r.Token(ctx); !errors.Is(err, ErrMalformedToken) || !tok.IsZero() {
		t.Errorf("refresh: access_token with CRLF: %v, err = %v; want ErrMalformedToken", tok, err)
	}
	if v, _ := store.Get(ctx, "rt"); string(v) != fmt.Sprintf("rt-%d", n) {
		t.Errorf("rotated refresh token not persisted: store has %q", v)
	}
}

func containsAny(s, tok string) bool {
	return len(tok) > 2 && strings.Contains(s, tok)
}
