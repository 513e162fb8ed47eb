package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// A 200 answer without an access_token (an empty token endpoint answer,
// which ErrNoToken's doc names) fails x/oauth2 with a plain
// "server response missing access_token" error. It must match ErrNoToken,
// with x/oauth2's error still in the chain, for every source that makes
// token requests and for an adapted oauth2.TokenSource.
func TestEmptyTokenAnswerIsErrNoToken(t *testing.T) {
	for _, body := range []string{`{"token_type":"bearer","expires_in":3600}`, `{}`} {
		as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
		})
		cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
		cc, err := NewClientCredentials(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		_, err = cc.Token(ctx)
		if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "access_token") {
			t.Errorf("ClientCredentials, answer %s: err = %v, want ErrNoToken keeping x/oauth2's error", body, err)
		}

		store := NewMemoryStore()
		store.Set(ctx, "rt", []byte("rt-0"))
		r, err := NewRefresher(cfg, store, "rt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Token(ctx); !errors.Is(err, ErrNoToken) {
			t.Errorf("Refresher, answer %s: err = %v, want ErrNoToken", body, err)
		}

		conf := oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL}}
		octx := context.WithValue(ctx, oauth2.HTTPClient, as.Client())
		src := FromOAuth2(conf.TokenSource(octx, &oauth2.Token{RefreshToken: "rt-0"}))
		if _, err := src.Token(ctx); !errors.Is(err, ErrNoToken) {
			t.Errorf("FromOAuth2, answer %s: err = %v, want ErrNoToken", body, err)
		}
	}
}

// After invalid_grant a Refresher reads its refresh token again "in case it
// was re-provisioned". Over a CachedStore (the docs' recommended front for
// secrets) that read was a cache hit that returned the dead token again:
// the re-provisioned one was never seen until a restart. The re-read now
// goes to the backend (CachedStore.Refresh).
func TestRefresherRereadBypassesCachedStore(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	back := NewMemoryStore()
	back.Set(ctx, "rt", []byte("dead"))
	cached, err := NewCachedStore(back)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), cached, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(ctx); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("dead refresh token: err = %v, want ErrInvalidGrant", err)
	}
	// An operator re-provisions the grant in the backend (another process).
	back.Set(ctx, "rt", []byte("rt-0"))
	tok, err := r.Token(ctx)
	if err != nil || tok.Value() != "at-1" {
		t.Fatalf("after re-provisioning: tok %q, err = %v; want at-1", tok.Value(), err)
	}
	if v, _ := back.Get(ctx, "rt"); string(v) != "rt-1" {
		t.Errorf("backend holds %q, want the rotated rt-1", v)
	}
}
