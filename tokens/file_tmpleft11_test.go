package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A crash between Set's CreateTemp and its rename leaves ".<key>.tmp-<n>"
// holding the value being written (a refresh token). Get never reads it
// (a key cannot start with '.'), but Delete, the way to remove a secret
// from the machine (a logout, a revoked credential), must remove those
// copies too, and only those of that key.
func TestFileStoreDeleteRemovesLeftoverTemps(t *testing.T) {
	ctx := context.Background()
	s, dir := newFileStore(t)
	if err := s.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	leftovers := []string{".k.tmp-123456", ".k.tmp-9"}
	keep := []string{".k.tmp-x.tmp-77", ".kk.tmp-1", ".k.tmp-12a", "k.tmp-1"}
	for _, n := range append(append([]string{}, leftovers...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("refresh-token"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	for _, n := range leftovers {
		if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Delete(k): %v; want it removed", n, err)
		}
	}
	for _, n := range keep {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s after Delete(k): %v; want it kept (not k's)", n, err)
		}
	}
	// With the key's file already gone, a leftover is still removed, and
	// Delete reports ErrNotFound.
	if err := os.WriteFile(filepath.Join(dir, ".k.tmp-5"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v; want ErrNotFound", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, ".k.tmp-5")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".k.tmp-5 after Delete of a missing key: %v; want it removed", err)
	}
}
