package tokens

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCacheRefresherPersistedTokenOfAnotherGrantNotUsed: a Refresher's
// persisted access token carried a digest of the token URL, the client id
// and the refresh token's key (d6a6a71), not of the grant: after an
// operator re-provisioned the refresh token under that key (another
// user's grant, a consent with more scopes, a revoked grant replaced), a
// restarted service loaded the old grant's access token and sent it
// until it expired, the new grant unused (403 insufficient_scope, which
// keeps the token, or the old user's data). The persisted token now
// names the refresh token it was issued with (the one the Refresher held
// after the refresh, a rotated one included), and is read back only
// while the store holds that refresh token; a restart with the same
// grant, rotated or not, still reuses it without a token request.
func TestCacheRefresherPersistedTokenOfAnotherGrantNotUsed(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var sent []string // the refresh tokens of the token requests
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		mu.Lock()
		sent = append(sent, f.Get("refresh_token"))
		n := len(sent)
		mu.Unlock()
		// The server rotates the refresh token on every refresh.
		issue(w, fmt.Sprintf("at-%d", n), fmt.Sprintf("rt-%d", n))
	})
	store := NewMemoryStore()
	store.Set(ctx, "refresh-token", []byte("rt-A"))
	run := func() string {
		t.Helper()
		r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "refresh-token")
		if err != nil {
			t.Fatal(err)
		}
		c := mustCache(t, r, WithPersistence(store, "access-token"))
		defer c.Close()
		tok, err := c.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The token is persisted after Token returns: wait for it.
		for i := 0; ; i++ {
			if b, err := store.Get(ctx, "access-token"); err == nil && strings.Contains(string(b), `"`+tok.Value()+`"`) {
				break
			}
			if i == 60000 {
				t.Fatalf("%s never persisted", tok.Value())
			}
			time.Sleep(time.Millisecond)
		}
		return tok.Value()
	}
	requests := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), sent...)
	}
	if got := run(); got != "at-1" {
		t.Fatalf("first run: %q, want at-1", got)
	}
	if got := run(); got != "at-1" {
		t.Fatalf("restart, same grant (its refresh token rotated to rt-1): %q, want the persisted at-1", got)
	}
	if got := requests(); len(got) != 1 {
		t.Fatalf("token requests %q, want one (rt-A)", got)
	}
	// The operator provisions another grant's refresh token.
	store.Set(ctx, "refresh-token", []byte("rt-B"))
	if got := run(); got != "at-2" {
		t.Fatalf("restart with another grant's refresh token: %q, want a new token at-2, not the old grant's at-1", got)
	}
	if got := requests(); len(got) != 2 || got[1] != "rt-B" {
		t.Fatalf("token requests %q, want rt-A then rt-B", got)
	}
	if got := run(); got != "at-2" {
		t.Fatalf("restart, same grant (rotated to rt-2): %q, want the persisted at-2", got)
	}
	if got := requests(); len(got) != 2 {
		t.Fatalf("token requests %q, want two", got)
	}
}

// getPanicStore is a MemoryStore whose Get panics once panics is set.
type getPanicStore struct {
	*MemoryStore
	panics bool
}

func (s *getPanicStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.panics {
		panic("store bug")
	}
	return s.MemoryStore.Get(ctx, key)
}

// The grant check reads the Refresher's store on the Cache's refreshing
// goroutine, where no caller's recover reaches: a store that panics
// there fails the refresh (the Refresher's own read reports it) and does
// not end the process.
func TestCacheRefresherGrantCheckStorePanic(t *testing.T) {
	ctx := context.Background()
	as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) { issue(w, "at-1", "") })
	store := &getPanicStore{MemoryStore: NewMemoryStore()}
	store.Set(ctx, "refresh-token", []byte("rt-A"))
	persist := NewMemoryStore()
	newCache := func() *Cache {
		r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "refresh-token")
		if err != nil {
			t.Fatal(err)
		}
		return mustCache(t, r, WithPersistence(persist, "access-token"))
	}
	c := newCache()
	if _, err := c.Token(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // persisted after Token returns
		if _, err := persist.Get(ctx, "access-token"); err == nil {
			break
		}
		if i == 60000 {
			t.Fatal("never persisted")
		}
		time.Sleep(time.Millisecond)
	}
	c.Close()
	store.panics = true
	c = newCache()
	defer c.Close()
	if _, err := c.Token(ctx); err == nil {
		t.Fatal("Token over a store that panics: no error")
	}
}
