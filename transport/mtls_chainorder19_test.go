package transport_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A chain file written intermediate first ("cat ca-bundle.crt
// client.crt > chain.pem", a common way of assembling one) has the
// right key for its leaf, but crypto/tls takes the first certificate for
// the leaf and finds the key does not match it. The constructors blamed
// the key ("keyFile refused: private key does not match public key"),
// sending the operator to check a key that is fine, and a rotation that
// wrote such a file reported the key at fault to the reload hook. The
// certificate file is at fault, and the error says the leaf must come
// first.
func TestClientCertificateChainNotLeafFirstBlamesTheCertificate(t *testing.T) {
	root := pkiMust(testpki.NewCA("root"))
	mid := pkiMust(root.Intermediate("intermediate"))
	leaf := pkiMust(mid.Client("svc"))
	reversed := append(append([]byte(nil), mid.CertPEM...), leafBlockPEM(t, leaf)...)

	_, err := transport.NewClientCertificateFromPEM(reversed, leaf.KeyPEM)
	checkChainOrderErr(t, "NewClientCertificateFromPEM", err, "certPEM")

	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cf, reversed, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = transport.NewClientCertificateFromFiles(cf, kf)
	checkChainOrderErr(t, "NewClientCertificateFromFiles", err, "certFile")

	// A key that belongs to no certificate of the file is still the key's
	// fault.
	other := pkiMust(mid.Client("other"))
	_, err = transport.NewClientCertificateFromPEM(reversed, other.KeyPEM)
	if ce, ok := errors.AsType[*transport.ConfigError](err); !ok || ce.Option != "keyPEM" {
		t.Errorf("a key of no certificate of the chain: %v, want a *ConfigError naming keyPEM", err)
	}
}

// leafBlockPEM returns the leaf's own certificate block (CertPEM holds its chain).
func leafBlockPEM(t *testing.T, l *testpki.Leaf) []byte {
	t.Helper()
	s := string(l.CertPEM)
	end := "-----END CERTIFICATE-----\n"
	i := strings.Index(s, end)
	if i < 0 {
		t.Fatal("no certificate block")
	}
	return []byte(s[:i+len(end)])
}

func checkChainOrderErr(t *testing.T, what string, err error, option string) {
	t.Helper()
	ce, ok := errors.AsType[*transport.ConfigError](err)
	if !ok || ce.Option != option {
		t.Errorf("%s with the leaf after its intermediate: %v, want a *ConfigError naming %s", what, err, option)
		return
	}
	if !strings.Contains(err.Error(), "leaf") {
		t.Errorf("%s: %v, want it to say the leaf must come first", what, err)
	}
}
