package transport_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// inMountNS runs the calling test again in a child process with a mount
// namespace of its own (as root, or as root of a new user namespace
// mapped to the caller), where child runs and may mount file systems that
// vanish with the child. It skips when the system allows neither.
func inMountNS(t *testing.T, child func(t *testing.T)) {
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

// A Kubernetes secret volume (kubernetes.io/tls: tls.crt, tls.key) is a
// 1777 tmpfs directory, bind-mounted read-only, each key a symlink through
// ..data into a timestamped directory: nobody can swap a file there, so
// NewClientCertificateFromFiles accepts it with defaultMode 0400, and
// refuses the same directory mounted read-write. The volume's default
// mode, 0644, leaves the key readable by every user: refused.
func TestClientCertificateFilesKubernetesSecretVolume(t *testing.T) {
	inMountNS(t, func(t *testing.T) {
		leaf := pkiMust(pkiMust(testpki.NewCA("client root")).Client("svc"))
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
		writePair(t, leaf, ts, 0o400, 0o400)
		if err := os.Symlink(filepath.Base(ts), filepath.Join(src, "..data")); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"client.crt", "client.key"} {
			if err := os.Symlink("..data/"+n, filepath.Join(src, n)); err != nil {
				t.Fatal(err)
			}
		}

		// Read-write, the 1777 directory is refused.
		_, err := transport.NewClientCertificateFromFiles(filepath.Join(src, "client.crt"), filepath.Join(src, "client.key"))
		wantInsecure(t, err, "certFile", src, leaf)

		if err := syscall.Mount(src, vol, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind mount: %v", err)
		}
		t.Cleanup(func() { syscall.Unmount(vol, syscall.MNT_DETACH) })
		if err := syscall.Mount("", vol, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount read-only: %v", err)
		}
		certFile, keyFile := filepath.Join(vol, "client.crt"), filepath.Join(vol, "client.key")
		cc, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
		if err != nil {
			t.Fatalf("secret volume with defaultMode 0400 (1777, read-only mount): %v", err)
		}
		cc.Close()

		// defaultMode 0644, Kubernetes' default: the key is refused.
		if err := os.Chmod(filepath.Join(ts, "client.key"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = transport.NewClientCertificateFromFiles(certFile, keyFile)
		wantInsecure(t, err, "keyFile", keyFile, leaf)
	})
}
