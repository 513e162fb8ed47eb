package signer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMemoryNonceStoreReplayAndScope(t *testing.T) {
	s := NewMemoryNonceStore(0)
	ctx := context.Background()
	until := t0.Add(time.Minute)
	if err := s.Claim(ctx, "k1", "n", t0, until); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, "k1", "n", t0.Add(time.Second), until); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	if err := s.Claim(ctx, "k2", "n", t0, until); err != nil {
		t.Fatalf("same nonce, other key: %v", err)
	}
	if err := s.Claim(ctx, "k1", "n", until, until); !errors.Is(err, ErrReplay) {
		t.Fatalf("at until: %v", err)
	}
	if err := s.Claim(ctx, "k1", "n", until.Add(time.Nanosecond), until.Add(time.Minute)); err != nil {
		t.Fatalf("after until: %v", err)
	}
}

// TestMemoryNonceStoreBoundedUnderFlood: a flood of unique nonces never
// holds more than the capacity, entries leave when they expire, and a full
// store refuses (fails closed) instead of forgetting live nonces.
func TestMemoryNonceStoreBoundedUnderFlood(t *testing.T) {
	const capacity = 1000
	s := NewMemoryNonceStore(capacity)
	ctx := context.Background()
	window := time.Second
	now := t0
	max, full := 0, 0
	for i := 0; i < 100_000; i++ {
		now = now.Add(2 * time.Millisecond) // 500 per window: fits
		err := s.Claim(ctx, "k", strconv.Itoa(i), now, now.Add(window))
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		if n := s.Len(); n > max {
			max = n
		}
	}
	if max > 501 {
		t.Errorf("held %d entries with 500 live per window", max)
	}
	// A burst above capacity inside one window: refused once full.
	for i := 0; i < 3*capacity; i++ {
		err := s.Claim(ctx, "k", "burst"+strconv.Itoa(i), now, now.Add(window))
		if errors.Is(err, ErrNonceStoreFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
		if s.Len() > capacity {
			t.Fatalf("Len %d > capacity", s.Len())
		}
	}
	if full == 0 {
		t.Fatal("store never reported full")
	}
	// Every accepted nonce is still refused as a replay while full.
	if err := s.Claim(ctx, "k", "burst0", now, now.Add(window)); !errors.Is(err, ErrReplay) {
		t.Errorf("live nonce forgotten while full: %v", err)
	}
	// After the window everything has expired.
	later := now.Add(window + time.Millisecond)
	if err := s.Claim(ctx, "k", "after", later, later.Add(window)); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Errorf("Len after expiry = %d", s.Len())
	}
}

func TestMemoryNonceStoreConcurrent(t *testing.T) {
	s := NewMemoryNonceStore(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if s.Claim(context.Background(), "k", strconv.Itoa(i), t0, t0.Add(time.Minute)) == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if accepted != 500 {
		t.Errorf("accepted %d claims of 500 distinct nonces raced by 8 goroutines", accepted)
	}
}
