//go:build unix

package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The store's directory named through a symlink (the directory itself, or
// one of its parents) that sits in a directory others may write to: a
// store under /tmp whose path another user planted first as a link to a
// directory of ours (~/.aws, ~/.ssh). The link's owner chooses which of our
// directories Get reads, Set overwrites and Delete removes from. As for a
// key path that is a symlink, the directory holding a symlink followed on
// the way must be as safe as the store's own: ErrInsecureFile for Get, Set
// and Delete, and the target directory is left untouched.
func TestFileStoreDirThroughPlantedSymlink(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	open := filepath.Join(base, "tmp")
	safe := filepath.Join(base, "home")
	for d, mode := range map[string]os.FileMode{open: 0o777 | os.ModeSticky, safe: 0o700} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	victim := filepath.Join(safe, ".aws")
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(victim, "credentials"), []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := func(target, name string) string {
		t.Helper()
		p := filepath.Join(open, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		if uid := os.Geteuid(); uid == 0 { // as the other user who planted it
			if err := os.Lchown(p, 12345, 12345); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	dirs := map[string]string{
		"directory":                   link(victim, "secrets"),
		"directory (a relative link)": link("../home/.aws", "rel"),
		"parent directory":            filepath.Join(link(safe, "app"), ".aws"),
	}
	for what, dir := range dirs {
		s, err := NewFileStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(ctx, "credentials"); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("store %s is a symlink in a world-writable directory: Get = %q, %v; want ErrInsecureFile", what, v, err)
		}
		if err := s.Set(ctx, "credentials", []byte("clobbered")); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("store %s is a symlink in a world-writable directory: Set = %v; want ErrInsecureFile", what, err)
		}
		if err := s.Delete(ctx, "credentials"); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("store %s is a symlink in a world-writable directory: Delete = %v; want ErrInsecureFile", what, err)
		}
		if b, err := os.ReadFile(filepath.Join(victim, "credentials")); err != nil || string(b) != "victim" {
			t.Fatalf("target file after the store %s was a planted link: %q, %v; want it untouched", what, b, err)
		}
	}

	// A symlink in a safe directory (/var/run -> /run, macOS's /tmp ->
	// private/tmp, a link of the user's own) is followed as before.
	mine := filepath.Join(safe, "link")
	if err := os.Symlink(".aws", mine); err != nil {
		t.Fatal(err)
	}
	s, err := NewFileStore(mine)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "credentials"); err != nil || string(v) != "victim" {
		t.Fatalf("store through a safe symlink: Get = %q, %v", v, err)
	}
	if err := s.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	// A missing store directory behind a safe link is still not found.
	gone, err := NewFileStore(filepath.Join(mine, "none"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing directory: Get = %v; want ErrNotFound", err)
	}
	if err := gone.Delete(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing directory: Delete = %v; want ErrNotFound", err)
	}
}
