package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A Set that crashed between CreateTemp and its rename leaves
// ".<key>.tmp-<n>" holding a copy of a secret. Set of the same key removes
// such a file once it is clearly abandoned (older than staleTempAge by
// mtime), and leaves a fresh one, which may be another process's Set of
// the key in progress, and every file that is not this key's temp file.
func TestFileStoreSetRemovesStaleTemps(t *testing.T) {
	ctx := context.Background()
	s, dir := newFileStore(t)
	if err := s.Set(ctx, "k", []byte("v0")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTempAge)
	stale := []string{".k.tmp-123456", ".k.tmp-9"}
	fresh := []string{".k.tmp-777"}
	others := []string{".k.tmp-x.tmp-77", ".kk.tmp-1", ".k.tmp-12a", "k.tmp-1", ".k.tmp-", ".j.tmp-5"}
	write := func(names []string, mtime time.Time) {
		for _, n := range names {
			p := filepath.Join(dir, n)
			if err := os.WriteFile(p, []byte("refresh-token"), 0o600); err != nil {
				t.Fatal(err)
			}
			if !mtime.IsZero() {
				if err := os.Chtimes(p, mtime, mtime); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	write(stale, old)
	write(others, old)
	write(fresh, time.Time{})
	// Not a file Set made: left alone.
	if err := os.Mkdir(filepath.Join(dir, ".k.tmp-42"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, ".k.tmp-42"), old, old); err != nil {
		t.Fatal(err)
	}

	if err := s.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Get(ctx, "k"); err != nil || string(b) != "v1" {
		t.Fatalf("Get(k) = %q, %v; want v1", b, err)
	}
	for _, n := range stale {
		if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s (mtime %v ago) after Set(k): %v; want it removed", n, 2*staleTempAge, err)
		}
	}
	for _, n := range append(append(append([]string{}, fresh...), others...), ".k.tmp-42") {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s after Set(k): %v; want it kept", n, err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + len(fresh) + len(others) + 1; len(ents) != want {
		names := []string{}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory after Set(k) holds %d entries %q; want %d", len(ents), names, want)
	}
}
