package tokens

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// inMountNamespace runs the calling test again in a child process with a
// mount namespace of its own (as root, or as root of a new user namespace
// mapped to the caller), where child runs and may mount file systems that
// vanish with the child. It skips when the system allows neither.
func inMountNamespace(t *testing.T, child func(t *testing.T)) {
	t.Helper()
	const env = "SECURECALL_TEST_MOUNTNS"
	if os.Getenv(env) == t.Name() {
		child(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if uid := os.Geteuid(); uid != 0 {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil && strings.Contains(string(out), "--- SKIP"):
		t.Skipf("child skipped:\n%s", out)
	case err == nil:
	case errors.As(err, &ee):
		t.Fatalf("child failed: %v\n%s", err, out)
	default:
		t.Skipf("cannot start a child in a mount namespace (needs root or unprivileged user namespaces): %v", err)
	}
}

// A Kubernetes secret volume is a tmpfs whose directory has mode 1777,
// owned by root, bind-mounted read-only into the container, with each key
// a symlink through ..data into a timestamped directory. Nobody can add,
// replace or remove an entry in a directory on a read-only mount, so its
// world-writable mode lets no one swap a secret: FileStore must read it
// (the documented Kubernetes set-up) instead of refusing every key with
// ErrInsecureFile. The same directory mounted read-write is still refused.
func TestFileStoreKubernetesSecretVolume(t *testing.T) {
	inMountNamespace(t, func(t *testing.T) {
		ctx := context.Background()
		base := t.TempDir()
		src, vol := filepath.Join(base, "tmpfs"), filepath.Join(base, "volume")
		for _, d := range []string{src, vol} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := syscall.Mount("tmpfs", src, "tmpfs", 0, "mode=1777"); err != nil {
			t.Skipf("mount tmpfs: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(src, syscall.MNT_DETACH) })
		ts := filepath.Join(src, "..2026_01_01_00_00_00.000000001")
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ts, "token"), []byte("s3cret"), 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Base(ts), filepath.Join(src, "..data")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("..data/token", filepath.Join(src, "token")); err != nil {
			t.Fatal(err)
		}

		// Read-write, the 1777 directory is refused.
		rw, err := NewFileStore(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rw.Get(ctx, "token"); !errors.Is(err, ErrInsecureFile) {
			t.Fatalf("1777 directory on a read-write mount: Get = %v; want ErrInsecureFile", err)
		}

		if err := syscall.Mount(src, vol, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(vol, syscall.MNT_DETACH) })
		if err := syscall.Mount("", vol, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount read-only: %v", err)
		}
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
	inMountNamespace(t, func(t *testing.T) {
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
