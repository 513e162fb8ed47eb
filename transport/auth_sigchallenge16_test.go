package transport_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// rejectFirstNonces is a NonceStore that refuses its first claim as a
// replay (the first send's nonce was claimed before: net/http's resend of
// a request whose connection broke) and accepts every other new nonce.
type rejectFirstNonces struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *rejectFirstNonces) Claim(_ context.Context, keyID, nonce string, _, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{keyID + " " + nonce: true}
		return signer.ErrReplay
	}
	if s.seen[keyID+" "+nonce] {
		return signer.ErrReplay
	}
	s.seen[keyID+" "+nonce] = true
	return nil
}

// bearerAndSignatureServer is an API that checks our signature
// (signer.Middleware, with nonces) and then a bearer token its token
// endpoint issued, and that endpoint, counting its token requests.
// rejectToken, when set, makes the API refuse the first token it sees with
// RFC 6750's Bearer error="invalid_token".
type bearerAndSignatureServer struct {
	api, as   *httptest.Server
	fetches   atomic.Int32
	apiCalls  atomic.Int32
	mu        sync.Mutex
	issued    map[string]bool
	refused   bool
	nonceSeen []string
}

func newBearerAndSignatureServer(t *testing.T, nonces signer.NonceStore, rejectToken bool) *bearerAndSignatureServer {
	t.Helper()
	s := &bearerAndSignatureServer{issued: map[string]bool{}}
	s.as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		at := "at" + strconv.Itoa(int(s.fetches.Add(1)))
		s.mu.Lock()
		s.issued[at] = true
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"`+at+`","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(s.as.Close)
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(signKey(t)), Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	bearer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		ok := s.issued[tok]
		if ok && rejectToken && !s.refused {
			s.refused, ok = true, false
		}
		s.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	})
	s.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.apiCalls.Add(1)
		if in, err := signer.ParseSignatureInput(r.Header.Values("Signature-Input")...); err == nil && len(in) == 1 {
			s.mu.Lock()
			s.nonceSeen = append(s.nonceSeen, in[0].Nonce)
			s.mu.Unlock()
		}
		v.Middleware(bearer).ServeHTTP(w, r)
	}))
	t.Cleanup(s.api.Close)
	return s
}

// client returns an attempt scope over the auth layer (a tokens.Cache over
// client credentials at s's token endpoint) over the sign layer, the order
// client.New stacks them in.
func (s *bearerAndSignatureServer) client(t *testing.T) http.RoundTripper {
	t.Helper()
	cc, err := tokens.NewClientCredentials(tokens.OAuth2Config{
		TokenURL: s.as.URL, ClientID: "c",
		Auth: tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	cache := authCache(t, cc)
	scope := mustOrigins(t, s.api.URL)
	auth, err := transport.NewAuth(newSignLayer(t, s.api.Client().Transport, scope, nil), transport.AuthConfig{Source: cache, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	return transport.NewAttemptScope(auth)
}

// A server checking both a bearer token and our signature refuses the
// first send's signature (its nonce already claimed) with a 401 that
// says so (WWW-Authenticate: Signature, Accept-Signature). The auth layer
// used to take every 401 for a rejected token: it dropped a good token
// and fetched another (2 token requests for one call). The token is kept
// now; the request is still replayed once, signed afresh, and succeeds
// with one token request.
func TestAuthSignature401KeepsToken(t *testing.T) {
	s := newBearerAndSignatureServer(t, &rejectFirstNonces{}, false)
	rt := s.client(t)
	req, _ := http.NewRequest(http.MethodGet, s.api.URL+"/v1/items?x=1", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("got %d %q, want 200 ok after the replay", resp.StatusCode, body)
	}
	if n := s.apiCalls.Load(); n != 2 {
		t.Fatalf("%d API requests, want 2 (one replay)", n)
	}
	if s.nonceSeen[0] == "" || s.nonceSeen[0] == s.nonceSeen[1] {
		t.Fatalf("nonces %q: the replay was not signed afresh", s.nonceSeen)
	}
	if n := s.fetches.Load(); n != 1 {
		t.Fatalf("%d token requests, want 1: the 401 was about the signature, not the token", n)
	}
}

// The control: the same stack against the same server refusing the first
// token (Bearer error="invalid_token") still drops it, fetches a new one
// and replays once.
func TestAuthBearer401StillRefreshes(t *testing.T) {
	s := newBearerAndSignatureServer(t, signer.NewMemoryNonceStore(0), true)
	rt := s.client(t)
	req, _ := http.NewRequest(http.MethodPost, s.api.URL+"/v1/items", strings.NewReader(`{"n":1}`))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("got %d %q, want 200 ok after the replay", resp.StatusCode, body)
	}
	if n, f := s.apiCalls.Load(), s.fetches.Load(); n != 2 || f != 2 {
		t.Fatalf("%d API requests, %d token requests; want 2 and 2", n, f)
	}
}

// What a 401 that is not about the bearer token does to the auth layer:
// it keeps the token (the next call sends it again, no token request),
// and replays once, with that token, only when the 401 asks for a
// signature (Accept-Signature: a fresh one may be accepted); any other is
// returned as it is. 401s about the token, or that do not say (no
// challenge at all), drop it and replay with a new one as before.
func TestAuth401ChallengeNotAboutToken(t *testing.T) {
	const askSig = `sig1=("@method" "@authority" "@path" "@query");created`
	for _, tc := range []struct {
		name     string
		hdr      []string // name, value pairs on the first answer
		sends    int      // for the call
		second   string   // token of the replay ("" none)
		fetches  int32    // for the call and the one after it
		nextSent string   // token the next call sends
		unsigned bool     // the request goes out without a signature (no sign layer below)
	}{
		{name: "signature challenge", hdr: []string{"WWW-Authenticate", "Signature", "Accept-Signature", askSig},
			sends: 2, second: "Bearer t1", fetches: 1, nextSent: "Bearer t1"},
		{name: "signature challenge, request not signed", hdr: []string{"WWW-Authenticate", "Signature", "Accept-Signature", askSig},
			unsigned: true, sends: 1, fetches: 1, nextSent: "Bearer t1"},
		{name: "Accept-Signature beside Basic", hdr: []string{"WWW-Authenticate", `Basic realm="x"`, "Accept-Signature", askSig},
			sends: 2, second: "Bearer t1", fetches: 1, nextSent: "Bearer t1"},
		{name: "Basic only", hdr: []string{"WWW-Authenticate", `Basic realm="a, Bearer error=\"invalid_token\""`},
			sends: 1, fetches: 1, nextSent: "Bearer t1"},
		{name: "two fields, no Bearer", hdr: []string{"WWW-Authenticate", `Negotiate abc==`, "WWW-Authenticate", `Signature`},
			sends: 1, fetches: 1, nextSent: "Bearer t1"},
		{name: "no challenge, Accept-Signature", hdr: []string{"Accept-Signature", askSig},
			sends: 2, second: "Bearer t2", fetches: 2, nextSent: "Bearer t2"},
		{name: "Signature and Bearer invalid_token", hdr: []string{"WWW-Authenticate", `Signature, Bearer error="invalid_token"`, "Accept-Signature", askSig},
			sends: 2, second: "Bearer t2", fetches: 2, nextSent: "Bearer t2"},
		{name: "bearer lower case", hdr: []string{"WWW-Authenticate", `bearer error=invalid_token`},
			sends: 2, second: "Bearer t2", fetches: 2, nextSent: "Bearer t2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &seqSource{}
			first := transporttest.Respond(401, "denied", tc.hdr...)
			next := transporttest.NewResponder(first, transporttest.Respond(200, "ok"), transporttest.Respond(200, "ok"))
			rt := newAuth(t, next, authCache(t, src))
			req := authReq(t, "POST", "https://api.example.test/v1", `{"n":1}`)
			if !tc.unsigned {
				// What a sign layer below would have added.
				req.Header.Set("Signature-Input", `sig1=("@method");created=1`)
				req.Header.Set("Signature", `sig1=:AAAA:`)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			reqs := next.Requests()
			if len(reqs) != tc.sends {
				t.Fatalf("%d sends, want %d", len(reqs), tc.sends)
			}
			if tc.sends == 1 {
				if resp.StatusCode != 401 || string(body) != "denied" {
					t.Fatalf("got %d %q, want the 401 intact", resp.StatusCode, body)
				}
			} else {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d after the replay", resp.StatusCode)
				}
				if got := reqs[1].Header.Get("Authorization"); got != tc.second {
					t.Fatalf("replay sent %q, want %q", got, tc.second)
				}
				if string(reqs[1].Body) != `{"n":1}` {
					t.Fatalf("replay body %q", reqs[1].Body)
				}
				if b := next.Bodies()[0]; !b.Closed() || !b.Drained() {
					t.Fatal("discarded 401 body not drained and closed")
				}
			}
			roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1", ""))
			if got := next.Requests()[tc.sends].Header.Get("Authorization"); got != tc.nextSent {
				t.Fatalf("next call sent %q, want %q", got, tc.nextSent)
			}
			if n := src.n.Load(); n != tc.fetches {
				t.Fatalf("%d token fetches, want %d", n, tc.fetches)
			}
			if err := next.Unclosed(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The API-key layer names no scheme: a 401 whose challenges are all the
// signature verifier's keeps the key (no second read of the key's store)
// and is replayed with it when it asks for a signature; any other
// challenge drops the key as before.
func TestAPIKeySignature401KeepsKey(t *testing.T) {
	for _, tc := range []struct {
		challenge string
		fetches   int32
		second    string
	}{
		{"Signature", 1, "t1"},
		{`Signature, ApiKey realm="x"`, 2, "t2"},
	} {
		t.Run(tc.challenge, func(t *testing.T) {
			src := &seqSource{}
			next := transporttest.NewResponder(
				transporttest.Respond(401, "denied", "WWW-Authenticate", tc.challenge, "Accept-Signature", `sig1=("@method");created`),
				transporttest.Respond(200, "ok"))
			cache, err := tokens.NewCache(tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
				tok, err := src.Token(ctx)
				return tokens.NewToken(strings.TrimPrefix(tok.HeaderValue(), "Bearer "), "", tok.Expiry()), err
			}))
			if err != nil {
				t.Fatal(err)
			}
			rt, err := transport.NewAPIKey(next, transport.APIKeyConfig{Source: cache, Scope: apiOrigins})
			if err != nil {
				t.Fatal(err)
			}
			req := authReq(t, "GET", "https://api.example.test/v1", "")
			req.Header.Set("Signature-Input", `sig1=("@method");created=1`) // as a sign layer below would
			req.Header.Set("Signature", `sig1=:AAAA:`)
			resp := roundTripOK(t, rt, req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d after the replay", resp.StatusCode)
			}
			reqs := next.Requests()
			if len(reqs) != 2 || reqs[1].Header.Get(transport.DefaultAPIKeyHeader) != tc.second {
				t.Fatalf("%d sends, replay key %q; want 2 and %q", len(reqs), reqs[len(reqs)-1].Header.Get(transport.DefaultAPIKeyHeader), tc.second)
			}
			if n := src.n.Load(); n != tc.fetches {
				t.Fatalf("%d key reads, want %d", n, tc.fetches)
			}
		})
	}
}
