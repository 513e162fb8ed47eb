package transport_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// writePair writes leaf's certificate and key into dir with the given
// modes (set with Chmod, so the umask does not change them).
func writePair(t *testing.T, leaf *testpki.Leaf, dir string, certMode, keyMode os.FileMode) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := leaf.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(certFile, certMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, keyMode); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// wantInsecure checks err is a *ConfigError naming option, that it says
// which file, and that no key material is in it.
func wantInsecure(t *testing.T, err error, option, file string, leaf *testpki.Leaf) {
	t.Helper()
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != option {
		t.Fatalf("err = %v, want a *ConfigError naming %s", err, option)
	}
	if !errors.Is(err, transport.ErrInsecureCertificateFile) {
		t.Fatalf("err = %v, want ErrInsecureCertificateFile", err)
	}
	ife, ok := errors.AsType[*transport.InsecureFileError](err)
	if !ok || ife.Path != file {
		t.Fatalf("err = %v, want an *InsecureFileError for %s", err, file)
	}
	if !strings.Contains(err.Error(), file) {
		t.Fatalf("err = %q does not name %s", err, file)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(leaf.KeyPEM[40:80])) {
		t.Fatalf("err = %q carries key material", err)
	}
}

// A private key any local user can read is a credential any of them can
// copy, and a key or certificate file anyone can write lets anyone swap
// the client's identity: NewClientCertificateFromFiles refuses them as
// FileStore refuses such secret files (a key: mode & 0o077, 0o037 with
// WithCertificateKeyGroupReadable; a certificate, which is public: mode &
// 0o022).
func TestClientCertificateFilesInsecureModesRefused(t *testing.T) {
	if !fileModesChecked() {
		t.Skip("mode bits are not checked on this platform")
	}
	ca := pkiMust(testpki.NewCA("client root"))
	leaf := pkiMust(ca.Client("svc"))
	for _, tc := range []struct {
		name              string
		certMode, keyMode os.FileMode
		groupReadable     bool
		option            string // "" when accepted
		file              string // "cert" or "key"
	}{
		{name: "key0600", certMode: 0o644, keyMode: 0o600},
		{name: "key0400", certMode: 0o444, keyMode: 0o400},
		{name: "key0644", certMode: 0o644, keyMode: 0o644, option: "keyFile", file: "key"},
		{name: "key0666", certMode: 0o644, keyMode: 0o666, option: "keyFile", file: "key"},
		{name: "key0604", certMode: 0o644, keyMode: 0o604, option: "keyFile", file: "key"},
		{name: "key0640", certMode: 0o644, keyMode: 0o640, option: "keyFile", file: "key"},
		{name: "key0620", certMode: 0o644, keyMode: 0o620, option: "keyFile", file: "key"},
		{name: "key0640group", certMode: 0o644, keyMode: 0o640, groupReadable: true},
		{name: "key0440group", certMode: 0o444, keyMode: 0o440, groupReadable: true},
		{name: "key0660group", certMode: 0o644, keyMode: 0o660, groupReadable: true, option: "keyFile", file: "key"},
		{name: "key0644group", certMode: 0o644, keyMode: 0o644, groupReadable: true, option: "keyFile", file: "key"},
		{name: "cert0666", certMode: 0o666, keyMode: 0o600, option: "certFile", file: "cert"},
		{name: "cert0664", certMode: 0o664, keyMode: 0o600, option: "certFile", file: "cert"},
		{name: "cert0646", certMode: 0o646, keyMode: 0o600, option: "certFile", file: "cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certFile, keyFile := writePair(t, leaf, t.TempDir(), tc.certMode, tc.keyMode)
			var opts []transport.ClientCertificateOption
			if tc.groupReadable {
				opts = append(opts, transport.WithCertificateKeyGroupReadable())
			}
			cc, err := transport.NewClientCertificateFromFiles(certFile, keyFile, opts...)
			if tc.option == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				cc.Close()
				t.Fatalf("mode cert %#o key %#o accepted", tc.certMode, tc.keyMode)
			}
			file := keyFile
			if tc.file == "cert" {
				file = certFile
			}
			wantInsecure(t, err, tc.option, file, leaf)
		})
	}
}

// A directory others may write to lets them replace the key or the
// certificate file whatever its mode (unless, on Linux, it is on a
// read-only mount, as a Kubernetes secret volume is); so does a symlink to
// the file in such a directory.
func TestClientCertificateFilesInsecureDirectoryRefused(t *testing.T) {
	if !fileModesChecked() {
		t.Skip("mode bits are not checked on this platform")
	}
	ca := pkiMust(testpki.NewCA("client root"))
	leaf := pkiMust(ca.Client("svc"))
	for _, mode := range []os.FileMode{0o777, 0o1777, 0o775, 0o757} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			certFile, keyFile := writePair(t, leaf, dir, 0o644, 0o600)
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			_, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
			if err == nil {
				t.Fatalf("files in a %v directory accepted", mode)
			}
			wantInsecure(t, err, "certFile", dir, leaf)
		})
	}
	t.Run("keyOnly", func(t *testing.T) {
		safe := t.TempDir()
		open := filepath.Join(t.TempDir(), "open")
		if err := os.Mkdir(open, 0o700); err != nil {
			t.Fatal(err)
		}
		certFile, _ := writePair(t, leaf, safe, 0o644, 0o600)
		_, keyFile := writePair(t, leaf, open, 0o644, 0o600)
		if err := os.Chmod(open, 0o777); err != nil {
			t.Fatal(err)
		}
		_, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
		wantInsecure(t, err, "keyFile", open, leaf)
	})
	t.Run("symlinkIntoOpenDirectory", func(t *testing.T) {
		safe := t.TempDir()
		open := filepath.Join(t.TempDir(), "open")
		if err := os.Mkdir(open, 0o700); err != nil {
			t.Fatal(err)
		}
		certFile, _ := writePair(t, leaf, safe, 0o644, 0o600)
		_, realKey := writePair(t, leaf, open, 0o644, 0o600)
		if err := os.Chmod(open, 0o777); err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(safe, "link.key")
		if err := os.Symlink(realKey, keyFile); err != nil {
			t.Fatal(err)
		}
		_, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
		wantInsecure(t, err, "keyFile", open, leaf)
	})
}

// A key or certificate file owned by another user (not root) is refused:
// that user can change its mode or content at will.
func TestClientCertificateFilesOtherOwnerRefused(t *testing.T) {
	if !fileModesChecked() {
		t.Skip("owners are not checked on this platform")
	}
	ca := pkiMust(testpki.NewCA("client root"))
	leaf := pkiMust(ca.Client("svc"))
	for _, which := range []string{"certFile", "keyFile"} {
		t.Run(which, func(t *testing.T) {
			certFile, keyFile := writePair(t, leaf, t.TempDir(), 0o644, 0o600)
			file := keyFile
			if which == "certFile" {
				file = certFile
			}
			other := os.Geteuid() + 4242
			if err := os.Chown(file, other, -1); err != nil {
				t.Skipf("cannot give the file to another user: %v", err)
			}
			_, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
			wantInsecure(t, err, which, file, leaf)
		})
	}
}

// A rotation that leaves the key readable by others, or a key whose mode
// changed in place, is a bad reload: the certificate in use stays, Reload
// and the reload hook get the error, and a safe key afterwards is picked up.
func TestClientCertificateReloadInsecureKeyRefused(t *testing.T) {
	if !fileModesChecked() {
		t.Skip("mode bits are not checked on this platform")
	}
	ca := pkiMust(testpki.NewCA("client root"))
	a := pkiMust(ca.Client("svc-a"))
	b := pkiMust(ca.Client("svc-b"))
	certFile, keyFile := writePair(t, a, t.TempDir(), 0o644, 0o600)
	var hooked []error
	cc, err := transport.NewClientCertificateFromFiles(certFile, keyFile,
		transport.WithCertificateReloadHook(func(err error) { hooked = append(hooked, err) }))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	serial := cc.Certificate().Leaf.SerialNumber

	// The same content, made world-readable in place.
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	err = cc.Reload()
	if !errors.Is(err, transport.ErrInsecureCertificateFile) {
		t.Fatalf("Reload of a 0644 key = %v, want ErrInsecureCertificateFile", err)
	}
	if len(hooked) != 1 || !errors.Is(hooked[0], transport.ErrInsecureCertificateFile) {
		t.Fatalf("hook got %v, want one ErrInsecureCertificateFile", hooked)
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(serial) != 0 {
		t.Fatal("the certificate in use changed")
	}

	// A rotation writing a new pair with a 0666 key.
	writePair(t, b, filepath.Dir(keyFile), 0o644, 0o666)
	if err := cc.Reload(); !errors.Is(err, transport.ErrInsecureCertificateFile) {
		t.Fatalf("Reload of a rotated 0666 key = %v, want ErrInsecureCertificateFile", err)
	}
	if len(hooked) != 2 || !errors.Is(hooked[1], transport.ErrInsecureCertificateFile) {
		t.Fatalf("hook got %v, want a second ErrInsecureCertificateFile", hooked)
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(serial) != 0 {
		t.Fatal("a rotation with a world-writable key was installed")
	}

	// Fixed: the renewal is installed.
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); err != nil {
		t.Fatalf("Reload after the fix: %v", err)
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(b.TLS.Leaf.SerialNumber) != 0 {
		t.Fatal("the renewal was not installed once its key was safe")
	}
	if len(hooked) != 3 || hooked[2] != nil {
		t.Fatalf("hook got %v, want nil last", hooked)
	}
}

// fileModesChecked reports whether mode bits and owners are checked here
// (Unix; not Windows, where they do not describe the ACLs).
func fileModesChecked() bool { return runtime.GOOS != "windows" }
