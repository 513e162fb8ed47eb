package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A caller's SourceFunc built on x/oauth2 (not FromOAuth2) returns x/oauth2's
// *oauth2.RetrieveError, whose message quotes the token endpoint's answer:
// an error_description that echoes the client secret and the refresh
// token. Only a tokens.Cache took that out of the message; the same
// SourceFunc used directly (transport.AuthConfig's Source without a Cache,
// or a caller of Token) returned the echoed secrets, and the auth layer's
// *AuthError carried them. SourceFunc.Token now replaces the answer with
// what a *TokenError says (error code, HTTP status); errors.As still
// reaches the *oauth2.RetrieveError.
func TestSourceFuncRetrieveErrorEchoNotQuoted(t *testing.T) {
	const secret, refresh = "cs-SECRET-4711", "rt-SECRET-0815"
	cfg := echoingEndpoint(t, secret)
	src := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
		t, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
		if err != nil {
			return tokens.Token{}, fmt.Errorf("my source: %w", err)
		}
		return tokens.FromOAuth2Token(t), nil
	})
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%q", err)} {
			if strings.Contains(s, secret) || strings.Contains(s, refresh) {
				t.Fatalf("%s: error quotes the echoed secrets: %s", what, s)
			}
		}
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
			t.Fatalf("%s: %v does not reach the *oauth2.RetrieveError", what, err)
		}
		if !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "400") {
			t.Fatalf("%s: %q does not say invalid_grant (HTTP 400)", what, err)
		}
	}
	_, err := src.Token(context.Background())
	check("Token", err)

	origins, err := transport.ParseOrigins("https://api.example.test")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := transport.NewAuth(rtFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("not reached")
	}), transport.AuthConfig{Source: src, Scope: origins})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
	resp, err := auth.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if _, ok := errors.AsType[*transport.AuthError](err); !ok {
		t.Fatalf("RoundTrip = %v, want an *AuthError", err)
	}
	check("auth layer", err)
}

// echoingEndpoint starts a token endpoint that answers invalid_grant with
// an error_description echoing the refresh token, client id and secret it
// was sent, and returns an x/oauth2 configuration for it.
func echoingEndpoint(t *testing.T, secret string) *oauth2.Config {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"refresh token %s of client %s (secret %s) is revoked"}`,
			r.PostForm.Get("refresh_token"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"))
	}))
	t.Cleanup(as.Close)
	return &oauth2.Config{ClientID: "c", ClientSecret: secret,
		Endpoint: oauth2.Endpoint{TokenURL: as.URL, AuthStyle: oauth2.AuthStyleInParams}}
}

// echoSource is a caller's own Source type (not a SourceFunc, no Cache)
// built on x/oauth2: its error wraps x/oauth2's *oauth2.RetrieveError.
type echoSource struct {
	cfg     *oauth2.Config
	refresh string
	calls   int
	first   tokens.Token // returned by the first call, when set
}

func (s *echoSource) Token(ctx context.Context) (tokens.Token, error) {
	s.calls++
	if s.calls == 1 && !s.first.IsZero() {
		return s.first, nil
	}
	t, err := s.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refresh}).Token()
	if err != nil {
		return tokens.Token{}, fmt.Errorf("my source: %w", err)
	}
	return tokens.FromOAuth2Token(t), nil
}

// Invalidate makes the auth layer recover from a 401 with a new token.
func (s *echoSource) Invalidate(t tokens.Token) bool { return true }

// The same leak through a caller's own Source type given to
// transport.NewAuth without a Cache: the auth layer's *AuthError quoted the
// echoed secrets, on the first token and on the refresh after a 401.
// tokens.RedactSourceError, which the auth layer now applies to every
// source error, takes them out.
func TestCustomSourceRetrieveErrorEchoNotQuotedByAuthLayer(t *testing.T) {
	const secret, refresh = "cs-SECRET-4711", "rt-SECRET-0815"
	cfg := echoingEndpoint(t, secret)
	origins, err := transport.ParseOrigins("https://api.example.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		first tokens.Token
	}{
		{"first token", tokens.Token{}},
		{"refresh after a 401", tokens.NewToken("old", "Bearer", time.Time{})},
	} {
		src := &echoSource{cfg: cfg, refresh: refresh, first: tc.first}
		auth, err := transport.NewAuth(rtFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusUnauthorized, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
		}), transport.AuthConfig{Source: src, Scope: origins})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
		resp, err := auth.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if want := map[bool]int{false: 1, true: 2}[!tc.first.IsZero()]; src.calls != want {
			t.Fatalf("%s: source asked %d times, want %d", tc.name, src.calls, want)
		}
		if err == nil {
			t.Fatalf("%s: no error (source asked %d times)", tc.name, src.calls)
		}
		if _, ok := errors.AsType[*transport.AuthError](err); !ok {
			t.Fatalf("%s: RoundTrip = %v, want an *AuthError", tc.name, err)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%q", err)} {
			if strings.Contains(s, secret) || strings.Contains(s, refresh) {
				t.Fatalf("%s: error quotes the echoed secrets: %s", tc.name, s)
			}
		}
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
			t.Fatalf("%s: %v does not reach the *oauth2.RetrieveError", tc.name, err)
		}
	}
}
