package tokens

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// A fallback whose Get failed was not checked: the error must not claim it
// holds a copy, and one that holds an old copy must say it could not be
// updated.
func TestChainErrorTellsUncheckedFromStale(t *testing.T) {
	ctx := context.Background()
	locked := newFlaky("keyring")
	locked.err = ErrUnavailable
	ro := readOnlyMem{NewMemoryStore()}
	ro.MemoryStore.Set(ctx, "rt", []byte("rt-1"))
	c, err := NewChain(Backend{"file", NewMemoryStore()},
		Fallback(Backend{"keyring", locked}, WhenNotFound),
		Fallback(Backend{"env", ro}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"set", "delete"} {
		if op == "set" {
			err = c.Set(ctx, "rt", []byte("rt-2"))
		} else {
			err = c.Delete(ctx, "rt")
		}
		msg := fmt.Sprint(err)
		if strings.Contains(msg, "left a copy") ||
			!strings.Contains(msg, "keyring could not be checked") ||
			!strings.Contains(msg, "env holds an old copy") {
			t.Fatalf("%s: %s", op, msg)
		}
	}
}
