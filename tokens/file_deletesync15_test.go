package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Delete removes a secret from the machine (a logout, a revoked refresh
// token, a stale copy a Chain removes from a fallback): as for Set, the
// directory is synced after the file is gone, or a crash after Delete
// returned could bring the deleted secret back; a failed sync is
// Delete's error.
func TestFileStoreDeleteSyncsTheDirectory(t *testing.T) {
	s, dir := newFileStore(t)
	orig := syncDir
	t.Cleanup(func() { syncDir = orig })
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("refresh-token")); err != nil {
		t.Fatal(err)
	}
	var synced []string
	syncDir = func(d string) error {
		if _, err := os.Lstat(filepath.Join(d, "k")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("directory synced before the file was removed: %v", err)
		}
		synced = append(synced, d)
		return orig(d)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("directories synced by Delete: %v; want [%s]", synced, dir)
	}
	// Nothing removed, nothing to sync.
	synced = nil
	if err := s.Delete(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v; want ErrNotFound", err)
	}
	if len(synced) != 0 {
		t.Fatalf("directories synced by a Delete that removed nothing: %v", synced)
	}
	syncDir = orig
	if err := s.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("disk gone")
	syncDir = func(string) error { return failed }
	if err := s.Delete(ctx, "k"); !errors.Is(err, failed) {
		t.Fatalf("Delete with a failing directory sync: %v; want the sync's error", err)
	}
}
