package transport_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// A token source's requests sent through NewTokenRequests (a Refresher's
// refresh_token grant, with client_secret_post) are recorded in the
// inventory and the audit log like calls: POST, the endpoint's origin and
// path, 2xx, auth "other" (the refresh token and client secret are form
// values), one attempt, and no secret of the request (client secret,
// refresh token) or of the answer (access, rotated refresh and ID tokens)
// in the inventory JSON or the audit output. The request the endpoint
// gets is the one the source built.
func TestTokenRequestsRecordsRefreshGrant(t *testing.T) {
	var mu sync.Mutex
	var forms []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		mu.Lock()
		forms = append(forms, r.PostForm.Encode())
		mu.Unlock()
		if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != "CANARY-rt-old" ||
			r.PostForm.Get("client_secret") != "CANARY-secret" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"CANARY-access","token_type":"Bearer","expires_in":3600,`+
			`"refresh_token":"CANARY-rt-new","id_token":"CANARY-idtoken"}`)
	}))
	t.Cleanup(srv.Close)

	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	var out strings.Builder
	var outMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		outMu.Lock()
		defer outMu.Unlock()
		return out.Write(p)
	}), nil))
	rt, err := transport.NewTokenRequests(nil, transport.TokenRequestConfig{Inventory: inv, Audit: &transport.AuditConfig{Logger: logger}})
	if err != nil {
		t.Fatal(err)
	}
	store := tokens.NewMemoryStore()
	if err := store.Set(context.Background(), "rt", []byte("CANARY-rt-old")); err != nil {
		t.Fatal(err)
	}
	ref, err := tokens.NewRefresher(tokens.OAuth2Config{
		TokenURL:   srv.URL + "/oauth2/token",
		ClientID:   "c19",
		Auth:       tokens.ClientSecretPost(tokens.StaticSecret([]byte("CANARY-secret"))),
		HTTPClient: &http.Client{Transport: rt},
	}, store, "rt")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ref.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Value() != "CANARY-access" {
		t.Fatalf("token %q", tok.Value())
	}
	mu.Lock()
	if len(forms) != 1 || forms[0] != "client_id=c19&client_secret=CANARY-secret&grant_type=refresh_token&refresh_token=CANARY-rt-old" {
		t.Errorf("the endpoint got %q, want the Refresher's one form", forms)
	}
	mu.Unlock()

	snap := inv.Snapshot()
	if len(snap.Entries) != 1 {
		t.Fatalf("inventory entries %+v, want the token endpoint's", snap.Entries)
	}
	e := snap.Entries[0]
	if e.Method != http.MethodPost || e.Origin != "http://127.0.0.1:"+srv.URL[strings.LastIndexByte(srv.URL, ':')+1:] ||
		e.Route != "/oauth2/token" || e.Calls != 1 || e.Status["2xx"] != 1 || !slices.Equal(e.Auth, []string{"other"}) {
		t.Errorf("token entry %+v: want POST %s /oauth2/token, one 2xx call, auth [other]", e, srv.URL)
	}
	invJSON, err := inv.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	outMu.Lock()
	audit := out.String()
	outMu.Unlock()
	var rec map[string]any
	if err := json.Unmarshal([]byte(audit), &rec); err != nil {
		t.Fatalf("audit output %q: %v (want one record)", audit, err)
	}
	if rec["http.request.method"] != "POST" || rec["url.template"] != "/oauth2/token" ||
		rec["http.response.status_code"] != float64(200) || rec["securecall.attempts"] != float64(1) || rec["securecall.auth"] != "other" {
		t.Errorf("audit record %v: want POST /oauth2/token, 200, 1 attempt, auth other", rec)
	}
	for _, s := range []string{"CANARY-secret", "CANARY-rt-old", "CANARY-rt-new", "CANARY-access", "CANARY-idtoken"} {
		if strings.Contains(string(invJSON), s) {
			t.Errorf("inventory JSON holds %q", s)
		}
		if strings.Contains(audit, s) {
			t.Errorf("audit log holds %q", s)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
