package signer

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestMemoryNonceStoreKeyWithNULDoesNotCollide: the store's key joined
// keyid and nonce with a NUL, so a custom verifier's pair holding a NUL,
// ("a\x00b", "c"), was the pair ("a", "b\x00c"): the second, never
// claimed, was refused as a replay.
func TestMemoryNonceStoreKeyWithNULDoesNotCollide(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryNonceStore(0)
	pairs := [][2]string{{"a\x00b", "c"}, {"a", "b\x00c"}, {"a\x00", "bc"}, {"", "a\x00bc"}, {"a", "bc"}}
	for _, p := range pairs {
		if seen, err := s.Seen(ctx, p[0], p[1], t0); seen || err != nil {
			t.Errorf("Seen(%q, %q) before its claim: %v, %v", p[0], p[1], seen, err)
		}
		if err := s.Claim(ctx, p[0], p[1], t0, t0.Add(time.Minute)); err != nil {
			t.Errorf("Claim(%q, %q): %v; want nil (never claimed)", p[0], p[1], err)
		}
	}
	for _, p := range pairs {
		if err := s.Claim(ctx, p[0], p[1], t0, t0.Add(time.Minute)); !errors.Is(err, ErrReplay) {
			t.Errorf("Claim(%q, %q) again: %v; want ErrReplay", p[0], p[1], err)
		}
	}
}
