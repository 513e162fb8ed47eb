package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// A rotated refresh token whose write failed is still written once the
// store works again, even when the server does not rotate on the next
// refresh (RFC 6749 §6: a new refresh token is optional): otherwise the
// store keeps the rotated-away token for good, and a restart presents it.
func TestRefresherPersistsUnsavedRotatedToken(t *testing.T) {
	for _, next := range []string{"omitted", "same"} {
		t.Run(next, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
				mu.Lock()
				defer mu.Unlock()
				switch f.Get("refresh_token") {
				case "rt-0":
					n++
					issue(w, fmt.Sprintf("at-%d", n), "rt-1") // rotates once
				case "rt-1":
					n++
					rt := ""
					if next == "same" {
						rt = "rt-1"
					}
					issue(w, fmt.Sprintf("at-%d", n), rt) // then keeps it
				default:
					writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
				}
			})
			ctx := context.Background()
			store := &recordingStore{MemoryStore: NewMemoryStore()}
			store.MemoryStore.Set(ctx, "rt", []byte("rt-0"))
			r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
			if err != nil {
				t.Fatal(err)
			}
			store.failSet = errors.New("disk full")
			if tok, err := r.Token(ctx); err == nil || !tok.IsZero() {
				t.Fatalf("Token with a failing store = %v, %v; want an error", tok, err)
			}
			store.failSet = nil
			if tok, err := r.Token(ctx); err != nil || tok.Value() != "at-2" {
				t.Fatalf("after the store recovered: %v %v", tok, err)
			}
			if v, _ := store.MemoryStore.Get(ctx, "rt"); string(v) != "rt-1" {
				t.Fatalf("stored refresh token = %q, want rt-1 (the live one; rt-0 was rotated away)", v)
			}
			// A restart reads the store and can still refresh.
			r2, _ := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
			if _, err := r2.Token(ctx); err != nil {
				t.Fatalf("after a restart: %v", err)
			}
		})
	}
}
