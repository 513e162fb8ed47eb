package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// chainWithEnvFallback returns a Chain of an empty MemoryStore primary and an
// EnvStore fallback whose variable holds the provisioned refresh token rt-0
// under key "refresh", as a service provisioned from its environment has.
func chainWithEnvFallback(t *testing.T, primary Store) *Chain {
	t.Helper()
	env, err := NewEnvStore("SC_CHAIN7_")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(env.Var("refresh"), "rt-0")
	c, err := NewChain(Backend{"memory", primary}, Fallback(Backend{"env", env}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A fallback that still holds the provisioned refresh token and cannot be
// updated (a read-only environment variable) must not turn every rotation
// into a failed refresh: the primary holds the new refresh token, so the
// Refresher serves the access token and reports the stale fallback to its
// error handler on every rotation.
func TestRefresherChainStaleFallbackKeepsServing(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	primary := NewMemoryStore()
	c := chainWithEnvFallback(t, primary)
	var mu sync.Mutex
	var reported []error
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), c, "refresh",
		WithRefresherErrorHandler(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		tok, err := r.Token(ctx)
		if err != nil || tok.Value() != fmt.Sprintf("at-%d", i) {
			t.Fatalf("rotation %d: Token = %v, %v; want at-%d", i, tok, err, i)
		}
		if got, want := as.lastForm().Get("refresh_token"), fmt.Sprintf("rt-%d", i-1); got != want {
			t.Fatalf("rotation %d used %q, want %q", i, got, want)
		}
		if v, _ := primary.Get(ctx, "refresh"); string(v) != fmt.Sprintf("rt-%d", i) {
			t.Fatalf("rotation %d: primary holds %q", i, v)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 4 {
		t.Fatalf("handler called %d times, want once per rotation (4): %v", len(reported), reported)
	}
	for _, err := range reported {
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Op != "set" || len(ce.Backends) != 1 || ce.Backends[0] != "env" || !errors.Is(err, ErrReadOnly) {
			t.Fatalf("reported %v, want a *ChainError naming env", err)
		}
		if strings.Contains(err.Error(), "rt-") {
			t.Fatalf("reported error carries a refresh token: %v", err)
		}
	}
}

// recordHandler is a slog.Handler that keeps every record.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

// Without a handler, the stale fallback is logged through slog.Default at
// Warn, once (not once per rotation), naming the key and the backend and
// carrying no secret.
func TestRefresherChainStaleFallbackLogsOnce(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	c := chainWithEnvFallback(t, NewMemoryStore())
	h := &recordHandler{}
	old := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(old) })
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), c, "refresh")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if tok, err := r.Token(ctx); err != nil || tok.Value() != fmt.Sprintf("at-%d", i) {
			t.Fatalf("rotation %d: Token = %v, %v", i, tok, err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var warns []slog.Record
	for _, rec := range h.recs {
		if rec.Level == slog.LevelWarn {
			warns = append(warns, rec)
		}
	}
	if len(warns) != 1 {
		t.Fatalf("%d warnings logged, want 1: %v", len(warns), h.recs)
	}
	var text strings.Builder
	text.WriteString(warns[0].Message)
	warns[0].Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&text, " %s=%v", a.Key, a.Value)
		return true
	})
	s := text.String()
	if !strings.Contains(s, "refresh") || !strings.Contains(s, "env") || strings.Contains(s, "rt-") {
		t.Fatalf("warning %q: want the key and the backend name and no secret", s)
	}
}

// A failed write to the primary is still a failed refresh: no backend
// holds the rotated refresh token, which is kept in memory for the next
// call.
func TestRefresherChainPrimaryFailureFailsRefresh(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	primary := &recordingStore{MemoryStore: NewMemoryStore()}
	primary.failSet = &StoreError{Backend: "memory", Op: "set", Key: "refresh", Err: ErrLocked}
	c := chainWithEnvFallback(t, primary)
	calls := 0
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), c, "refresh",
		WithRefresherErrorHandler(func(error) { calls++ }))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := r.Token(ctx); !errors.Is(err, ErrLocked) || !tok.IsZero() {
		t.Fatalf("Token with a failing primary = %v, %v; want ErrLocked and no token", tok, err)
	}
	primary.failSet = nil
	if tok, err := r.Token(ctx); err != nil || tok.Value() != "at-2" {
		t.Fatalf("after the primary recovered: %v, %v", tok, err)
	}
	if got := as.lastForm().Get("refresh_token"); got != "rt-1" {
		t.Fatalf("used %q, want the in-memory rt-1", got)
	}
	if calls != 1 {
		t.Fatalf("handler called %d times, want 1 (the env copy after the recovered write)", calls)
	}
}
