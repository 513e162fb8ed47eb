package tokens

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// blockingStore's Get waits until its context ends.
type blockingStore struct{ MemoryStore }

func (b *blockingStore) Get(ctx context.Context, key string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// When the caller's own deadline ends a CachedStore Get (the shared read is
// still in flight), the error matches ErrTimeout, as the keyring store's
// does for a caller's deadline, with or without a cause; a cancellation
// does not.
func TestCachedStoreCallerDeadlineIsErrTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := NewCachedStore(&blockingStore{}, WithReadTimeout(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("caller deadline: %v, want ErrTimeout and DeadlineExceeded", err)
		}
		cause := errors.New("request budget spent")
		ctx2, cancel2 := context.WithTimeoutCause(context.Background(), time.Second, cause)
		defer cancel2()
		if _, err := c.Refresh(ctx2, "k"); !errors.Is(err, ErrTimeout) || !errors.Is(err, cause) {
			t.Errorf("caller deadline with a cause: %v, want ErrTimeout and the cause", err)
		}
		ctx3, cancel3 := context.WithCancel(context.Background())
		cancel3()
		if _, err := c.Get(ctx3, "k"); errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v, want context.Canceled, not ErrTimeout", err)
		}
		time.Sleep(2 * time.Hour) // let the shared reads time out inside the bubble
	})
}
