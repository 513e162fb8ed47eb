package transport_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// The errors of a file-based client certificate name its files, never
// their content: a key file that holds a bare secret instead of PEM, a
// certificate file that is the key, a key file others may read, and the
// same on a reload (what the hook gets and Reload returns).
func TestClientCertificateFileErrorsQuoteNoContent(t *testing.T) {
	const secret = "s3cr3t-key-file-content-5b7e"
	ca := pkiMust(testpki.NewCA("client root"))
	leaf := pkiMust(ca.Client("svc"))
	keyMaterial := string(leaf.KeyPEM[40:80])
	check := func(t *testing.T, what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if s := err.Error(); strings.Contains(s, secret) || strings.Contains(s, keyMaterial) || strings.Contains(s, "PRIVATE KEY-----") {
			t.Errorf("%s: err = %q carries file content", what, s)
		}
	}
	write := func(t *testing.T, name, content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name      string
		cert, key string
		keyMode   os.FileMode
	}{
		{"bare secret as key", string(leaf.CertPEM), secret + "\n", 0o600},
		{"PEM-looking secret as key", string(leaf.CertPEM), "-----BEGIN PRIVATE KEY-----\n" + secret + "\n-----END PRIVATE KEY-----\n", 0o600},
		{"key as certificate", string(leaf.KeyPEM), string(leaf.KeyPEM), 0o600},
		{"secret as certificate", secret + "\n", string(leaf.KeyPEM), 0o600},
		{"key readable by others", string(leaf.CertPEM), secret + "\n" + string(leaf.KeyPEM), 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
			write(t, certFile, tc.cert, 0o644)
			write(t, keyFile, tc.key, tc.keyMode)
			_, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
			check(t, "NewClientCertificateFromFiles", err)

			// The same content replacing a good pair: Reload's error and the hook's.
			write(t, certFile, string(leaf.CertPEM), 0o644)
			write(t, keyFile, string(leaf.KeyPEM), 0o600)
			var hooked []error
			cc, err := transport.NewClientCertificateFromFiles(certFile, keyFile, transport.WithCertificateReloadHook(func(err error) { hooked = append(hooked, err) }))
			if err != nil {
				t.Fatal(err)
			}
			write(t, certFile, tc.cert, 0o644)
			write(t, keyFile, tc.key, tc.keyMode)
			check(t, "Reload", cc.Reload())
			for _, h := range hooked {
				check(t, "reload hook", h)
			}
		})
	}
}
