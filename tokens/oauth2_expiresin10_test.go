package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// RFC 6749 §5.1: expires_in is an integer number of seconds. x/oauth2 fails
// the whole token request with an untyped parse error on a fractional
// value (3600.5), truncates a JSON value to 32 bits (-4294963696 becomes
// 3600: a plausible lifetime), caps one beyond int32 at 68 years, and reads
// a form-encoded one it cannot parse as "no expiry". A fractional value is
// rounded down; a negative one or one beyond 2^31-1, or one that is not a
// number, is refused with an error matching ErrMalformedResponse (and
// ErrNoToken), after a rotated refresh token is persisted.
func TestExpiresInIsAnIntegerInRange(t *testing.T) {
	as, cc, answer := newCannedAS(t)
	ctx := context.Background()
	const js = "application/json"
	const form = "application/x-www-form-urlencoded"
	good := []struct {
		ctype, body string
		life        time.Duration // 0: no expiry
	}{
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":3600}`, time.Hour},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":"3600"}`, time.Hour},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":3600.5}`, time.Hour},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":"3600.9"}`, time.Hour},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":3.6e3}`, time.Hour},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":2147483647}`, 2147483647 * time.Second},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":null}`, 0},
		{js, `{"access_token":"at","token_type":"Bearer"}`, 0},
		{form, `access_token=at&token_type=Bearer&expires_in=3600`, time.Hour},
		{form, `access_token=at&token_type=Bearer&expires_in=3600.5`, time.Hour},
		{form, `access_token=at&token_type=Bearer`, 0},
	}
	for _, g := range good {
		answer(g.ctype, g.body)
		before := time.Now()
		tok, err := cc.Token(ctx)
		if err != nil || tok.Value() != "at" {
			t.Errorf("%s: %v, %v", g.body, tok, err)
			continue
		}
		if g.life == 0 {
			if !tok.Expiry().IsZero() {
				t.Errorf("%s: expiry %v, want none", g.body, tok.Expiry())
			}
			continue
		}
		if e := tok.Expiry(); e.Before(before.Add(g.life)) || e.After(time.Now().Add(g.life)) {
			t.Errorf("%s: expiry in %v, want %v", g.body, e.Sub(before), g.life)
		}
	}
	bad := []struct{ ctype, body string }{
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":-4294963696}`}, // int32(-4294963696) == 3600
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":4294967296}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":2147483648}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":1e400}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":-5}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":-0.5}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":"soon"}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":true}`},
		{form, `access_token=at&token_type=Bearer&expires_in=-4294963696`},
		{form, `access_token=at&token_type=Bearer&expires_in=18446744077`}, // wraps time.Duration
		{form, `access_token=at&token_type=Bearer&expires_in=soon`},
	}
	for _, b := range bad {
		answer(b.ctype, b.body)
		tok, err := cc.Token(ctx)
		if !errors.Is(err, ErrMalformedResponse) || !errors.Is(err, ErrNoToken) || !tok.IsZero() {
			t.Errorf("%s: token %v (expiry %v), err = %v; want ErrMalformedResponse", b.body, tok, tok.Expiry(), err)
		}
	}

	// Refresher: the rotated refresh token is persisted before the
	// malformed answer is refused.
	answer(js, `{"access_token":"at","token_type":"Bearer","refresh_token":"rt-2","expires_in":-4294963696}`)
	store := NewMemoryStore()
	store.Set(ctx, "rt", []byte("rt-1"))
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := r.Token(ctx); !errors.Is(err, ErrMalformedResponse) || !tok.IsZero() {
		t.Errorf("Refresher: %v, %v; want ErrMalformedResponse", tok, err)
	}
	if v, _ := store.Get(ctx, "rt"); string(v) != "rt-2" {
		t.Errorf("stored refresh token %q, want the rotated rt-2", v)
	}
	answer(js, `{"access_token":"at","token_type":"Bearer","refresh_token":"rt-3","expires_in":7200.25}`)
	if tok, err := r.Token(ctx); err != nil || tok.Value() != "at" || time.Until(tok.Expiry()) <= time.Hour {
		t.Errorf("Refresher, fractional: %v, %v", tok, err)
	}
	if v, _ := store.Get(ctx, "rt"); string(v) != "rt-3" {
		t.Errorf("stored refresh token %q, want the rotated rt-3", v)
	}

	// FromOAuth2 cannot see the answer: x/oauth2's refusal of a
	// fractional value is a typed error, and a wrapped one is refused.
	conf := oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: as.URL + "/token"}}
	for _, b := range []string{
		`{"access_token":"at","token_type":"Bearer","expires_in":3600.5}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":-4294963696}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":4294967296}`,
	} {
		answer(js, b)
		src := FromOAuth2(conf.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, as.Client()), &oauth2.Token{RefreshToken: "rt-x"}))
		if tok, err := src.Token(ctx); !errors.Is(err, ErrMalformedResponse) || !tok.IsZero() {
			t.Errorf("FromOAuth2 %s: %v, %v; want ErrMalformedResponse", b, tok, err)
		}
	}
}

// newCannedAS starts a token endpoint that answers every request 200 with
// the Content-Type and body last given to answer, and a ClientCredentials
// source for it.
func newCannedAS(t *testing.T) (as *fakeAS, cc *ClientCredentials, answer func(ctype, body string)) {
	t.Helper()
	var body, ctype string
	as = newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(200)
		w.Write([]byte(body))
	})
	cc, err := NewClientCredentials(as.config(ClientSecretBasic(StaticSecret([]byte("s")))))
	if err != nil {
		t.Fatal(err)
	}
	return as, cc, func(c, b string) { ctype, body = c, b }
}
