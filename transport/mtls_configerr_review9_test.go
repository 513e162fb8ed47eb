package transport_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A certificate and key the constructors refuse are a configuration
// mistake: a *ConfigError naming the argument at fault (the key for a key
// that does not belong to the certificate), the cause still reachable,
// and never any key material in the message.
func TestClientCertificateConstructorsRefuseBadPairsWithConfigError(t *testing.T) {
	ca := pkiMust(testpki.NewCA("c"))
	a := pkiMust(ca.Client("a"))
	b := pkiMust(ca.Client("b"))
	old := pkiMust(ca.Issue(testpki.LeafOptions{Names: []string{"old"}, Client: true,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}))
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name             string
		certPEM, keyPEM  []byte
		pemOpt, filesOpt string
	}{
		{"mismatched key", a.CertPEM, b.KeyPEM, "keyPEM", "keyFile"},
		{"junk certificate", []byte("junk"), a.KeyPEM, "certPEM", "certFile"},
		{"junk key", a.CertPEM, []byte("junk"), "keyPEM", "keyFile"},
		{"key given as certificate", a.KeyPEM, a.KeyPEM, "certPEM", "certFile"},
		{"expired certificate", old.CertPEM, old.KeyPEM, "certPEM", "certFile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := transport.NewClientCertificateFromPEM(tc.certPEM, tc.keyPEM)
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != tc.pemOpt {
				t.Errorf("NewClientCertificateFromPEM: err = %v, want a *ConfigError naming %s", err, tc.pemOpt)
			}
			cf := write(strings.ReplaceAll(tc.name, " ", "_")+".crt", tc.certPEM)
			kf := write(strings.ReplaceAll(tc.name, " ", "_")+".key", tc.keyPEM)
			_, ferr := transport.NewClientCertificateFromFiles(cf, kf)
			if !errors.As(ferr, &ce) || ce.Option != tc.filesOpt {
				t.Errorf("NewClientCertificateFromFiles: err = %v, want a *ConfigError naming %s", ferr, tc.filesOpt)
			}
			for _, e := range []error{err, ferr} {
				if e != nil && (strings.Contains(e.Error(), "PRIVATE KEY-----") || strings.Contains(e.Error(), string(b.KeyPEM[40:60])) ||
					strings.Contains(e.Error(), string(a.KeyPEM[40:60]))) {
					t.Errorf("error leaks key material: %v", e)
				}
			}
		})
	}
	_, err := transport.NewClientCertificateFromFiles(filepath.Join(dir, "none.crt"), filepath.Join(dir, "none.key"))
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "certFile" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing certificate file: err = %v, want a *ConfigError naming certFile wrapping fs.ErrNotExist", err)
	}
	_, err = transport.NewClientCertificateFromFiles(write("ok.crt", a.CertPEM), filepath.Join(dir, "none.key"))
	if !errors.As(err, &ce) || ce.Option != "keyFile" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing key file: err = %v, want a *ConfigError naming keyFile wrapping fs.ErrNotExist", err)
	}
}
