package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/securecall/securecall/internal/childtest"
)

// A Kubernetes secret volume is a tmpfs whose directory has mode 1777,
// owned by root, bind-mounted read-only into the container, with each key
// a symlink through ..data into a timestamped directory. Nobody can add,
// replace or remove an entry in a directory on a read-only mount, so its
// world-writable mode lets no one swap a secret: FileStore must read it
// (the documented Kubernetes set-up) instead of refusing every key with
// ErrInsecureFile. The same directory mounted read-write is still refused.
func TestFileStoreKubernetesSecretVolume(t *testing.T) {
	childtest.InMountNamespace(t, func(t *testing.T) {
		ctx := context.Background()
		src, readOnly := childtest.SecretVolume(t, []string{"token"}, func(ts string) {
			if err := os.WriteFile(filepath.Join(ts, "token"), []byte("s3cret"), 0o400); err != nil {
				t.Fatal(err)
			}
		})

		// Read-write, the 1777 directory is refused.
		rw, err := NewFileStore(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rw.Get(ctx, "token"); !errors.Is(err, ErrInsecureFile) {
			t.Fatalf("1777 directory on a read-write mount: Get = %v; want ErrInsecureFile", err)
		}

		vol := readOnly()
		ro, err := NewFileStore(vol)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := ro.Get(ctx, "token"); err != nil || string(v) != "s3cret" {
			t.Fatalf("Kubernetes secret volume (1777, read-only mount): Get = %q, %v; want %q", v, err, "s3cret")
		}
		if _, err := ro.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(missing) = %v; want ErrNotFound", err)
		}
	})
}

// A FileStore on a read-only mount (a Kubernetes secret volume, systemd's
// $CREDENTIALS_DIRECTORY) cannot be written: Set and Delete must say so
// with ErrReadOnly, as the Store contract and EnvStore do, so that a
// caller (or a Chain reporting a fallback it could not update) can tell
// "this store is read-only" from a failed write; the value stays.
func TestFileStoreReadOnlyMount(t *testing.T) {
	childtest.InMountNamespace(t, func(t *testing.T) {
		ctx := context.Background()
		s, dir := newFileStore(t)
		if err := s.Set(ctx, "k", []byte("v1")); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
			t.Skipf("bind mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount read-only: %v", err)
		}
		if err := s.Set(ctx, "k", []byte("v2")); !errors.Is(err, ErrReadOnly) || !errors.Is(err, syscall.EROFS) {
			t.Errorf("Set on a read-only mount = %v; want ErrReadOnly (and EROFS)", err)
		}
		if err := s.Delete(ctx, "k"); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Delete on a read-only mount = %v; want ErrReadOnly", err)
		}
		sub, err := NewFileStore(filepath.Join(dir, "missing"))
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.Set(ctx, "k", []byte("v2")); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Set creating a directory on a read-only mount = %v; want ErrReadOnly", err)
		}
		if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v1" {
			t.Errorf("Get after the refused writes = %q, %v; want v1", v, err)
		}
	})
}
