package tokens

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A rotating server answers a refresh with a new refresh token in a
// success answer x/oauth2 refuses (no access_token, a member of the wrong
// kind). The server has swapped the old refresh token for the new one
// already: ErrMalformedResponse's doc says the rotated refresh token is
// still persisted first, and the next refresh must send it, not the dead
// old one.
func TestRefresherPersistsRotatedTokenFromMalformedAnswer(t *testing.T) {
	for _, tc := range []struct{ name, ctype, body string }{
		{"no access_token", "application/json", `{"refresh_token":"rt-1","token_type":"bearer","expires_in":3600}`},
		{"token_type a number", "application/json", `{"access_token":"at-1","refresh_token":"rt-1","token_type":5,"expires_in":3600}`},
		{"access_token a number", "application/json", `{"access_token":7,"refresh_token":"rt-1","token_type":"bearer","expires_in":3600}`},
		{"form without access_token", "application/x-www-form-urlencoded", `refresh_token=rt-1&token_type=bearer&expires_in=3600`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			as := newFakeAS(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
				n++
				if n == 1 {
					w.Header().Set("Content-Type", tc.ctype)
					w.Write([]byte(tc.body))
					return
				}
				if f.Get("refresh_token") != "rt-1" {
					writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
					return
				}
				issue(w, "at-2", "rt-2")
			})
			ctx := context.Background()
			store := NewMemoryStore()
			store.Set(ctx, "rt", []byte("rt-0"))
			r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Token(ctx); !errors.Is(err, ErrMalformedResponse) || !errors.Is(err, ErrNoToken) {
				t.Fatalf("first Token: err = %v, want ErrMalformedResponse and ErrNoToken", err)
			}
			if v, _ := store.Get(ctx, "rt"); string(v) != "rt-1" {
				t.Errorf("stored refresh token = %q, want the rotated rt-1", v)
			}
			if tok, err := r.Token(ctx); err != nil || tok.Value() != "at-2" {
				t.Errorf("second Token = %v, %v; want at-2 (a refresh with rt-1)", tok, err)
			}
			if got := as.count(); got != 2 {
				t.Errorf("token requests = %d, want 2", got)
			}
		})
	}
}

// A refresh token read from the store with a control character in it (the
// trailing newline of a value provisioned with echo, a NUL of a corrupt
// entry) is no RFC 6749 refresh token (1*VSCHAR, Appendix A.17). It was
// sent, and the server's invalid_grant named neither the key nor the
// cause, as if the grant had been revoked. It is refused without a token
// request, with an error naming the key and matching ErrNoToken, and the
// store is read again (past a cache) on the next call.
func TestRefresherRefusesCorruptStoredRefreshToken(t *testing.T) {
	for _, v := range []string{"rt-0\n", "rt-0\r\n", "\x00rt-0", "rt\t0", "rt-0\x7f"} {
		as, _ := rotatingAS(t)
		ctx := context.Background()
		back := NewMemoryStore()
		back.Set(ctx, "rt", []byte(v))
		store, err := NewCachedStore(back)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			_, err := r.Token(ctx)
			if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), `"rt"`) || strings.Contains(err.Error(), "rt-0") {
				t.Errorf("%q: err = %v, want ErrNoToken naming the key, not the value", v, err)
			}
		}
		if n := as.count(); n != 0 {
			t.Errorf("%q: %d token requests, want 0", v, n)
		}
		back.Set(ctx, "rt", []byte("rt-1"))
		if tok, err := r.Token(ctx); err != nil || tok.Value() != "at-1" {
			t.Errorf("%q: after re-provisioning: %v, %v; want at-1", v, tok, err)
		}
		if n := as.count(); n != 1 {
			t.Errorf("%q: %d token requests, want 1", v, n)
		}
	}
}

// gatedStore fails every Set after its caller's context is over: it waits
// for release, then fails.
type gatedStore struct {
	*MemoryStore
	entered chan struct{}
	release chan struct{}
}

func (s *gatedStore) Set(ctx context.Context, key string, v []byte) error {
	close(s.entered)
	<-s.release
	return &StoreError{Backend: "gated", Op: "set", Key: key, Err: ErrTimeout}
}

// The write of a rotated refresh token fails after the caller of Token
// stopped waiting (its context ended while a slow keyring write ran, as a
// Cache's refresh timeout ends it). The server has already swapped the old
// refresh token for the new one, which only memory holds now: the failure
// must not be dropped with the answer nobody reads. It goes to the
// Refresher's error handler, once.
func TestRefresherPersistFailureAfterCallerLeftIsReported(t *testing.T) {
	as, _ := rotatingAS(t)
	store := &gatedStore{MemoryStore: NewMemoryStore(), entered: make(chan struct{}), release: make(chan struct{})}
	store.MemoryStore.Set(context.Background(), "rt", []byte("rt-0"))
	reported := make(chan error, 10)
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), store, "rt",
		WithRefresherErrorHandler(func(err error) { reported <- err }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := r.Token(ctx); done <- err }()
	<-store.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Token = %v, want the caller's cancellation", err)
	}
	close(store.release)
	r.sem <- struct{}{} // the detached refresh is over
	<-r.sem
	close(reported)
	var got []error
	for err := range reported {
		got = append(got, err)
	}
	if len(got) != 1 || !errors.Is(got[0], ErrTimeout) || !strings.Contains(got[0].Error(), "persist rotated refresh token") {
		t.Fatalf("reported %v, want the one persist failure", got)
	}
	if strings.Contains(got[0].Error(), "rt-1") {
		t.Fatalf("report carries the refresh token: %v", got[0])
	}
}
