package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A primary whose Set stored the new value but could not delete an older
// copy beside it (ErrStaleCopy: a Secret Service prompt dismissed) made
// Chain.Set return at once, leaving every fallback that holds the key with
// the old value: a restart that reads the fallback (the keyring locked)
// got the rotated-out refresh token. The fallbacks are now updated as
// after a successful primary write, and the stale copy is still reported.
func TestChainSetPrimaryStaleCopyUpdatesFallbacks(t *testing.T) {
	ctx := context.Background()
	file, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := file.Set(ctx, "refresh", []byte("rt-0")); err != nil {
		t.Fatal(err)
	}
	primary := staleCopyStore{NewMemoryStore()}
	c, err := NewChain(Backend{Name: "keyring", Store: primary},
		Fallback(Backend{Name: "file", Store: file}, WhenUnavailable|WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Set(ctx, "refresh", []byte("rt-1"))
	if !errors.Is(err, ErrStaleCopy) || !errors.Is(err, ErrLocked) {
		t.Fatalf("Set = %v, want the primary's ErrStaleCopy (and ErrLocked)", err)
	}
	if v, err := file.Get(ctx, "refresh"); err != nil || string(v) != "rt-1" {
		t.Fatalf("fallback holds %q (%v) after Set, want rt-1", v, err)
	}

	// The same through a Refresher rotating the refresh token: a restart
	// reading the file (the keyring locked) gets the live refresh token.
	as, _ := rotatingAS(t)
	if err := primary.MemoryStore.Set(ctx, "rt", []byte("rt-0")); err != nil {
		t.Fatal(err)
	}
	if err := file.Set(ctx, "rt", []byte("rt-0")); err != nil {
		t.Fatal(err)
	}
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), c, "rt",
		WithRefresherErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := r.Token(ctx); err != nil || tok.Value() != "at-1" {
		t.Fatalf("Token = %v, %v; want at-1", tok, err)
	}
	if v, err := file.Get(ctx, "rt"); err != nil || string(v) != "rt-1" {
		t.Fatalf("fallback holds %q (%v) after a rotation, want rt-1", v, err)
	}
}

// With a fallback that cannot be updated either, Set reports both: a
// *ChainError with Op "set" (so a Refresher and a Cache take the write
// for done) that names the primary's stale copy and matches ErrStaleCopy.
func TestChainSetPrimaryStaleCopyAndStaleFallback(t *testing.T) {
	ctx := context.Background()
	ro := readOnlyMem{NewMemoryStore()}
	ro.MemoryStore.Set(ctx, "refresh", []byte("rt-0"))
	file, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file.Set(ctx, "refresh", []byte("rt-0"))
	c, err := NewChain(Backend{Name: "keyring", Store: staleCopyStore{NewMemoryStore()}},
		Fallback(Backend{Name: "env", Store: ro}, WhenNotFound),
		Fallback(Backend{Name: "file", Store: file}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Set(ctx, "refresh", []byte("rt-1"))
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Op != "set" {
		t.Fatalf("Set = %v, want a *ChainError with Op set", err)
	}
	if !errors.Is(err, ErrStaleCopy) || !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Set = %v, want ErrStaleCopy and ErrReadOnly", err)
	}
	if got := strings.Join(ce.Backends, ","); got != "keyring,env" {
		t.Fatalf("Backends = %q, want keyring,env", got)
	}
	msg := err.Error()
	if !strings.Contains(msg, "keyring (primary)") || !strings.Contains(msg, "env holds an old copy (could not update)") {
		t.Fatalf("message %q does not say which backend holds what", msg)
	}
	if v, err := file.Get(ctx, "refresh"); err != nil || string(v) != "rt-1" {
		t.Fatalf("file fallback holds %q (%v), want rt-1", v, err)
	}
}

// A primary that is a Chain itself reports a write its own primary took
// but one of its fallbacks did not with a *ChainError with Op "set": the
// new value is stored there too, and the outer Chain's fallbacks holding
// the key must be updated as well.
func TestChainSetNestedPrimaryChainErrorUpdatesFallbacks(t *testing.T) {
	ctx := context.Background()
	ro := readOnlyMem{NewMemoryStore()}
	ro.MemoryStore.Set(ctx, "refresh", []byte("rt-0"))
	inner, err := NewChain(Backend{Name: "mem", Store: NewMemoryStore()}, Fallback(Backend{Name: "env", Store: ro}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	file, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file.Set(ctx, "refresh", []byte("rt-0"))
	c, err := NewChain(Backend{Name: "inner", Store: inner}, Fallback(Backend{Name: "file", Store: file}, WhenUnavailable))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Set(ctx, "refresh", []byte("rt-1"))
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Op != "set" || !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Set = %v, want the inner *ChainError (Op set, ErrReadOnly)", err)
	}
	if v, err := file.Get(ctx, "refresh"); err != nil || string(v) != "rt-1" {
		t.Fatalf("outer fallback holds %q (%v), want rt-1", v, err)
	}
}

// The Refresher's warning for such a write named the primary among
// "these fallbacks", saying the token was "persisted to the primary
// backend only": it names the backends that may keep an old copy, the
// primary included, without calling them fallbacks.
func TestRefresherWarningNamesStalePrimary(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	primary := staleCopyStore{NewMemoryStore()}
	primary.MemoryStore.Set(ctx, "refresh", []byte("rt-0"))
	ro := readOnlyMem{NewMemoryStore()}
	ro.MemoryStore.Set(ctx, "refresh", []byte("rt-0"))
	c, err := NewChain(Backend{Name: "keyring", Store: primary}, Fallback(Backend{Name: "env", Store: ro}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	h := &recordHandler{}
	old := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(old) })
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), c, "refresh")
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := r.Token(ctx); err != nil || tok.Value() != "at-1" {
		t.Fatalf("Token = %v, %v; want at-1", tok, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.recs) != 1 || h.recs[0].Level != slog.LevelWarn {
		t.Fatalf("logged %v, want one warning", h.recs)
	}
	var text strings.Builder
	text.WriteString(h.recs[0].Message)
	h.recs[0].Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&text, " %s=%v", a.Key, a.Value)
		return true
	})
	s := text.String()
	if !strings.Contains(s, "keyring") || !strings.Contains(s, "env") || strings.Contains(s, "primary backend only") || strings.Contains(s, "rt-") {
		t.Fatalf("warning %q: want both backends named, not as fallbacks of a primary that has no old copy, and no secret", s)
	}
}
