package tokens

import (
	"bytes"
	"context"
	"sync"
	"testing"
)

// A Get that runs beside a Set or Delete of the same key returns the old
// value or the new one, whole: Set and Delete clear the old bytes, so Get
// must copy them before it lets go of the lock (a copy taken after would
// race with the clear and could hand out a zeroed or torn secret).
func TestMemoryStoreGetBesideSetReturnsWholeValue(t *testing.T) {
	s := NewMemoryStore()
	ctx := context.Background()
	a, b := bytes.Repeat([]byte("a"), 4096), bytes.Repeat([]byte("b"), 4096)
	if err := s.Set(ctx, "k", a); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := a
			if i%2 == 1 {
				v = b
			}
			if err := s.Set(ctx, "k", v); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var torn int
	for range 2000 {
		v, err := s.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(v, a) && !bytes.Equal(v, b) {
			torn++
		}
	}
	close(stop)
	wg.Wait()
	if torn != 0 {
		t.Errorf("%d of 2000 Gets returned a value that was neither the old nor the new one", torn)
	}
}
