package transport_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/securecall/securecall/internal/childtest"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A Kubernetes secret volume (kubernetes.io/tls: tls.crt, tls.key) is a
// 1777 tmpfs directory, bind-mounted read-only, each key a symlink through
// ..data into a timestamped directory: nobody can swap a file there, so
// NewClientCertificateFromFiles accepts it with defaultMode 0400, and
// refuses the same directory mounted read-write. The volume's default
// mode, 0644, leaves the key readable by every user: refused.
func TestClientCertificateFilesKubernetesSecretVolume(t *testing.T) {
	childtest.InMountNamespace(t, func(t *testing.T) {
		leaf := pkiMust(pkiMust(testpki.NewCA("client root")).Client("svc"))
		src, readOnly := childtest.SecretVolume(t, []string{"client.crt", "client.key"}, func(ts string) {
			writePair(t, leaf, ts, 0o400, 0o400)
		})
		ts := filepath.Join(src, "..data")

		// Read-write, the 1777 directory is refused.
		_, err := transport.NewClientCertificateFromFiles(filepath.Join(src, "client.crt"), filepath.Join(src, "client.key"))
		wantInsecure(t, err, "certFile", src, leaf)

		vol := readOnly()
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
