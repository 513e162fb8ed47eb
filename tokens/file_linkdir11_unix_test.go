//go:build unix

package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A key path that is a symlink reads the file its target names, so the
// directory holding that file (and every directory holding a symlink
// followed on the way) decides who can swap the secret, as the store's own
// directory does for a plain file: one writable by group or others is
// refused with ErrInsecureFile. Otherwise anyone able to write there
// chooses what Get returns (another 0600 file of the user's, sent as a
// bearer token).
func TestFileStoreSymlinkTargetDirChecked(t *testing.T) {
	ctx := context.Background()
	s, dir := newFileStore(t)
	if err := s.Set(ctx, "seed", []byte("v")); err != nil { // creates dir
		t.Fatal(err)
	}
	mkdir := func(name string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(filepath.Dir(dir), name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	write := func(p string) {
		t.Helper()
		if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, key string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(dir, key)); err != nil {
			t.Fatal(err)
		}
	}
	open := mkdir("open", 0o777)
	safe := mkdir("safe", 0o700)
	write(filepath.Join(open, "tok"))
	write(filepath.Join(safe, "tok"))
	// The file in a world-writable directory, directly or behind a
	// second link in a safe directory.
	link(filepath.Join(open, "tok"), "direct")
	link("../open/tok", "relative")
	if err := os.Symlink(filepath.Join(open, "tok"), filepath.Join(safe, "hop")); err != nil {
		t.Fatal(err)
	}
	link(filepath.Join(safe, "hop"), "twohops")
	// A safe file behind a link in a world-writable directory.
	if err := os.Symlink(filepath.Join(safe, "tok"), filepath.Join(open, "hop")); err != nil {
		t.Fatal(err)
	}
	link(filepath.Join(open, "hop"), "viaopen")
	for _, key := range []string{"direct", "relative", "twohops", "viaopen"} {
		if v, err := s.Get(ctx, key); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("Get(%q) = %q, %v; want ErrInsecureFile", key, v, err)
		}
	}

	// The Kubernetes secret volume layout: key -> ..data/key, ..data ->
	// a timestamped directory, all inside the (safe) store directory;
	// and a safe file elsewhere.
	ts := filepath.Join(dir, "..2026_11_28_15_00_00.1")
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(ts, "k8s"))
	link(filepath.Base(ts), "..data")
	link("..data/k8s", "k8s")
	link(filepath.Join(safe, "tok"), "elsewhere")
	for _, key := range []string{"k8s", "elsewhere"} {
		if v, err := s.Get(ctx, key); err != nil || string(v) != "secret" {
			t.Errorf("Get(%q) = %q, %v; want the secret", key, v, err)
		}
	}
	// A dangling link is not found.
	link(filepath.Join(safe, "gone"), "dangling")
	if _, err := s.Get(ctx, "dangling"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(dangling) = %v; want ErrNotFound", err)
	}
}
