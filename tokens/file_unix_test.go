//go:build unix

package tokens

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// A file system that cannot sync a directory (CIFS answers EINVAL,
// NetBSD EBADF, some FUSE file systems ENOTSUP) must not fail every Set
// after its rename succeeded: the new value is in place, and a Refresher
// would refuse every rotated refresh token it could not "persist".
// Another sync failure is still Set's error.
func TestFileStoreSetDirSyncUnsupported(t *testing.T) {
	s, _ := newFileStore(t)
	orig := syncDir
	t.Cleanup(func() { syncDir = orig })
	ctx := context.Background()
	for _, errno := range []syscall.Errno{syscall.EINVAL, syscall.EBADF, syscall.ENOTSUP, syscall.ENOSYS} {
		syncDir = func(d string) error { return &os.PathError{Op: "sync", Path: d, Err: errno} }
		if err := s.Set(ctx, "k", []byte("v")); err != nil {
			t.Errorf("directory sync answering %v: Set = %v; want nil", errno, err)
		}
	}
	syncDir = func(d string) error { return &os.PathError{Op: "sync", Path: d, Err: syscall.EIO} }
	if err := s.Set(ctx, "k", []byte("v")); !errors.Is(err, syscall.EIO) {
		t.Errorf("directory sync answering EIO: Set = %v; want EIO", err)
	}
}

// A Set that fails after the rename (the directory sync) leaves the new
// value in the file: a CachedStore in front must not keep serving the
// previous one (a rotated-away refresh token) from its cache.
func TestCachedStoreForgetsOnFailedSet(t *testing.T) {
	fs, _ := newFileStore(t)
	cs, err := NewCachedStore(fs)
	if err != nil {
		t.Fatal(err)
	}
	orig := syncDir
	t.Cleanup(func() { syncDir = orig })
	ctx := context.Background()
	if err := cs.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	syncDir = func(d string) error { return &os.PathError{Op: "sync", Path: d, Err: syscall.EIO} }
	if err := cs.Set(ctx, "k", []byte("v2")); err == nil {
		t.Fatal("Set with a failing directory sync succeeded")
	}
	syncDir = orig
	b, err := cs.Get(ctx, "k")
	if err != nil || string(b) != "v2" {
		t.Fatalf("Get after a failed Set = %q, %v; want the file's value v2", b, err)
	}
}
