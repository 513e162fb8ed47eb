package oauth2

// End-to-end checks of session 18's tokens changes against fosite and a
// real FileStore: rotation across a restart of the client, two processes
// sharing one FileStore directory, 401 -> invalidate -> one refresh ->
// one replay, concurrent callers during a refresh, and the error text a
// caller sees when the token endpoint echoes a secret.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// provision gets a refresh token with the password grant and writes it
// to a FileStore over dir; it returns the refresh token.
func (s *authServer) provision(t *testing.T, dir string) string {
	t.Helper()
	first := s.passwordToken(t, clientID, s.config(basicAuth()))
	files, err := tokens.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Set(context.Background(), "refresh-token", []byte(first.RefreshToken)); err != nil {
		t.Fatal(err)
	}
	return first.RefreshToken
}

// process is one run of a client: a FileStore over dir, a Refresher
// keeping its refresh token there, a Cache persisting the access token
// in the same directory, and the auth layer over it.
type process struct {
	files *tokens.FileStore
	r     *tokens.Refresher
	cache *tokens.Cache
	rt    http.RoundTripper
	saved chan error
}

func (s *authServer) start(t *testing.T, dir string, opts ...tokens.CacheOption) *process {
	t.Helper()
	files, err := tokens.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedStore{Store: files}
	g.idle = sync.NewCond(&g.mu)
	r, err := tokens.NewRefresher(s.config(basicAuth()), g, "refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	p := &process{files: files, r: r, saved: make(chan error, 16)}
	p.cache = newCache(t, r, append([]tokens.CacheOption{tokens.WithPersistence(savedStore{g, p.saved}, "access-token")}, opts...)...)
	p.rt = s.authLayer(t, p.cache)
	// The Cache persists after handing a token over, so a test can end
	// with a write still under way: t.TempDir's removal (a cleanup that
	// runs after this one) then found a file appearing in the directory
	// ("directory not empty"). The process stops writing here first.
	t.Cleanup(func() {
		p.cache.Close()
		g.stop()
	})
	return p
}

// gatedStore lets a test's cleanup wait for the writes under way and
// refuse any later one.
type gatedStore struct {
	tokens.Store
	mu      sync.Mutex
	idle    *sync.Cond
	writing int
	stopped bool
}

var errStopped = errors.New("test over: store stopped")

func (g *gatedStore) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.writing++
	return true
}

func (g *gatedStore) leave() {
	g.mu.Lock()
	g.writing--
	g.idle.Broadcast()
	g.mu.Unlock()
}

func (g *gatedStore) stop() {
	g.mu.Lock()
	g.stopped = true
	for g.writing > 0 {
		g.idle.Wait()
	}
	g.mu.Unlock()
}

func (g *gatedStore) Set(ctx context.Context, key string, v []byte) error {
	if !g.enter() {
		return errStopped
	}
	defer g.leave()
	return g.Store.Set(ctx, key, v)
}

func (g *gatedStore) Delete(ctx context.Context, key string) error {
	if !g.enter() {
		return errStopped
	}
	defer g.leave()
	return g.Store.Delete(ctx, key)
}

// persisted waits for the Cache's write of its token (it persists after
// handing the token over).
func (p *process) persisted(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.saved:
		if err != nil {
			t.Fatalf("persisting the access token: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the access token was never persisted")
	}
}

func (p *process) stored(t *testing.T, key string) string {
	t.Helper()
	b, err := p.files.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}

func TestReview18RotationPersistedAcrossRestart(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	dir := t.TempDir() + "/secrets"
	rt0 := s.provision(t, dir)

	p1 := s.start(t, dir)
	if status, _, err := s.get(t, p1.rt); status != 200 || err != nil {
		t.Fatalf("first call: %d %v", status, err)
	}
	p1.persisted(t)
	rt1 := p1.stored(t, "refresh-token")
	if rt1 == rt0 || !strings.HasPrefix(rt1, "ory_rt_") {
		t.Fatal("the rotated refresh token was not persisted")
	}
	tok1, _ := p1.cache.Token(ctx)
	// A forced refresh (a 401 would do the same) rotates again.
	if !p1.cache.Invalidate(tok1) {
		t.Fatal("Invalidate refused")
	}
	tok2, err := p1.cache.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p1.persisted(t)
	rt2 := p1.stored(t, "refresh-token")
	if rt2 == rt1 {
		t.Fatal("the second rotation was not persisted")
	}
	if !strings.Contains(p1.stored(t, "access-token"), tok2.Value()) {
		t.Fatal("the store does not hold the new access token")
	}
	if n := s.requests("refresh_token"); n != 2 {
		t.Fatalf("%d refresh requests before the restart, want 2", n)
	}

	// Restart: a new FileStore, Refresher and Cache over the directory.
	// The persisted access token is used without a token request, and
	// the next refresh uses the rotated refresh token.
	p2 := s.start(t, dir)
	if status, _, err := s.get(t, p2.rt); status != 200 || err != nil {
		t.Fatalf("after restart: %d %v", status, err)
	}
	if n := s.requests("refresh_token"); n != 2 {
		t.Fatalf("%d refresh requests after the restart's first call, want still 2 (persisted token)", n)
	}
	got, _ := p2.cache.Token(ctx)
	if !got.Equal(tok2) {
		t.Fatal("the restarted Cache did not use the persisted token")
	}
	p2.cache.Invalidate(got)
	tok3, err := p2.cache.Token(ctx)
	if err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	if n := s.requests("refresh_token"); n != 3 || !s.active(tok3.Value()) {
		t.Fatalf("%d refresh requests, want 3; active %v", n, s.active(tok3.Value()))
	}
	p2.persisted(t)
	if p2.stored(t, "refresh-token") == rt2 {
		t.Fatal("rotation after the restart not persisted")
	}
}

// Two processes (two Caches over one FileStore directory) refresh at the
// same moment with a rotating refresh token. Refresher's doc says that
// Refreshers sharing a store are not serialised with each other; this
// records what fosite makes of it.
func TestReview18TwoProcessesRefreshAtOnce(t *testing.T) {
	const rounds = 8
	lost := 0
	for round := range rounds {
		s := newAuthServer(t, time.Hour)
		dir := t.TempDir() + "/secrets"
		s.provision(t, dir)
		a, b := s.start(t, dir), s.start(t, dir)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, p := range []*process{a, b} {
			wg.Go(func() {
				<-start
				_, errs[i] = p.cache.Token(context.Background())
			})
		}
		close(start)
		wg.Wait()
		// After both, does the grant still work for a fresh process?
		c := s.start(t, dir)
		_, cerr := c.r.Token(context.Background())
		t.Logf("round %d: a %v; b %v; refresh requests %d; a third process afterwards: %v", round, errs[0], errs[1], s.requests("refresh_token"), cerr)
		if cerr != nil {
			lost++
			for _, err := range append(errs, cerr) {
				if err != nil && !errors.Is(err, tokens.ErrInvalidGrant) {
					t.Errorf("round %d: %v, want invalid_grant or success", round, err)
				}
			}
		}
	}
	t.Logf("grant lost in %d of %d rounds", lost, rounds)
}

// killingTransport deletes the bearer token of every request from
// fosite's storage before sending it: the resource server answers 401 to
// every token.
type killingTransport struct {
	s    *authServer
	next http.RoundTripper
}

func (k killingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if v, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		k.s.killAccess(v)
	}
	return k.next.RoundTrip(req)
}

func TestReview18UnauthorizedInvalidateRefreshReplayOnce(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	dir := t.TempDir() + "/secrets"
	s.provision(t, dir)
	p := s.start(t, dir)
	if status, _, err := s.get(t, p.rt); status != 200 || err != nil {
		t.Fatalf("%d %v", status, err)
	}
	p.persisted(t)
	old, _ := p.cache.Token(ctx)
	s.killAccess(old.Value())
	refreshes, hits := s.requests("refresh_token"), s.hits()
	if status, body, err := s.get(t, p.rt); status != 200 || body != "hello" || err != nil {
		t.Fatalf("after the 401: %d %q %v", status, body, err)
	}
	if n := s.requests("refresh_token") - refreshes; n != 1 {
		t.Fatalf("%d refresh requests after one 401, want 1", n)
	}
	if n := s.hits() - hits; n != 2 {
		t.Fatalf("%d API requests, want 2 (the 401 and one replay)", n)
	}
	p.persisted(t)
	cur, _ := p.cache.Token(ctx)
	if cur.Equal(old) || !strings.Contains(p.stored(t, "access-token"), cur.Value()) {
		t.Fatal("the new access token is not the persisted one")
	}

	// Every token rejected: one refresh, one replay, then the 401 is the
	// caller's answer.
	origins, _ := transport.ParseOrigins(s.rs.URL)
	rt, err := transport.NewAuth(killingTransport{s, s.client.Transport}, transport.AuthConfig{Source: p.cache, Scope: origins})
	if err != nil {
		t.Fatal(err)
	}
	refreshes, hits = s.requests("refresh_token"), s.hits()
	status, _, err := s.get(t, rt)
	if err != nil || status != 401 {
		t.Fatalf("every token rejected: %d %v, want the replay's 401", status, err)
	}
	if n := s.requests("refresh_token") - refreshes; n != 1 {
		t.Fatalf("%d refresh requests, want 1", n)
	}
	if n := s.hits() - hits; n != 2 {
		t.Fatalf("%d API requests, want 2 (one replay)", n)
	}
}

func TestReview18ConcurrentCallersDuringRefresh(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	dir := t.TempDir() + "/secrets"
	s.provision(t, dir)
	p := s.start(t, dir)
	call := func(n int) {
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, n)
		status := make([]int, n)
		for i := range n {
			wg.Go(func() {
				<-start
				status[i], _, errs[i] = s.get(t, p.rt)
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || status[i] != 200 {
				t.Fatalf("caller %d: %d %v", i, status[i], errs[i])
			}
		}
	}
	call(200) // no token yet: one refresh for all
	if n := s.requests("refresh_token"); n != 1 {
		t.Fatalf("%d refresh requests for 200 callers, want 1", n)
	}
	tok, _ := p.cache.Token(ctx)
	p.cache.Invalidate(tok)
	call(200)
	if n := s.requests("refresh_token"); n != 2 {
		t.Fatalf("%d refresh requests after an invalidation, want 2", n)
	}
}

// The token endpoint echoes the client secret and the refresh token in
// its error_description: no caller-visible error text shows either.
func TestReview18EchoedSecretNeverInErrorText(t *testing.T) {
	const marker = "SECRET-LOOKING-VALUE-9f8e7d"
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	echo := func(form url.Values) string {
		return fmt.Sprintf("bad credentials %s secret=%s refresh_token=%s assertion=%s", marker, form.Get("client_secret"), form.Get("refresh_token"), form.Get("client_assertion"))
	}
	s.describe.Store(&echo)
	secrets := []string{marker, clientSecret, "wrong-secret-value", "bad credentials"}
	check := func(t *testing.T, what string, err error, more ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, sec := range append(secrets, more...) {
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				if strings.Contains(text, sec) {
					t.Errorf("%s: error shows %q: %s", what, sec, text)
				}
			}
		}
		t.Logf("%s: %v", what, err)
	}

	// invalid_client: a wrong secret, through ClientSecretPost (the
	// secret in the form, echoed) and Basic.
	for _, auth := range []tokens.ClientAuth{
		tokens.ClientSecretPost(tokens.StaticSecret([]byte("wrong-secret-value"))),
		tokens.ClientSecretBasic(tokens.StaticSecret([]byte("wrong-secret-value"))),
	} {
		cc, _ := tokens.NewClientCredentials(s.config(auth))
		var mu sync.Mutex
		var handled []error
		cache := newCache(t, cc, tokens.WithErrorHandler(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() }))
		_, _, err := s.get(t, s.authLayer(t, cache))
		cache.Close() // the handler has run
		mu.Lock()
		defer mu.Unlock()
		if !errors.Is(err, tokens.ErrInvalidClient) {
			t.Fatalf("%s: %v, want invalid_client", auth.Method(), err)
		}
		check(t, auth.Method()+" auth layer", err)
		for _, h := range handled {
			check(t, auth.Method()+" error handler", h)
		}
	}

	// invalid_grant: a revoked refresh token, sent in the form.
	dir := t.TempDir() + "/secrets"
	rt0 := s.provision(t, dir)
	s.revoke(rt0, "refresh_token")
	p := s.start(t, dir)
	_, _, err := s.get(t, p.rt)
	if !errors.Is(err, tokens.ErrInvalidGrant) {
		t.Fatalf("revoked grant: %v", err)
	}
	check(t, "Refresher auth layer", err, rt0)

	// A caller's own Source over x/oauth2 (24b3ce9) and FromOAuth2.
	ccfg := clientcredentials.Config{ClientID: clientID, ClientSecret: "wrong-secret-value", TokenURL: s.as.URL + "/token", AuthStyle: xoauth2.AuthStyleInParams}
	octx := context.WithValue(ctx, xoauth2.HTTPClient, s.client)
	own := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
		t, err := ccfg.Token(octx)
		if err != nil {
			return tokens.Token{}, fmt.Errorf("my source: %w", err)
		}
		return tokens.FromOAuth2Token(t), nil
	})
	_, _, err = s.get(t, s.authLayer(t, newCache(t, own)))
	check(t, "SourceFunc over x/oauth2", err)
	_, _, err = s.get(t, s.authLayer(t, newCache(t, tokens.FromOAuth2(ccfg.TokenSource(octx)))))
	check(t, "FromOAuth2", err)
}

// A client secret and an API key provisioned with a trailing newline in
// a real FileStore: no token request, no value in the error.
func TestReview18ControlCharactersFromAFileStore(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	ctx := context.Background()
	files, _ := tokens.NewFileStore(t.TempDir() + "/secrets")
	files.Set(ctx, "client-secret", []byte(clientSecret+"\n"))
	files.Set(ctx, "api-key", []byte("key-value-123\n"))
	for _, auth := range []tokens.ClientAuth{
		tokens.ClientSecretBasic(tokens.FromStore(files, "client-secret")),
		tokens.ClientSecretPost(tokens.FromStore(files, "client-secret")),
	} {
		cc, _ := tokens.NewClientCredentials(s.config(auth))
		_, _, err := s.get(t, s.authLayer(t, newCache(t, cc)))
		if !errors.Is(err, tokens.ErrNoToken) || strings.Contains(err.Error(), clientSecret) {
			t.Fatalf("%s: %v", auth.Method(), err)
		}
		t.Logf("%s: %v", auth.Method(), err)
	}
	if n := s.requests("client_credentials"); n != 0 {
		t.Fatalf("%d token requests with a secret ending in a newline, want 0", n)
	}
	// The same secret read with WithTrimNewline works.
	trimmed, _ := tokens.NewFileStore(files.Dir(), tokens.WithTrimNewline())
	cc, _ := tokens.NewClientCredentials(s.config(tokens.ClientSecretBasic(tokens.FromStore(trimmed, "client-secret"))))
	if status, _, err := s.get(t, s.authLayer(t, newCache(t, cc))); status != 200 || err != nil {
		t.Fatalf("trimmed: %d %v", status, err)
	}
	hits := s.hits()
	_, _, err := s.get(t, s.authLayer(t, newCache(t, tokens.StoreSource(files, "api-key", ""))))
	if !errors.Is(err, tokens.ErrMalformedToken) || strings.Contains(err.Error(), "key-value-123") || s.hits() != hits {
		t.Fatalf("StoreSource: %v (hits %d -> %d)", err, hits, s.hits())
	}
	t.Logf("StoreSource: %v", err)
}

// countStore counts Sets per key.
type countStore struct {
	tokens.Store
	mu   sync.Mutex
	sets map[string]int
}

func (c *countStore) Set(ctx context.Context, key string, v []byte) error {
	c.mu.Lock()
	c.sets[key]++
	c.mu.Unlock()
	return c.Store.Set(ctx, key, v)
}

// A Cache over FromOAuth2(ReuseTokenSource) in its early-refresh window
// gets the same token back on each refresh: it is written once (0c7a13c).
func TestReview18SameTokenWrittenOnce(t *testing.T) {
	// Tokens live 24 s: x/oauth2 reuses one while more than 10 s are
	// left, and the Cache refreshes from half its life.
	s := newAuthServer(t, 24*time.Second)
	ctx := context.Background()
	files, _ := tokens.NewFileStore(t.TempDir() + "/secrets")
	store := &countStore{Store: files, sets: map[string]int{}}
	ccfg := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: s.as.URL + "/token", AuthStyle: xoauth2.AuthStyleInHeader}
	inner := tokens.FromOAuth2(xoauth2.ReuseTokenSource(nil, ccfg.TokenSource(context.WithValue(ctx, xoauth2.HTTPClient, s.client))))
	var asked atomic.Int32
	src := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) { asked.Add(1); return inner.Token(ctx) })
	var mu sync.Mutex
	var reported []error
	cache := newCache(t, src, tokens.WithPersistence(store, "access-token"), tokens.WithEarlyRefresh(time.Hour), tokens.WithJitter(0), tokens.WithBackoff(200*time.Millisecond, 200*time.Millisecond),
		tokens.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	first, err := cache.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for time.Until(first.Expiry()) > 11*time.Second {
		tok, err := cache.Token(ctx)
		if err != nil || !tok.Equal(first) {
			t.Fatalf("%v %v", tok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if asked.Load() < 2 {
		t.Fatalf("source asked %d times, want several early refreshes", asked.Load())
	}
	cache.Close()
	store.mu.Lock()
	defer store.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("source asked %d times, writes %v, token requests %d, reported %v", asked.Load(), store.sets, s.requests("client_credentials"), reported)
	if store.sets["access-token"] != 1 || s.requests("client_credentials") != 1 {
		t.Fatalf("writes %v, token requests %d; want 1 and 1", store.sets, s.requests("client_credentials"))
	}
}
