package tokens

import (
	"context"
	"errors"
	"testing"
)

// Every Store applies ValidateKey (store.go), but an EnvStore's Set and
// Delete answered ErrReadOnly for any key, so a key no backend accepts
// ("../x", "") got a read-only error where every other Store says
// ErrInvalidKey; a valid key still gets ErrReadOnly.
func TestEnvStoreWritesCheckTheKey(t *testing.T) {
	ctx := context.Background()
	s, err := NewEnvStore("SC_ENV14_")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"", "../x", "-k", "a b"} {
		if err := s.Set(ctx, k, []byte("v")); !errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrReadOnly) {
			t.Errorf("Set(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrReadOnly) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	if err := s.Set(ctx, "k", []byte("v")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Set(k) = %v, want ErrReadOnly", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Delete(k) = %v, want ErrReadOnly", err)
	}
}
