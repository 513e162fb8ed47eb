package signer

import (
	"context"
	"testing"
	"time"
)

// With readings that carry no monotonic part (time.Date, a UTC clock, a
// synctest bubble), entries still age out on the wall clock, so a full
// store takes new nonces once the old windows are over, and the store
// never holds more than its capacity.
func TestMemoryNonceStoreWallOnlyReadingsAgeOut(t *testing.T) {
	ctx := context.Background()
	const window = 2 * time.Minute
	s := NewMemoryNonceStore(2)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, n := range []string{"a", "b"} {
		if err := s.Claim(ctx, "k", n, now, now.Add(window)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Claim(ctx, "k", "c", now, now.Add(window)); err != ErrNonceStoreFull {
		t.Fatalf("third claim: %v, want ErrNonceStoreFull", err)
	}
	later := now.Add(window + time.Second)
	if err := s.Claim(ctx, "k", "c", later, later.Add(window)); err != nil {
		t.Fatalf("claim after the windows: %v", err)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("%d held, want 1", n)
	}
	// A mix: a time.Now reading after wall-only ones.
	n2 := time.Now()
	if err := s.Claim(ctx, "k", "d", n2, n2.Add(window)); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("%d held after a time.Now claim, want 1", n)
	}
}
