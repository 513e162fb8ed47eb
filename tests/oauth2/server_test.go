package oauth2

// A real OAuth2 authorization server for the tests: ory/fosite (the engine
// inside Ory Hydra) embedded on an httptest TLS server, with client
// credentials, password (to obtain a first refresh token), refresh_token
// with rotation and reuse detection, RFC 7009 revocation and RFC 7662
// introspection; plus a protected resource server that checks tokens with
// fosite. Recipe: ../../../shared/research/real-components.md §3.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/storage"
	"golang.org/x/crypto/bcrypt"
)

const (
	clientID     = "sdk-client"
	clientSecret = "sdk-secret"
	jwtClientID  = "jwt-client"
	jwtKeyID     = "jwt-key-1"
)

// authServer is a running fosite authorization server and resource server.
type authServer struct {
	t        *testing.T
	provider fosite.OAuth2Provider
	as       *httptest.Server // /token, /revoke, /introspect
	rs       *httptest.Server // /resource (protected)
	client   *http.Client     // trusts both servers' certificates
	jwtKey   *rsa.PrivateKey  // private_key_jwt key of jwtClientID

	down atomic.Bool // the token endpoint answers 503 without asking fosite

	store *storage.MemoryStore // fosite's storage (tokens by signature)

	// grants serialises the token and revocation endpoints' use of store,
	// and the resource server's reads of it wait for them: fosite v0.49's
	// MemoryStore.RevokeRefreshToken (called by a rotating refresh) writes
	// a map without the lock its GetRefreshTokenSession reads it under, a
	// data race -race reported when two refreshes arrived at once
	// (TestReview18TwoProcessesRefreshAtOnce) and when the resource server
	// looked a token that is no live access token up among the refresh
	// tokens during a rotation (TestServerResourceDuringRotation). A real
	// authorization server's store is transactional; the second of two
	// refreshes of one token then meets reuse detection, as here.
	grants sync.RWMutex

	// describe, when set, rewrites the error_description of every error
	// answer of the token endpoint (a server that echoes what it got).
	describe atomic.Pointer[func(form url.Values) string]

	mu            sync.Mutex
	tokenRequests map[string]int // by grant_type, including refused ones
	downRequests  int            // token requests answered 503 while down
	resourceHits  int
}

// newAuthServer starts the servers with access tokens that live ttl (use
// at least 2 s: expires_in is whole seconds, and 1 s or less gives 0, which
// x/oauth2 reads as "never expires").
func newAuthServer(t *testing.T, ttl time.Duration) *authServer {
	t.Helper()
	store := storage.NewMemoryStore() // (NewExampleStore leaves the jti map nil)
	store.Users["peter"] = storage.MemoryUserRelation{Username: "peter", Password: "secret"}
	hash, err := bcrypt.GenerateFromPassword([]byte(clientSecret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	store.Clients[clientID] = &fosite.DefaultClient{
		ID:         clientID,
		Secret:     hash,
		GrantTypes: []string{"client_credentials", "refresh_token", "password"},
		Scopes:     []string{"api.read", "api.write", "offline"},
	}
	jwtKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	store.Clients[jwtClientID] = &fosite.DefaultOpenIDConnectClient{
		DefaultClient: &fosite.DefaultClient{
			ID:         jwtClientID,
			GrantTypes: []string{"client_credentials", "refresh_token", "password"},
			Scopes:     []string{"api.read", "offline"},
		},
		JSONWebKeys: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: jwtKey.Public(), KeyID: jwtKeyID, Algorithm: "RS256", Use: "sig",
		}}},
		TokenEndpointAuthMethod:           "private_key_jwt",
		TokenEndpointAuthSigningAlgorithm: "RS256",
	}

	s := &authServer{t: t, jwtKey: jwtKey, tokenRequests: map[string]int{}, store: store}
	asMux := http.NewServeMux()
	s.as = httptest.NewUnstartedServer(asMux)
	s.as.StartTLS()
	t.Cleanup(s.as.Close)

	cfg := &fosite.Config{
		AccessTokenLifespan:  ttl,
		RefreshTokenLifespan: time.Hour,
		GlobalSecret:         []byte("a-32-byte-long-global-hmac-secret!"),
		TokenURL:             s.as.URL + "/token", // the aud of private_key_jwt assertions
	}
	oidcKey, err := rsa.GenerateKey(rand.Reader, 2048) // only for OpenID id_tokens
	if err != nil {
		t.Fatal(err)
	}
	s.provider = compose.ComposeAllEnabled(cfg, store, oidcKey)

	asMux.HandleFunc("/token", s.token)
	asMux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) {
		s.grants.Lock()
		defer s.grants.Unlock()
		s.provider.WriteRevocationResponse(r.Context(), w, s.provider.NewRevocationRequest(r.Context(), r))
	})

	rsMux := http.NewServeMux()
	rsMux.HandleFunc("/resource", s.resource)
	s.rs = httptest.NewTLSServer(rsMux)
	t.Cleanup(s.rs.Close)

	pool := x509.NewCertPool()
	pool.AddCert(s.as.Certificate())
	pool.AddCert(s.rs.Certificate())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	s.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return s
}

func (s *authServer) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	s.tokenRequests[r.PostForm.Get("grant_type")]++
	if s.down.Load() {
		s.downRequests++
		s.mu.Unlock()
		http.Error(w, "token endpoint down for maintenance", http.StatusServiceUnavailable)
		return
	}
	s.mu.Unlock()
	s.grants.Lock()
	defer s.grants.Unlock()
	ctx := r.Context()
	ar, err := s.provider.NewAccessRequest(ctx, r, &fosite.DefaultSession{Subject: "svc"})
	if err != nil {
		s.writeAccessError(w, r, ar, err)
		return
	}
	for _, sc := range ar.GetRequestedScopes() {
		ar.GrantScope(sc) // test policy: grant what the client may have
	}
	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		s.writeAccessError(w, r, ar, err)
		return
	}
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
}

// writeAccessError writes fosite's error answer, its error_description
// rewritten by describe when that is set.
func (s *authServer) writeAccessError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	d := s.describe.Load()
	if d == nil {
		s.provider.WriteAccessError(r.Context(), w, ar, err)
		return
	}
	rec := httptest.NewRecorder()
	s.provider.WriteAccessError(r.Context(), rec, ar, err)
	var body map[string]any
	if json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		s.t.Errorf("fosite's error answer is no JSON object: %q", rec.Body.String())
	}
	body["error_description"] = (*d)(r.PostForm)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	json.NewEncoder(w).Encode(body)
}

// killAccess deletes an access token from fosite's storage: the resource
// server answers it 401 from then on, the grant (refresh token) untouched.
func (s *authServer) killAccess(tok string) {
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	if err := s.store.DeleteAccessTokenSession(context.Background(), sig); err != nil {
		s.t.Errorf("killAccess: %v", err)
	}
}

// resource is a protected API: 200 "hello" for an active access token,
// 401 with a Bearer invalid_token challenge otherwise.
func (s *authServer) resource(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.resourceHits++
	s.mu.Unlock()
	s.grants.RLock()
	_, _, err := s.provider.IntrospectToken(r.Context(), fosite.AccessTokenFromRequest(r), fosite.AccessToken, &fosite.DefaultSession{})
	s.grants.RUnlock()
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	w.Write([]byte("hello"))
}

// revoke revokes a token (RFC 7009) as the client would.
func (s *authServer) revoke(tok, hint string) {
	s.t.Helper()
	form := url.Values{"token": {tok}, "token_type_hint": {hint}}
	req, _ := http.NewRequest("POST", s.as.URL+"/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		s.t.Fatalf("revoke: %s", resp.Status)
	}
}

// active reports whether fosite still accepts an access token.
func (s *authServer) active(tok string) bool {
	_, _, err := s.provider.IntrospectToken(context.Background(), tok, fosite.AccessToken, &fosite.DefaultSession{})
	return err == nil
}

func (s *authServer) requests(grant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests[grant]
}

func (s *authServer) hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resourceHits
}

func (s *authServer) downCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downRequests
}

// assertionTransport adds a private_key_jwt client assertion for
// jwtClientID to a token request built by x/oauth2 (for the one password
// grant that provisions a refresh token; the code under test builds its
// own assertions).
type assertionTransport struct {
	s    *authServer
	next http.RoundTripper
}

func (a assertionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	req.Body.Close()
	form, _ := url.ParseQuery(string(body))
	jti := make([]byte, 16)
	rand.Read(jti)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": jwtClientID, "sub": jwtClientID, "aud": a.s.as.URL + "/token",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": base64.RawURLEncoding.EncodeToString(jti),
	})
	tok.Header["kid"] = jwtKeyID
	signed, err := tok.SignedString(a.s.jwtKey)
	if err != nil {
		return nil, err
	}
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", signed)
	enc := form.Encode()
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(strings.NewReader(enc))
	r.ContentLength = int64(len(enc))
	return a.next.RoundTrip(r)
}
