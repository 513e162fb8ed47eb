package tokens

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// The first Set creates the store's directory (and any missing parent):
// the new directory's entry in its parent must reach the disk too, or a
// crash after Set returned could lose the whole directory with the
// secret (the refresh token a Refresher just rotated in). Set syncs the
// store directory and the parent of each directory it created; a later
// Set syncs the store directory only.
func TestFileStoreSetSyncsCreatedDirectories(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "app", "secrets")
	s, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	orig := syncDir
	t.Cleanup(func() { syncDir = orig })
	var synced []string
	syncDir = func(d string) error {
		synced = append(synced, d)
		return orig(d)
	}
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	want := []string{dir, filepath.Join(base, "app"), base}
	if !slices.Equal(synced, want) {
		t.Fatalf("directories synced by the first Set: %q; want %q", synced, want)
	}
	synced = nil
	if err := s.Set(ctx, "k", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(synced, []string{dir}) {
		t.Fatalf("directories synced by a second Set: %q; want [%q]", synced, dir)
	}
}
