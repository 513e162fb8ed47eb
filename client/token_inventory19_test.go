package client_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// The client promises an inventory of every API the service calls and an
// audit record of every call, but its OAuth2 token requests
// (WithOAuth2ClientCredentials) went straight to the base transport:
// neither the inventory nor the audit log showed that the service calls
// the token endpoint, nor with which credential. Each token request is now
// an entry (POST, the token endpoint's origin and path, the client
// authentication as the inventory names it: basic for client_secret_basic,
// other for client_secret_post and private_key_jwt) and an audit record
// (status, 1 attempt), and no secret the request or its answer carries
// (client secret, client assertion, access, refresh and ID tokens) is in
// either.
func TestTokenRequestsInInventoryAndAuditLog(t *testing.T) {
	_, jwtKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		auth tokens.ClientAuth
		kind string
		own  bool // the caller's HTTPClient sends the token requests
	}{
		{"client_secret_basic", tokens.ClientSecretBasic(tokens.StaticSecret([]byte("CANARY-secret-basic"))), "basic", false},
		{"client_secret_post", tokens.ClientSecretPost(tokens.StaticSecret([]byte("CANARY-secret-post"))), "other", false},
		{"private_key_jwt", tokens.PrivateKeyJWT(tokens.PrivateKeyJWTConfig{Signer: jwtKey, KeyID: "k1"}), "other", false},
		{"caller_httpclient", tokens.ClientSecretBasic(tokens.StaticSecret([]byte("CANARY-secret-own"))), "basic", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var secrets []string // what the token endpoint received as credentials
			tokenSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				mu.Lock()
				if _, pw, ok := r.BasicAuth(); ok {
					secrets = append(secrets, pw, r.Header.Get("Authorization"))
				}
				for _, k := range []string{"client_secret", "client_assertion"} {
					if v := r.PostForm.Get(k); v != "" {
						secrets = append(secrets, v)
					}
				}
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token":"CANARY-access","token_type":"Bearer","expires_in":3600,`+
					`"refresh_token":"CANARY-refresh","id_token":"CANARY-idtoken"}`)
			}))
			apiSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer CANARY-access" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				io.WriteString(w, "ok")
			}))
			origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)
			var hc *http.Client
			if tc.own {
				ca, _ := testPKI()
				tr := &http.Transport{TLSClientConfig: testpkiTrust(ca)}
				t.Cleanup(tr.CloseIdleConnections)
				hc = &http.Client{Transport: tr}
			}
			var audit syncBuffer
			logger := slog.New(slog.NewJSONHandler(&audit, nil))
			c, err := client.New(opts(loopback(),
				client.WithOrigins(origin),
				client.WithAuditLog(logger),
				client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
					TokenURL:   tokenOrigin + "/oauth/token?tenant=CANARY-tenant",
					ClientID:   "inv19",
					Auth:       tc.auth,
					HTTPClient: hc,
				}),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for range 2 { // the second call uses the cached token
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, origin+"/v1/things", nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("call: status %d, want 200 (the token was not attached)", resp.StatusCode)
				}
			}
			mu.Lock()
			sent := slices.Clone(secrets)
			mu.Unlock()
			if len(sent) == 0 {
				t.Fatal("the token endpoint saw no client credential")
			}
			sent = append(sent, "CANARY-access", "CANARY-refresh", "CANARY-idtoken", "CANARY-tenant")

			// The inventory: one entry for the token endpoint.
			snap := c.Inventory().Snapshot()
			var found bool
			for _, e := range snap.Entries {
				if e.Route != "/oauth/token" {
					continue
				}
				found = true
				wantOrigin := tokenOrigin
				if e.Method != http.MethodPost || e.Origin != wantOrigin || e.Calls != 1 || e.Status["2xx"] != 1 {
					t.Errorf("token entry %+v: want POST %s /oauth/token, 1 call, 2xx", e, wantOrigin)
				}
				if !slices.Contains(e.Auth, tc.kind) || slices.Contains(e.Auth, "none") {
					t.Errorf("token entry auth %v, want %q (and not none)", e.Auth, tc.kind)
				}
				if !slices.Equal(e.TLS, []string{"TLS 1.3"}) {
					t.Errorf("token entry TLS %v, want [TLS 1.3]", e.TLS)
				}
			}
			if !found {
				t.Fatalf("no inventory entry for the token endpoint: %+v", snap.Entries)
			}
			invJSON, err := c.Inventory().MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}

			// The audit log: one record of the token request.
			out := audit.String()
			var tokenRecords int
			for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("audit line %q: %v", line, err)
				}
				if rec["url.template"] != "/oauth/token" {
					continue
				}
				tokenRecords++
				if rec["http.request.method"] != "POST" || rec["http.response.status_code"] != float64(200) ||
					rec["securecall.attempts"] != float64(1) || rec["securecall.auth"] != tc.kind {
					t.Errorf("token request's audit record %v: want POST, 200, 1 attempt, auth %s", rec, tc.kind)
				}
			}
			if tokenRecords != 1 {
				t.Errorf("%d audit records of the token request, want 1:\n%s", tokenRecords, out)
			}

			for _, s := range sent {
				if strings.Contains(string(invJSON), s) {
					t.Errorf("the inventory JSON holds the secret %q", s)
				}
				if strings.Contains(out, s) {
					t.Errorf("the audit log holds the secret %q", s)
				}
			}
		})
	}
}
