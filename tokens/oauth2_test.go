package tokens

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// fakeAS is a minimal token endpoint for unit tests (the real authorization
// server tests, against ory/fosite, live in tests/oauth2). handle gets the
// parsed form and the request, and writes the answer.
type fakeAS struct {
	*httptest.Server
	mu     sync.Mutex
	forms  []url.Values
	reqs   []*http.Request
	handle func(w http.ResponseWriter, r *http.Request, form url.Values)
}

func newFakeAS(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, form url.Values)) *fakeAS {
	as := &fakeAS{handle: handle}
	as.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		as.mu.Lock()
		as.forms = append(as.forms, r.PostForm)
		as.reqs = append(as.reqs, r)
		as.mu.Unlock()
		as.handle(w, r, r.PostForm)
	}))
	t.Cleanup(as.Close)
	return as
}

func (as *fakeAS) lastForm() url.Values {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.forms[len(as.forms)-1]
}

func (as *fakeAS) count() int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return len(as.forms)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func issue(w http.ResponseWriter, access, refresh string) {
	m := map[string]any{"access_token": access, "token_type": "bearer", "expires_in": 3600}
	if refresh != "" {
		m["refresh_token"] = refresh
	}
	writeJSON(w, 200, m)
}

func (as *fakeAS) config(auth ClientAuth) OAuth2Config {
	return OAuth2Config{
		TokenURL:   as.URL + "/token",
		ClientID:   "client-1",
		Auth:       auth,
		Scopes:     []string{"api.read"},
		HTTPClient: as.Client(),
	}
}

func TestClientCredentialsSecretBasicAndPost(t *testing.T) {
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		id, secret, basic := r.BasicAuth()
		if basic { // RFC 6749 §2.3.1: both are form-encoded first
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
		} else {
			id, secret = f.Get("client_id"), f.Get("client_secret")
		}
		if id != "client-1" || secret != "s3cr3t:&=" || f.Get("grant_type") != "client_credentials" || f.Get("scope") != "api.read" {
			writeJSON(w, 401, map[string]string{"error": "invalid_client"})
			return
		}
		issue(w, "at-"+map[bool]string{true: "basic", false: "post"}[basic], "")
	})
	ctx := context.Background()
	for _, tc := range []struct {
		auth   ClientAuth
		method string
		want   string
	}{
		{ClientSecretBasic(StaticSecret([]byte("s3cr3t:&="))), "client_secret_basic", "at-basic"},
		{ClientSecretPost(StaticSecret([]byte("s3cr3t:&="))), "client_secret_post", "at-post"},
	} {
		if tc.auth.Method() != tc.method {
			t.Errorf("Method = %q", tc.auth.Method())
		}
		cc, err := NewClientCredentials(as.config(tc.auth))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		if tok.Value() != tc.want || tok.Type() != "Bearer" || time.Until(tok.Expiry()) < 59*time.Minute {
			t.Fatalf("%s: token %q %q %v", tc.method, tok.Value(), tok.Type(), tok.Expiry())
		}
		if tc.method == "client_secret_basic" && as.lastForm().Get("client_secret") != "" {
			t.Fatal("basic auth also sent the secret in the body")
		}
	}
	// The secret function is called per request: a rotated secret is used.
	secret := "old"
	cc, _ := NewClientCredentials(as.config(ClientSecretBasic(func(context.Context) ([]byte, error) { return []byte(secret), nil })))
	if _, err := cc.Token(ctx); !errors.Is(err, ErrInvalidClient) {
		t.Fatalf("wrong secret: %v", err)
	}
	secret = "s3cr3t:&="
	if _, err := cc.Token(ctx); err != nil {
		t.Fatalf("rotated secret: %v", err)
	}
	// A failing secret store fails the request before it is sent.
	n := as.count()
	cc, _ = NewClientCredentials(as.config(ClientSecretBasic(FromStore(NewMemoryStore(), "missing"))))
	if _, err := cc.Token(ctx); !errors.Is(err, ErrNotFound) || as.count() != n {
		t.Fatalf("missing secret: %v (requests %d -> %d)", err, n, as.count())
	}
}

func TestTokenErrorKeepsBodyOutOfMessage(t *testing.T) {
	const leaked = "echoed-client-secret-XYZ"
	status, body := 0, ""
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
	cc, _ := NewClientCredentials(as.config(ClientSecretBasic(StaticSecret([]byte("x")))))
	for _, tc := range []struct {
		status    int
		body      string
		code      string
		isGrant   bool
		isClient  bool
		inMessage string
	}{
		{400, `{"error":"invalid_grant","error_description":"refresh token ` + leaked + ` was reused"}`, "invalid_grant", true, false, "invalid_grant (HTTP 400)"},
		{401, `{"error":"invalid_client","error_description":"bad secret ` + leaked + `"}`, "invalid_client", false, true, "invalid_client (HTTP 401)"},
		{503, `<html>upstream down; debug: ` + leaked + `</html>`, "", false, false, "(HTTP 503)"},
		{400, `{"error":"weird\"` + leaked + `"}`, `weird…`, false, false, "weird…"},
	} {
		status, body = tc.status, tc.body
		_, err := cc.Token(context.Background())
		if err == nil {
			t.Fatalf("%d: no error", tc.status)
		}
		if strings.Contains(err.Error(), leaked) {
			t.Errorf("%d: error string leaks the response body: %v", tc.status, err)
		}
		if !strings.Contains(err.Error(), tc.inMessage) || !strings.HasPrefix(err.Error(), "tokens: ") {
			t.Errorf("%d: message %q lacks %q", tc.status, err, tc.inMessage)
		}
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || !strings.Contains(string(re.Body), leaked) || re.Response.StatusCode != tc.status {
			t.Errorf("%d: *oauth2.RetrieveError not reachable: %#v", tc.status, err)
		}
		var te *TokenError
		if !errors.As(err, &te) || te.StatusCode != tc.status {
			t.Errorf("%d: *TokenError = %#v", tc.status, te)
		}
		if errors.Is(err, ErrInvalidGrant) != tc.isGrant || errors.Is(err, ErrInvalidClient) != tc.isClient {
			t.Errorf("%d: Is(invalid_grant)=%v Is(invalid_client)=%v", tc.status, errors.Is(err, ErrInvalidGrant), errors.Is(err, ErrInvalidClient))
		}
	}
}

func TestTokenEndpointRedirectRefused(t *testing.T) {
	var hits int
	target := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { hits++; issue(w, "stolen", "") })
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		http.Redirect(w, r, target.URL+"/token", http.StatusTemporaryRedirect)
	})
	cc, _ := NewClientCredentials(as.config(ClientSecretPost(StaticSecret([]byte("s")))))
	_, err := cc.Token(context.Background())
	var te *TokenError
	if !errors.As(err, &te) || te.StatusCode != 307 {
		t.Fatalf("err = %v, want a TokenError for the 307", err)
	}
	if hits != 0 {
		t.Fatal("the token request (with the client secret) followed the redirect")
	}
}

func TestTokenURLValidation(t *testing.T) {
	auth := ClientSecretBasic(StaticSecret([]byte("s")))
	good := []string{"https://as.example.com/token", "http://127.0.0.1:8080/token", "http://localhost/token", "http://[::1]:9/t"}
	bad := []string{"", "http://as.example.com/token", "ftp://x/y", "https://u:p@as/token", "https://as/token#f", "/token", "http://10.0.0.1/token"}
	for _, u := range good {
		if _, err := NewClientCredentials(OAuth2Config{TokenURL: u, ClientID: "c", Auth: auth}); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	for _, u := range bad {
		var ce *ConfigError
		if _, err := NewClientCredentials(OAuth2Config{TokenURL: u, ClientID: "c", Auth: auth}); !errors.As(err, &ce) || ce.Option != "TokenURL" {
			t.Errorf("%q: %v", u, err)
		}
	}
	for name, cfg := range map[string]OAuth2Config{
		"ClientID": {TokenURL: good[0], Auth: auth},
		"Auth":     {TokenURL: good[0], ClientID: "c"},
	} {
		var ce *ConfigError
		if _, err := NewClientCredentials(cfg); !errors.As(err, &ce) || ce.Option != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewClientCredentials(OAuth2Config{TokenURL: good[0], ClientID: "c", Auth: ClientSecretBasic(nil)}); err == nil {
		t.Error("nil secret accepted")
	}
}

// rotatingAS issues access tokens with a rotated refresh token each time and
// rejects reuse of an old refresh token (like fosite).
func rotatingAS(t *testing.T) (*fakeAS, *sync.Map) {
	used := &sync.Map{}
	n := 0
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		rt := f.Get("refresh_token")
		if f.Get("grant_type") != "refresh_token" || rt == "" {
			writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		if _, dup := used.LoadOrStore(rt, true); dup || !strings.HasPrefix(rt, "rt-") {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		n++
		issue(w, fmt.Sprintf("at-%d", n), fmt.Sprintf("rt-%d", n))
	})
	return as, used
}

func TestRefresherPersistsRotatedTokenBeforeReturning(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	store := &recordingStore{MemoryStore: NewMemoryStore()}
	store.MemoryStore.Set(ctx, "rt", []byte("rt-0"))
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.Token(ctx)
	if err != nil || tok.Value() != "at-1" {
		t.Fatalf("Token = %v %v", tok, err)
	}
	if v, _ := store.MemoryStore.Get(ctx, "rt"); string(v) != "rt-1" {
		t.Fatalf("stored refresh token = %q, want the rotated rt-1", v)
	}
	tok, err = r.Token(ctx)
	if err != nil || tok.Value() != "at-2" {
		t.Fatalf("second Token = %v %v", tok, err)
	}
	if got := as.lastForm().Get("refresh_token"); got != "rt-1" {
		t.Fatalf("second refresh used %q, want rt-1", got)
	}

	// The write fails: no access token is returned, and the new refresh
	// token is kept in memory for the next call.
	store.failSet = errors.New("disk full")
	if tok, err = r.Token(ctx); err == nil || !tok.IsZero() {
		t.Fatalf("Token with a failing store = %v, %v; want an error and no token", tok, err)
	}
	if v, _ := store.MemoryStore.Get(ctx, "rt"); string(v) != "rt-2" {
		t.Fatalf("store changed despite the failure: %q", v)
	}
	store.failSet = nil
	if tok, err = r.Token(ctx); err != nil || tok.Value() != "at-4" {
		t.Fatalf("after the store recovered: %v %v", tok, err)
	}
	if got := as.lastForm().Get("refresh_token"); got != "rt-3" {
		t.Fatalf("used %q, want the in-memory rt-3", got)
	}
	if v, _ := store.MemoryStore.Get(ctx, "rt"); string(v) != "rt-4" {
		t.Fatalf("stored %q, want rt-4", v)
	}
	// A cancelled caller does not abort the write of a rotated token.
	store.cancelOnSet = true
	cctx, cancel := context.WithCancel(ctx)
	store.cancel = cancel
	if _, err := r.Token(cctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Token: %v", err)
	}
	r.sem <- struct{}{} // the refresh, which may outlive its caller, is over
	<-r.sem
	if v, _ := store.MemoryStore.Get(ctx, "rt"); string(v) != "rt-5" {
		t.Fatalf("stored %q after the caller was cancelled mid-refresh, want rt-5", v)
	}
}

func TestRefresherInvalidGrantRereadsStore(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	store := NewMemoryStore()
	store.Set(ctx, "rt", []byte("revoked"))
	r, _ := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	_, err := r.Token(ctx)
	if !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("err = %v", err)
	}
	store.Set(ctx, "rt", []byte("rt-reprovisioned"))
	if tok, err := r.Token(ctx); err != nil || tok.Value() != "at-1" {
		t.Fatalf("after re-provisioning: %v %v", tok, err)
	}
	if _, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), nil, "rt"); err == nil {
		t.Fatal("nil store accepted")
	}
	empty, _ := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), NewMemoryStore(), "rt")
	if _, err := empty.Token(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no refresh token provisioned: %v", err)
	}
}

func TestRefresherSerialisesRefreshes(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	store := NewMemoryStore()
	store.Set(ctx, "rt", []byte("rt-0"))
	r, _ := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := r.Token(ctx); err != nil {
				t.Errorf("concurrent refresh: %v (a refresh token was used twice)", err)
			}
		})
	}
	wg.Wait()
}

type recordingStore struct {
	*MemoryStore
	failSet     error
	cancelOnSet bool
	cancel      context.CancelFunc
}

func (s *recordingStore) Set(ctx context.Context, key string, v []byte) error {
	if s.failSet != nil {
		return s.failSet
	}
	if s.cancelOnSet {
		s.cancel()
		s.cancelOnSet = false
	}
	return s.MemoryStore.Set(ctx, key, v)
}

func pemOf(t *testing.T, key any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestPrivateKeyJWT(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  string
		want string
	}{
		{"rsa", rsaKey, "", "RS256"},
		{"rsa-pss", rsaKey, "PS256", "PS256"},
		{"ec", ecKey, "", "ES256"},
		{"ed25519", edKey, "", "EdDSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var assertions []string
			as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
				if _, _, basic := r.BasicAuth(); basic || f.Get("client_secret") != "" {
					t.Error("private_key_jwt also sent a client secret")
				}
				if f.Get("client_assertion_type") != clientAssertionType || f.Get("client_id") != "client-1" {
					t.Errorf("form = %v", f)
				}
				assertions = append(assertions, f.Get("client_assertion"))
				issue(w, "at", "rt-next")
			})
			store := NewMemoryStore()
			store.Set(context.Background(), "client-key", pemOf(t, tc.key))
			store.Set(context.Background(), "rt", []byte("rt-0"))
			auth := PrivateKeyJWT(PrivateKeyJWTConfig{Key: FromStore(store, "client-key"), KeyID: "k1", Algorithm: tc.alg, Lifetime: 90 * time.Second})
			cfg := as.config(auth)
			cc, err := NewClientCredentials(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cc.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The refresh grant authenticates the same way.
			r, _ := NewRefresher(cfg, store, "rt")
			if _, err := r.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(assertions) != 2 {
				t.Fatalf("%d assertions", len(assertions))
			}
			jtis := map[string]bool{}
			for _, a := range assertions {
				claims := jwt.MapClaims{}
				tok, err := jwt.ParseWithClaims(a, claims, func(tok *jwt.Token) (any, error) { return tc.key.Public(), nil },
					jwt.WithValidMethods([]string{tc.want}), jwt.WithAudience(cfg.TokenURL), jwt.WithIssuer("client-1"),
					jwt.WithSubject("client-1"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
				if err != nil {
					t.Fatalf("assertion does not verify: %v", err)
				}
				if tok.Header["kid"] != "k1" {
					t.Errorf("kid = %v", tok.Header["kid"])
				}
				if _, ok := claims["aud"].(string); !ok {
					t.Errorf("aud is %T, want a single string", claims["aud"])
				}
				if life := claims["exp"].(float64) - claims["iat"].(float64); life != 90 {
					t.Errorf("lifetime %v s", life)
				}
				jti, _ := claims["jti"].(string)
				if len(jti) < 20 || jtis[jti] {
					t.Errorf("jti %q missing or reused", jti)
				}
				jtis[jti] = true
			}
		})
	}
}

func TestPrivateKeyJWTConfigErrors(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	base := OAuth2Config{TokenURL: "https://as.example/token", ClientID: "c"}
	for name, cfg := range map[string]PrivateKeyJWTConfig{
		"neither":       {},
		"both":          {Signer: rsaKey, Key: StaticSecret(nil)},
		"alg mismatch":  {Signer: rsaKey, Algorithm: "ES256"},
		"unknown alg":   {Key: StaticSecret(nil), Algorithm: "XX999"},
		"neg lifetime":  {Signer: rsaKey, Lifetime: -time.Second},
		"bad key type":  {Signer: fakeSigner{}},
		"hmac disguise": {Signer: rsaKey, Algorithm: "HS256"},
	} {
		c := base
		c.Auth = PrivateKeyJWT(cfg)
		var ce *ConfigError
		if _, err := NewClientCredentials(c); !errors.As(err, &ce) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A bad PEM in the store fails the token request, without key bytes in
	// the message.
	c := base
	c.Auth = PrivateKeyJWT(PrivateKeyJWTConfig{Key: StaticSecret([]byte("-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5\n-----END PRIVATE KEY-----\n"))})
	cc, err := NewClientCredentials(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err == nil || strings.Contains(err.Error(), "bm90") {
		t.Fatalf("bad PEM: %v", err)
	}
}

type fakeSigner struct{}

func (fakeSigner) Public() crypto.PublicKey { return nil }
func (fakeSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no")
}

func TestParsePrivateKeyFormats(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	for name, b := range map[string][]byte{
		"pkcs8": pemOf(t, rsaKey),
		"pkcs1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
		"sec1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}),
	} {
		if _, err := ParsePrivateKey(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":  nil,
		"cert":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
		"garble": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := ParsePrivateKey(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestOAuth2Adapters(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	ot := &oauth2.Token{AccessToken: "at", TokenType: "bearer", RefreshToken: "rt", Expiry: exp}
	src := FromOAuth2(oauth2.StaticTokenSource(ot))
	tok, err := src.Token(context.Background())
	if err != nil || tok.Value() != "at" || tok.Type() != "Bearer" || !tok.Expiry().Equal(exp) {
		t.Fatalf("FromOAuth2 = %v %v", tok, err)
	}
	if strings.Contains(fmt.Sprintf("%+v", tok), "rt") && strings.Contains(fmt.Sprintf("%+v", tok), "at") {
		t.Fatal("token printed")
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Token(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := FromOAuth2(oauth2.StaticTokenSource(&oauth2.Token{})).Token(context.Background()); !errors.Is(err, ErrNoToken) {
		t.Fatalf("empty: %v", err)
	}
	re := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant", Body: []byte("secret body")}
	_, err = FromOAuth2(errSource{re}).Token(context.Background())
	if !errors.Is(err, ErrInvalidGrant) || strings.Contains(err.Error(), "secret body") {
		t.Fatalf("FromOAuth2 error: %v", err)
	}

	// And back: a Source used where an oauth2.TokenSource is wanted.
	back := ToOAuth2(context.Background(), Static(NewToken("v", "Bearer", exp)))
	o, err := back.Token()
	if err != nil || o.AccessToken != "v" || o.Type() != "Bearer" || !o.Expiry.Equal(exp) {
		t.Fatalf("ToOAuth2 = %+v %v", o, err)
	}
	if _, err := ToOAuth2(context.Background(), Static(Token{})).Token(); !errors.Is(err, ErrNoToken) {
		t.Fatalf("ToOAuth2 error: %v", err)
	}
	if !FromOAuth2Token(nil).IsZero() {
		t.Fatal("FromOAuth2Token(nil)")
	}
}

type errSource struct{ err error }

func (e errSource) Token() (*oauth2.Token, error) { return nil, e.err }

// A caller that gives up while its refresh request is in flight does not
// lose the rotated refresh token: the server has already rotated it (the
// old one is dead), so the refresh goes on, detached, and persists the new
// one. Otherwise the next refresh sends the dead token: invalid_grant, and
// with reuse detection the whole grant is revoked.
func TestRefresherCancelledCallerKeepsRotatedToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan struct{})
	var mu sync.Mutex
	used := map[string]bool{}
	n := 0
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		rt := f.Get("refresh_token")
		mu.Lock()
		dead := used[rt]
		used[rt] = true // rotated: rt is dead from now on
		n++
		n := n
		mu.Unlock()
		if dead {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		if n == 1 {
			cancel() // the caller gives up while we answer
			select {
			case <-r.Context().Done(): // the client hung up: the answer is lost
				return
			case <-returned:
			}
		}
		issue(w, fmt.Sprintf("at-%d", n), fmt.Sprintf("rt-%d", n))
	})
	store := NewMemoryStore()
	store.Set(context.Background(), "rt", []byte("rt-0"))
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Token = %v", err)
	}
	close(returned)
	tok, err := r.Token(context.Background())
	if err != nil || tok.Value() != "at-2" {
		t.Fatalf("Token after a cancelled refresh = %v, %v; want at-2 from the rotated rt-1", tok, err)
	}
}

// A caller whose context has already ended starts no refresh: the refresh
// would run detached (it outlives callers that give up mid-request), so
// one started for a caller that was gone before it began is a token
// request, and a refresh-token rotation, that nobody asked for.
func TestRefresherCancelledBeforeStartSendsNothing(t *testing.T) {
	var mu sync.Mutex
	n := 0
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		issue(w, fmt.Sprintf("at-%d", k), fmt.Sprintf("rt-%d", k))
	})
	store := NewMemoryStore()
	store.Set(context.Background(), "rt", []byte("rt-0"))
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, err := r.Token(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Token with a cancelled context = %v", err)
		}
	}
	r.sem <- struct{}{} // any refresh started is over
	<-r.sem
	mu.Lock()
	defer mu.Unlock()
	if n != 0 {
		t.Fatalf("%d token requests for callers already gone, want 0", n)
	}
}

// RFC 6749 §7.1: "The client MUST NOT use an access token if it does not
// understand the token type." Only Bearer tokens (any case; a missing
// token_type is taken as Bearer, as x/oauth2 does) can be put on requests:
// a DPoP-bound token sent without a proof, or a MAC token sent as a header
// value, only earns 401s and token requests. A rotated refresh token is
// still persisted when the access token is refused.
func TestTokenTypeMustBeBearer(t *testing.T) {
	typ := ""
	n := 0
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		n++
		m := map[string]any{"access_token": "at", "expires_in": 3600, "refresh_token": fmt.Sprintf("rt-%d", n)}
		if typ != "-" {
			m["token_type"] = typ
		}
		writeJSON(w, 200, m)
	})
	ctx := context.Background()
	cc, _ := NewClientCredentials(as.config(ClientSecretBasic(StaticSecret([]byte("s")))))
	for _, good := range []string{"Bearer", "bearer", "BEARER", "-"} {
		typ = good
		if tok, err := cc.Token(ctx); err != nil || tok.Type() != "Bearer" {
			t.Errorf("token_type %q: %v %v", good, tok, err)
		}
	}
	for _, bad := range []string{"DPoP", "mac", "N_A", "Basic", "Bearer x"} {
		typ = bad
		if tok, err := cc.Token(ctx); err == nil || !tok.IsZero() {
			t.Errorf("token_type %q accepted: %v (header %q)", bad, tok, tok.HeaderValue())
		} else if !errors.Is(err, ErrUnsupportedTokenType) || !errors.Is(err, ErrNoToken) {
			t.Errorf("token_type %q: err = %v; want ErrUnsupportedTokenType and ErrNoToken", bad, err)
		}
	}
	store := NewMemoryStore()
	store.Set(ctx, "rt", []byte("rt-0"))
	r, _ := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
	typ = "DPoP"
	if tok, err := r.Token(ctx); err == nil || !tok.IsZero() {
		t.Errorf("refresh: DPoP token accepted: %v", tok)
	}
	if v, _ := store.Get(ctx, "rt"); string(v) != fmt.Sprintf("rt-%d", n) {
		t.Errorf("rotated refresh token not persisted: store has %q", v)
	}
}

// RFC 7518 §3.3 and §3.5: "A key of size 2048 bits or larger MUST be used"
// with RS* and PS*. A 1024-bit RSA key is refused, as a Signer (at
// construction), as a PEM (at the token request, before anything is sent)
// and by ParsePrivateKey.
func TestPrivateKeyJWTRefusesShortRSAKeys(t *testing.T) {
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	base := OAuth2Config{TokenURL: "https://as.example/token", ClientID: "c"}
	c := base
	c.Auth = PrivateKeyJWT(PrivateKeyJWTConfig{Signer: short})
	var ce *ConfigError
	if _, err := NewClientCredentials(c); !errors.As(err, &ce) {
		t.Errorf("1024-bit Signer: %v", err)
	}
	if _, err := ParsePrivateKey(pemOf(t, short)); err == nil {
		t.Error("ParsePrivateKey accepted a 1024-bit RSA key")
	}
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at", "") })
	c = as.config(PrivateKeyJWT(PrivateKeyJWTConfig{Key: StaticSecret(pemOf(t, short))}))
	cc, err := NewClientCredentials(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err == nil || as.count() != 0 {
		t.Errorf("1024-bit PEM key: err %v, %d token requests", err, as.count())
	}
}

// With a Key (the key type is known only at the first token request), an
// Algorithm no supported key can use ("none", HMAC) is still a bad
// configuration: a *ConfigError naming the option at construction, not a
// failure of every token request.
func TestPrivateKeyJWTKeyAlgorithmIsCheckedUpFront(t *testing.T) {
	for _, alg := range []string{"none", "HS256", "HS512"} {
		c := OAuth2Config{TokenURL: "https://as.example/token", ClientID: "c",
			Auth: PrivateKeyJWT(PrivateKeyJWTConfig{Key: StaticSecret([]byte("k")), Algorithm: alg})}
		var ce *ConfigError
		if _, err := NewClientCredentials(c); !errors.As(err, &ce) || ce.Option != "PrivateKeyJWTConfig.Algorithm" {
			t.Errorf("Algorithm %q with a Key: %v", alg, err)
		}
	}
	for _, alg := range []string{"RS256", "PS512", "ES384", "EdDSA"} {
		c := OAuth2Config{TokenURL: "https://as.example/token", ClientID: "c",
			Auth: PrivateKeyJWT(PrivateKeyJWTConfig{Key: StaticSecret([]byte("k")), Algorithm: alg})}
		if _, err := NewClientCredentials(c); err != nil {
			t.Errorf("Algorithm %q with a Key refused: %v", alg, err)
		}
	}
}

// The config is copied at construction, EndpointParams included (as
// Scopes is): a caller that reuses or changes its url.Values afterwards
// neither changes what is sent nor races with token requests.
func TestEndpointParamsCopied(t *testing.T) {
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at", "") })
	cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
	cfg.EndpointParams = url.Values{"audience": {"https://api.example"}}
	cc, err := NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.EndpointParams.Set("audience", "https://other.example")
	cfg.EndpointParams["resource"] = []string{"https://other.example"}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f := as.lastForm(); f.Get("audience") != "https://api.example" || f.Has("resource") {
		t.Fatalf("form = %v: a change to the caller's EndpointParams after construction was sent", f)
	}
}

// TestEndpointParamsClashIsConfigError: an EndpointParams key that the
// token request sets itself cannot work. "scope" next to Scopes made every
// token request fail at run time (x/oauth2 refuses to overwrite it), and a
// client authentication parameter would send a second authentication
// method (RFC 6749 §2.3) or be silently replaced. Both are configuration
// mistakes, reported when the source is built.
func TestEndpointParamsClashIsConfigError(t *testing.T) {
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at", "") })
	for _, key := range []string{"scope", "client_id", "client_secret", "client_assertion", "client_assertion_type"} {
		cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
		cfg.EndpointParams = url.Values{key: {"x"}}
		_, err := NewClientCredentials(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "EndpointParams" || !strings.Contains(err.Error(), key) {
			t.Errorf("EndpointParams[%q]: err = %v, want a *ConfigError naming EndpointParams and the key", key, err)
		}
	}
	// "scope" without Scopes is how a caller sends the parameter itself.
	cfg := as.config(ClientSecretBasic(StaticSecret([]byte("s"))))
	cfg.Scopes = nil
	cfg.EndpointParams = url.Values{"scope": {"api.read"}}
	cc, err := NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Token(context.Background()); err != nil || as.lastForm().Get("scope") != "api.read" {
		t.Fatalf("scope in EndpointParams alone: %v, form %v", err, as.lastForm())
	}
}
