package transport

import (
	"sync"
	"testing"
)

// TestOptCacheFewAgreesWithMap: the keys an optCache scans before its map
// (the first optFew stored) and those only in its map load alike; a key
// never stored misses whether the scanned slice is full or not; a key
// stored twice (two callers missing at once) keeps its first value and
// one place in the slice.
func TestOptCacheFewAgreesWithMap(t *testing.T) {
	type key struct {
		m    *method
		host string
		n    int
	}
	m := &method{}
	var c optCache[key, int]
	if _, ok := c.load(key{m, "h", 0}); ok {
		t.Fatal("an empty cache found a key")
	}
	for i := range 2 * optFew {
		c.store(key{m, "h", i}, i)
		c.store(key{m, "h", i}, -1) // a second caller's late store
		for j := 0; j <= i; j++ {
			if v, ok := c.load(key{m, "h", j}); !ok || v != j {
				t.Fatalf("after %d stores, load(%d) = %d, %v", i+1, j, v, ok)
			}
		}
		if _, ok := c.load(key{m, "h", i + 1}); ok {
			t.Fatalf("after %d stores, a key never stored was found", i+1)
		}
		if _, ok := c.load(key{nil, "h", 0}); ok {
			t.Fatalf("after %d stores, a key differing in one field was found", i+1)
		}
		if n, want := len(*c.few.Load()), min(i+1, optFew); n != want {
			t.Fatalf("after %d stores, %d keys are scanned, want %d", i+1, n, want)
		}
		if n := len(*c.m.Load()); n != i+1 {
			t.Fatalf("after %d stores, the map holds %d keys", i+1, n)
		}
	}
}

// TestOptCacheFewConcurrent: loads and stores from many goroutines (run
// with -race) find every key stored, with its value.
func TestOptCacheFewConcurrent(t *testing.T) {
	var c optCache[int, int]
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 3 * optFew {
				k := (i + g) % (3 * optFew)
				if v, ok := c.load(k); ok && v != k*10 {
					t.Errorf("load(%d) = %d", k, v)
					return
				} else if !ok {
					c.store(k, k*10)
				}
			}
		})
	}
	wg.Wait()
	for k := range 3 * optFew {
		if v, ok := c.load(k); !ok || v != k*10 {
			t.Errorf("load(%d) = %d, %v after every store", k, v, ok)
		}
	}
}
