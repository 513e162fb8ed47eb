package client_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A client certificate key file any local user can read (a Kubernetes
// secret volume's default mode 0644) is refused at New with a *ConfigError
// naming WithClientCertificateFiles and the file, never its content; a
// group-readable key (0440 with fsGroup) is accepted when the option is
// given transport.WithCertificateKeyGroupReadable.
func TestClientCertificateFilesInsecureKeyRefusedAtNew(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits are not checked on Windows")
	}
	ca, _ := testPKI()
	leaf, err := ca.Client("svc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := leaf.WriteFiles(cert, key); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o666} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		wantConfigError(t, "WithClientCertificateFiles", client.WithClientCertificateFiles(cert, key))
		_, err := client.New(client.WithClientCertificateFiles(cert, key))
		if !errors.Is(err, transport.ErrInsecureCertificateFile) || !strings.Contains(err.Error(), key) {
			t.Fatalf("mode %#o: New: %v, want ErrInsecureCertificateFile naming %s", mode, err, key)
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Fatalf("New: %q carries key material", err)
		}
	}

	if err := os.Chmod(key, 0o440); err != nil {
		t.Fatal(err)
	}
	wantConfigError(t, "WithClientCertificateFiles", client.WithClientCertificateFiles(cert, key))
	c, err := client.New(client.WithClientCertificateFiles(cert, key, transport.WithCertificateKeyGroupReadable()))
	if err != nil {
		t.Fatalf("a 0440 key with WithCertificateKeyGroupReadable: %v", err)
	}
	c.Close()
}
