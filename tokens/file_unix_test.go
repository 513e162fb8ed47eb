//go:build unix

package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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

// A FIFO planted at a key path (directly or behind a symlink) must be
// refused as not a regular file, not block Get forever in open(2) waiting
// for a writer while ignoring the context.
func TestFileStoreGetFIFO(t *testing.T) {
	s, dir := newFileStore(t)
	ctx := context.Background()
	if err := s.Set(ctx, "seed", []byte("v")); err != nil { // creates dir
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"fifo", "link"} {
		done := make(chan error, 1)
		go func() {
			_, err := s.Get(ctx, key)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrInsecureFile) {
				t.Errorf("Get(%q) on a FIFO = %v; want ErrInsecureFile", key, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Get(%q) on a FIFO blocked", key)
			// Unblock the stuck open so the test can finish.
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			<-done
		}
	}
}
