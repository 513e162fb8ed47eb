package oauth2

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

func (s *authServer) config(auth tokens.ClientAuth) tokens.OAuth2Config {
	return tokens.OAuth2Config{
		TokenURL:   s.as.URL + "/token",
		ClientID:   clientID,
		Auth:       auth,
		Scopes:     []string{"api.read"},
		HTTPClient: s.client,
	}
}

func basicAuth() tokens.ClientAuth {
	return tokens.ClientSecretBasic(tokens.StaticSecret([]byte(clientSecret)))
}

// authLayer returns the auth layer for the resource server over src.
func (s *authServer) authLayer(t *testing.T, src tokens.Source) http.RoundTripper {
	t.Helper()
	origins, err := transport.ParseOrigins(s.rs.URL)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := transport.NewAuth(s.client.Transport, transport.AuthConfig{Source: src, Scope: origins})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// get calls the protected resource through rt.
func (s *authServer) get(t *testing.T, rt http.RoundTripper) (int, string, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.rs.URL+"/resource", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func newCache(t *testing.T, src tokens.Source, opts ...tokens.CacheOption) *tokens.Cache {
	t.Helper()
	c, err := tokens.NewCache(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientCredentialsAgainstFosite(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	for _, auth := range []tokens.ClientAuth{
		basicAuth(),
		tokens.ClientSecretPost(tokens.StaticSecret([]byte(clientSecret))),
	} {
		t.Run(auth.Method(), func(t *testing.T) {
			cc, err := tokens.NewClientCredentials(s.config(auth))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok.Value(), "ory_at_") || tok.Type() != "Bearer" || time.Until(tok.Expiry()) < 59*time.Minute {
				t.Fatalf("token %v (value prefix %q)", tok, tok.Value()[:min(7, len(tok.Value()))])
			}
			if !s.active(tok.Value()) {
				t.Fatal("fosite does not know the token")
			}
			status, body, err := s.get(t, s.authLayer(t, newCache(t, cc)))
			if err != nil || status != 200 || body != "hello" {
				t.Fatalf("resource: %d %q %v", status, body, err)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		cc, _ := tokens.NewClientCredentials(s.config(tokens.ClientSecretBasic(tokens.StaticSecret([]byte("wrong-secret-value")))))
		_, err := cc.Token(ctx)
		var re *xoauth2.RetrieveError
		if !errors.Is(err, tokens.ErrInvalidClient) || !errors.As(err, &re) || re.Response.StatusCode != 401 {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "wrong-secret-value") || strings.Contains(err.Error(), "bcrypt") {
			t.Fatalf("error string carries the endpoint's body: %v", err)
		}
	})
	t.Run("scope not allowed", func(t *testing.T) {
		cfg := s.config(basicAuth())
		cfg.Scopes = []string{"admin"}
		cc, _ := tokens.NewClientCredentials(cfg)
		_, err := cc.Token(ctx)
		var te *tokens.TokenError
		if !errors.As(err, &te) || te.Code != "invalid_scope" || te.StatusCode != 400 {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPrivateKeyJWTAgainstFosite(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	// The private key lives in a 0600 file store, read through a cache.
	files, err := tokens.NewFileStore(t.TempDir() + "/secrets")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(s.jwtKey)
	if err := files.Set(ctx, "oauth-client-key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		t.Fatal(err)
	}
	keys, _ := tokens.NewCachedStore(files)
	cfg := s.config(tokens.PrivateKeyJWT(tokens.PrivateKeyJWTConfig{Key: tokens.FromStore(keys, "oauth-client-key"), KeyID: jwtKeyID}))
	cfg.ClientID = jwtClientID
	cc, err := tokens.NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// fosite remembers every assertion's jti and refuses a reused one, so
	// several token requests in a row prove each gets a fresh assertion.
	for i := range 3 {
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("token request %d: %v", i, err)
		}
		if !s.active(tok.Value()) {
			t.Fatal("inactive token")
		}
	}
	if n := s.requests("client_credentials"); n != 3 {
		t.Fatalf("%d token requests", n)
	}
	// The refresh_token grant authenticates the same way.
	pw := s.passwordToken(t, jwtClientID, cfg)
	files.Set(ctx, "refresh-token", []byte(pw.RefreshToken))
	r, err := tokens.NewRefresher(cfg, files, "refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(ctx); err != nil {
		t.Fatalf("refresh with private_key_jwt: %v", err)
	}
	// Another key is refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	cfg.Auth = tokens.PrivateKeyJWT(tokens.PrivateKeyJWTConfig{Signer: other, KeyID: jwtKeyID})
	bad, _ := tokens.NewClientCredentials(cfg)
	if _, err := bad.Token(ctx); !errors.Is(err, tokens.ErrInvalidClient) {
		t.Fatalf("wrong key: %v", err)
	}
}

// passwordToken gets a first refresh token with the password grant and the
// offline scope (client_credentials never issues refresh tokens). With a
// private_key_jwt client it authenticates through our client auth.
func (s *authServer) passwordToken(t *testing.T, id string, cfg tokens.OAuth2Config) *xoauth2.Token {
	t.Helper()
	conf := &xoauth2.Config{ClientID: id, ClientSecret: clientSecret, Scopes: []string{"api.read", "offline"},
		Endpoint: xoauth2.Endpoint{TokenURL: s.as.URL + "/token", AuthStyle: xoauth2.AuthStyleInHeader}}
	ctx := context.WithValue(context.Background(), xoauth2.HTTPClient, s.client)
	if id == jwtClientID {
		// A one-off private_key_jwt client assertion through our client
		// credentials source would need the password grant; sign one here.
		ctx = context.WithValue(context.Background(), xoauth2.HTTPClient, &http.Client{Transport: assertionTransport{s: s, next: s.client.Transport}})
		conf.ClientSecret = ""
		conf.Endpoint.AuthStyle = xoauth2.AuthStyleInParams
	}
	tok, err := conf.PasswordCredentialsToken(ctx, "peter", "secret")
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return tok
}

func TestRefreshRotationPersistsBeforeReturning(t *testing.T) {
	s := newAuthServer(t, 2*time.Second)
	ctx := context.Background()
	first := s.passwordToken(t, clientID, s.config(basicAuth()))
	files, _ := tokens.NewFileStore(t.TempDir() + "/secrets")
	store := &orderStore{Store: files}
	files.Set(ctx, "refresh-token", []byte(first.RefreshToken))

	r, err := tokens.NewRefresher(s.config(basicAuth()), store, "refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if store.sets != 1 {
		t.Fatalf("rotated refresh token written %d times, want once", store.sets)
	}
	rotated, _ := files.Get(ctx, "refresh-token")
	if string(rotated) == first.RefreshToken || !strings.HasPrefix(string(rotated), "ory_rt_") {
		t.Fatal("the stored refresh token was not rotated")
	}
	if !s.active(tok.Value()) {
		t.Fatal("new access token inactive")
	}

	// The write of the next rotated refresh token fails: Token returns no
	// access token at all, and the next call (with the rotated refresh token
	// kept in memory) succeeds and persists.
	store.fail = errors.New("disk full")
	if tok, err := r.Token(ctx); err == nil || !tok.IsZero() {
		t.Fatalf("Token with a failing store = %v, %v; want an error and no token", tok, err)
	}
	store.fail = nil
	if _, err := r.Token(ctx); err != nil {
		t.Fatalf("after the store recovered: %v", err)
	}

	// A restarted service (a new Refresher over the same store) continues
	// with the persisted, rotated refresh token.
	r2, _ := tokens.NewRefresher(s.config(basicAuth()), files, "refresh-token")
	tok2, err := r2.Token(ctx)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if tok2.Equal(tok) || !s.active(tok2.Value()) {
		t.Fatal("restart did not get a fresh token")
	}

	// And the whole thing through a Cache and the auth layer, across expiry.
	cache := newCache(t, r2, tokens.WithEarlyRefresh(0), tokens.WithExpiryMargin(0))
	rt := s.authLayer(t, cache)
	if status, _, err := s.get(t, rt); status != 200 || err != nil {
		t.Fatalf("%d %v", status, err)
	}
	before := s.requests("refresh_token")
	waitPast(t, cache)
	if status, _, err := s.get(t, rt); status != 200 || err != nil {
		t.Fatalf("after expiry: %d %v", status, err)
	}
	if n := s.requests("refresh_token") - before; n != 1 {
		t.Fatalf("%d refreshes across one expiry, want 1", n)
	}
}

// orderStore records whether a rotated refresh token was written before
// the Refresher returned (sets is read after Token returns).
type orderStore struct {
	tokens.Store
	sets int
	fail error
}

func (o *orderStore) Set(ctx context.Context, key string, v []byte) error {
	o.sets++
	if o.fail != nil {
		return o.fail
	}
	return o.Store.Set(ctx, key, v)
}

// waitPast sleeps until the cached token has expired (real time: the
// server's clock decides). It is a wait, not a timing assertion.
func waitPast(t *testing.T, c *tokens.Cache) {
	t.Helper()
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(tok.Expiry()) + 50*time.Millisecond)
}

func TestRevocationLeadsTo401InvalidateNewTokenSuccess(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	cc, _ := tokens.NewClientCredentials(s.config(basicAuth()))
	cache := newCache(t, cc)
	rt := s.authLayer(t, cache)
	if status, body, err := s.get(t, rt); status != 200 || body != "hello" || err != nil {
		t.Fatalf("%d %q %v", status, body, err)
	}
	old, _ := cache.Token(context.Background())
	s.revoke(old.Value(), "access_token")
	if s.active(old.Value()) {
		t.Fatal("revocation did not take")
	}

	status, body, err := s.get(t, rt)
	if err != nil || status != 200 || body != "hello" {
		t.Fatalf("after revocation: %d %q %v, want 200 after one replay", status, body, err)
	}
	if n := s.requests("client_credentials"); n != 2 {
		t.Fatalf("%d token requests, want 2 (initial + after the 401)", n)
	}
	if n := s.hits(); n != 3 {
		t.Fatalf("%d resource hits, want 3 (200, 401, replayed 200)", n)
	}
	if cur, _ := cache.Token(context.Background()); cur.Equal(old) {
		t.Fatal("the revoked token is still cached")
	}
}

func TestRevokedGrantIsNotRetried(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	first := s.passwordToken(t, clientID, s.config(basicAuth()))
	store := tokens.NewMemoryStore()
	store.Set(ctx, "refresh-token", []byte(first.RefreshToken))
	r, _ := tokens.NewRefresher(s.config(basicAuth()), store, "refresh-token")
	cache := newCache(t, r)
	rt := s.authLayer(t, cache)
	if status, _, err := s.get(t, rt); status != 200 || err != nil {
		t.Fatalf("%d %v", status, err)
	}
	// Revoking the refresh token kills the whole grant, access token too.
	rtok, _ := store.Get(ctx, "refresh-token")
	s.revoke(string(rtok), "refresh_token")

	refreshes := s.requests("refresh_token")
	_, _, err := s.get(t, rt)
	var ae *transport.AuthError
	if !errors.Is(err, tokens.ErrInvalidGrant) || !errors.As(err, &ae) || ae.Temporary() {
		t.Fatalf("err = %v, want a non-temporary AuthError for invalid_grant", err)
	}
	if n := s.requests("refresh_token") - refreshes; n != 1 {
		t.Fatalf("%d refresh attempts, want exactly 1", n)
	}
	// The next call does not hammer the token endpoint: the cache backs off.
	if _, _, err := s.get(t, rt); !errors.Is(err, tokens.ErrBackoff) || !errors.Is(err, tokens.ErrInvalidGrant) {
		t.Fatalf("second call: %v", err)
	}
	if n := s.requests("refresh_token") - refreshes; n != 1 {
		t.Fatalf("%d refresh attempts after a second call, want still 1", n)
	}
}

func TestReuseOfRotatedRefreshTokenRevokesFamily(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	first := s.passwordToken(t, clientID, s.config(basicAuth()))
	primary := tokens.NewMemoryStore()
	primary.Set(ctx, "refresh-token", []byte(first.RefreshToken))
	stale := tokens.NewMemoryStore() // a replica that kept the old copy
	stale.Set(ctx, "refresh-token", []byte(first.RefreshToken))

	a, _ := tokens.NewRefresher(s.config(basicAuth()), primary, "refresh-token")
	atok, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tokens.NewRefresher(s.config(basicAuth()), stale, "refresh-token")
	if _, err := b.Token(ctx); !errors.Is(err, tokens.ErrInvalidGrant) {
		t.Fatalf("reuse of the rotated refresh token: %v, want invalid_grant", err)
	}
	// fosite answered the reuse by revoking the whole token family.
	if s.active(atok.Value()) {
		t.Fatal("the newest access token survived the reuse")
	}
	if _, err := a.Token(ctx); !errors.Is(err, tokens.ErrInvalidGrant) {
		t.Fatalf("the rotated refresh token survived the reuse: %v", err)
	}
}

func TestStampedeAtExpiryMakesOneTokenRequest(t *testing.T) {
	// expires_in 3: the token the stampede shares must outlive the last
	// of the 1000 callers' checks (under -race on a loaded machine they
	// can take over a second); a caller that found it expired would
	// rightly fetch another, and the count would say two.
	s := newAuthServer(t, 4*time.Second)
	cc, _ := tokens.NewClientCredentials(s.config(basicAuth()))
	cache := newCache(t, cc, tokens.WithEarlyRefresh(0), tokens.WithExpiryMargin(0))
	waitPast(t, cache)
	if n := s.requests("client_credentials"); n != 1 {
		t.Fatalf("%d requests before the stampede", n)
	}
	const callers = 1000
	start := make(chan struct{})
	var wg sync.WaitGroup
	got := make([]tokens.Token, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = cache.Token(context.Background())
		})
	}
	close(start)
	wg.Wait()
	n := s.requests("client_credentials") - 1
	t.Logf("%d concurrent callers at expiry -> %d token request(s)", callers, n)
	if n != 1 {
		t.Fatalf("%d token requests for %d callers at expiry, want exactly 1", n, callers)
	}
	for i := range callers {
		if errs[i] != nil || !got[i].Equal(got[0]) {
			t.Fatalf("caller %d: %v %v", i, got[i], errs[i])
		}
	}
	if !s.active(got[0].Value()) {
		t.Fatal("the shared token is not active")
	}
}

func TestTokenEndpointOutage(t *testing.T) {
	// Tokens live 4 s (expires_in 3); the background refresh starts half way
	// through; a failed refresh waits 5 s, longer than the token has left.
	s := newAuthServer(t, 4*time.Second)
	cc, _ := tokens.NewClientCredentials(s.config(basicAuth()))
	var reported []error
	var mu sync.Mutex
	cache := newCache(t, cc, tokens.WithExpiryMargin(0), tokens.WithJitter(0),
		tokens.WithBackoff(5*time.Second, 5*time.Second),
		tokens.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	rt := s.authLayer(t, cache)
	tok, err := cache.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.down.Store(true)

	// Until the token expires, every call succeeds with it, and the down
	// endpoint sees one refresh attempt.
	calls := 0
	for time.Until(tok.Expiry()) > 100*time.Millisecond {
		status, _, err := s.get(t, rt)
		if (err != nil || status != 200) && !time.Now().Before(tok.Expiry()) && errors.Is(err, tokens.ErrBackoff) {
			// A stalled machine delayed this call past the token's
			// expiry: the cache rightly refused it (checked below).
			break
		}
		if err != nil || status != 200 {
			t.Fatalf("call %d during the outage: %d %v", calls, status, err)
		}
		calls++
		time.Sleep(20 * time.Millisecond)
	}
	if cur, _ := cache.Token(context.Background()); !cur.Equal(tok) {
		t.Fatal("the cache replaced the valid token during the outage")
	}
	refreshes := s.downCount()
	t.Logf("outage: %d calls served with the still-valid token, %d token request(s) to the down endpoint", calls, refreshes)
	if refreshes != 1 {
		t.Fatalf("%d token requests during one backoff step, want 1", refreshes)
	}
	mu.Lock()
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "HTTP 503") || strings.Contains(reported[0].Error(), "maintenance") {
		t.Fatalf("reported %v", reported)
	}
	mu.Unlock()

	// Expired, endpoint still down, backoff not over: a typed error at once,
	// and no token request.
	time.Sleep(time.Until(tok.Expiry()) + 50*time.Millisecond)
	_, _, err = s.get(t, rt)
	var re *tokens.RefreshError
	var te *tokens.TokenError
	if !errors.Is(err, tokens.ErrBackoff) || !errors.As(err, &re) || !errors.As(err, &te) || te.StatusCode != 503 {
		t.Fatalf("after expiry: %v", err)
	}
	if s.downCount() != 1 {
		t.Fatal("token request while backing off")
	}

	// The endpoint comes back; after the backoff step the next call works.
	s.down.Store(false)
	time.Sleep(time.Until(re.RetryAt) + 50*time.Millisecond)
	if status, _, err := s.get(t, rt); status != 200 || err != nil {
		t.Fatalf("after recovery: %d %v", status, err)
	}
}

// savedStore reports on saved each Set that has returned.
type savedStore struct {
	tokens.Store
	saved chan error
}

func (s savedStore) Set(ctx context.Context, key string, v []byte) error {
	err := s.Store.Set(ctx, key, v)
	s.saved <- err
	return err
}

func TestPersistedTokenSurvivesRestart(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	files, _ := tokens.NewFileStore(t.TempDir() + "/secrets")
	cc, _ := tokens.NewClientCredentials(s.config(basicAuth()))
	// The Cache persists a new token after handing it to its callers (a
	// slow store does not hold them): the first process "stops" once its
	// write has returned, as a real one would long after. Without this
	// wait the second Cache read the store first in 9 of 60 runs.
	store := savedStore{files, make(chan error, 1)}
	c1 := newCache(t, cc, tokens.WithPersistence(store, "access-token"))
	if status, _, err := s.get(t, s.authLayer(t, c1)); status != 200 || err != nil {
		t.Fatal(status, err)
	}
	select {
	case err := <-store.saved:
		if err != nil {
			t.Fatalf("persisting the token: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the token was never persisted")
	}
	c2 := newCache(t, cc, tokens.WithPersistence(files, "access-token")) // "restarted"
	if status, _, err := s.get(t, s.authLayer(t, c2)); status != 200 || err != nil {
		t.Fatal(status, err)
	}
	if n := s.requests("client_credentials"); n != 1 {
		t.Fatalf("%d token requests across a restart, want 1", n)
	}
}
