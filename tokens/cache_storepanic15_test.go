package tokens

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/internal/childtest"
)

// panicStore panics in the operations named in ops.
type panicStore struct {
	*MemoryStore
	get, set bool
}

func (s *panicStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.get {
		panic("store bug near secret-value")
	}
	return s.MemoryStore.Get(ctx, key)
}

func (s *panicStore) Set(ctx context.Context, key string, v []byte) error {
	if s.set {
		panic("store bug near secret-value")
	}
	return s.MemoryStore.Set(ctx, key, v)
}

// A Cache reads and writes its persisted token (WithPersistence) on its
// own refreshing goroutine: a Store that panicked (a bug in a Store of the
// caller's) ended the process. The panic is a failed read or write,
// reported to the error handler naming the panic value's type, never its
// text; a failed read asks the source, as any failed read does.
func TestCachePersistenceStorePanicIsAFailure(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		for _, op := range []string{"get", "set"} {
			synctest.Test(t, func(t *testing.T) {
				store := &panicStore{MemoryStore: NewMemoryStore(), get: op == "get", set: op == "set"}
				src := SourceFunc(func(context.Context) (Token, error) {
					return NewToken("tok", "Bearer", time.Now().Add(time.Hour)), nil
				})
				var reported []error
				c := mustCache(t, src, WithPersistence(store, "k"),
					WithErrorHandler(func(err error) { reported = append(reported, err) }))
				mustToken(t, c, "tok")
				synctest.Wait()
				if len(reported) != 1 {
					t.Fatalf("%s: reported %v, want one failure", op, reported)
				}
				if msg := reported[0].Error(); strings.Contains(msg, "secret-value") || !strings.Contains(msg, "string") {
					t.Fatalf("%s: reported %q, want the panic value's type and not its text", op, msg)
				}
			})
		}
	})
}
