package childtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const mountEnv = "SECURECALL_TEST_MOUNTNS"

// InMountNamespace runs the calling test again in a child process with a
// mount namespace of its own (as root, or as root of a new user namespace
// mapped to the caller), where body runs and may mount file systems that
// vanish with the child. It skips when the system allows neither, and
// when the child skipped; it fails when the child failed or did not run
// the test.
func InMountNamespace(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	cmd := child(t, mountEnv, body)
	if cmd == nil {
		return
	}
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
	case err == nil && !strings.Contains(string(out), "--- PASS: "+t.Name()):
		// A -test.run that matched nothing (a subtest's name) passes
		// without running body.
		t.Fatalf("child test did not run:\n%s", out)
	case err == nil:
	case errors.As(err, &ee):
		t.Fatalf("child failed: %v\n%s", err, out)
	default:
		t.Skipf("cannot start a child in a mount namespace (needs root or unprivileged user namespaces): %v", err)
	}
}

// SecretVolume lays out, inside InMountNamespace's child, what a
// Kubernetes secret volume is: a tmpfs directory of mode 1777 (src),
// whose files live in a timestamped directory (ts, which fill writes)
// reached through the symlink ..data, one symlink per name in src. It
// returns src, on a read-write mount, and readOnly, which bind-mounts src
// read-only (as the kubelet mounts the volume into a container) and
// returns where. It skips when tmpfs cannot be mounted.
func SecretVolume(t *testing.T, names []string, fill func(ts string)) (src string, readOnly func() string) {
	t.Helper()
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
	fill(ts)
	if err := os.Symlink(filepath.Base(ts), filepath.Join(src, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.Symlink("..data/"+n, filepath.Join(src, n)); err != nil {
			t.Fatal(err)
		}
	}
	return src, func() string {
		t.Helper()
		if err := syscall.Mount(src, vol, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(vol, syscall.MNT_DETACH) })
		if err := syscall.Mount("", vol, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount read-only: %v", err)
		}
		return vol
	}
}
