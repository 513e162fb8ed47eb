package signer

import (
	"sync"
	"testing"
)

// Nonces from the pooled crypto/rand blocks never repeat, across
// goroutines and block refills, and the bytes handed out do not stay in
// the block.
func TestReadRandomDistinct(t *testing.T) {
	const goroutines, each = 8, 4000 // 32 000 nonces: 1 000 block refills
	var mu sync.Mutex
	seen := make(map[[16]byte]bool, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([][16]byte, 0, each)
			for range each {
				var b [16]byte
				if err := readRandom(b[:]); err != nil {
					t.Error(err)
					return
				}
				local = append(local, b)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, b := range local {
				if seen[b] {
					t.Errorf("nonce %x handed out twice", b)
				}
				seen[b] = true
			}
		}()
	}
	wg.Wait()
	if len(seen) != goroutines*each {
		t.Fatalf("%d distinct nonces, want %d", len(seen), goroutines*each)
	}

	blk := randomBlocks.Get().(*randomBlock)
	defer randomBlocks.Put(blk)
	for i, c := range blk.buf[:blk.off] {
		if c != 0 {
			t.Fatalf("byte %d of the block was handed out but not cleared", i)
		}
	}
}

// The largest nonce a Signer allows comes out whole and fresh.
func TestReadRandomLarge(t *testing.T) {
	a, b := make([]byte, MaxNonceSize), make([]byte, MaxNonceSize)
	if err := readRandom(a); err != nil {
		t.Fatal(err)
	}
	if err := readRandom(b); err != nil {
		t.Fatal(err)
	}
	if string(a) == string(b) {
		t.Fatal("two large nonces are equal")
	}
}
