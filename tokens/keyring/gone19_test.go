//go:build linux

package keyring_test

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// clearItems deletes every item of s's service and key as another program
// does (another process of the service deleting the key, or rotating it
// and deleting the old item).
func clearItems(t *testing.T, s *keyring.Store, key string) {
	t.Helper()
	if out, err := exec.Command("secret-tool", "clear", "service", s.Service(), "username", key).CombinedOutput(); err != nil {
		t.Errorf("secret-tool clear: %v %s", err, out)
	}
}

// TestRealItemGoneMidCallIsNotFound: an item another program deletes
// between the Store finding it and reading or deleting it is a key that
// is not there. gnome-keyring answers the late GetSecret or Delete with
// UnknownMethod "Object does not exist", which the Store passed on
// unclassified: a Get failed with an error matching no sentinel (so a
// Chain with WhenNotFound did not fall back, and a CachedStore kept
// serving the deleted value), and a Delete of a key another process had
// just deleted failed instead of reporting ErrNotFound.
func TestRealItemGoneMidCallIsNotFound(t *testing.T) {
	needSecretTool(t)
	ctx := context.Background()
	s := newStore(t)
	if err := s.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	restore := keyring.SetAfterSearch(func() { clearItems(t, s, "k") })
	_, err := s.Get(ctx, "k")
	restore()
	if !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("Get of an item deleted meanwhile: %v, want ErrNotFound", err)
	}

	if err := s.Set(ctx, "k", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	restore = keyring.SetAfterSearch(func() { clearItems(t, s, "k") })
	err = s.Delete(ctx, "k")
	restore()
	if !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("Delete of an item deleted meanwhile: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("Get after: %v, want ErrNotFound", err)
	}
}
