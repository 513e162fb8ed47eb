//go:build unix

package transport_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// exampleCertFiles writes a client certificate and its key into a new
// private directory, with the given modes (set with Chmod, so the umask
// does not change them), and returns their paths and a cleanup.
func exampleCertFiles(certMode, keyMode os.FileMode) (certFile, keyFile string, cleanup func()) {
	ca, _ := testpki.NewCA("example root")
	leaf, _ := ca.Client("client-1")
	dir, _ := os.MkdirTemp("", "securecall-example-") // mode 0700
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_ = leaf.WriteFiles(certFile, keyFile)
	_ = os.Chmod(certFile, certMode)
	_ = os.Chmod(keyFile, keyMode)
	return certFile, keyFile, func() { os.RemoveAll(dir) }
}

// A key file any local user can read (0644, a Kubernetes secret volume's
// default mode) is refused: the error names the option and the file, never
// its content. The same pair with the key at 0600 loads.
func ExampleNewClientCertificateFromFiles_insecureKey() {
	certFile, keyFile, cleanup := exampleCertFiles(0o644, 0o644)
	defer cleanup()

	_, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
	fmt.Println("insecure:", errors.Is(err, transport.ErrInsecureCertificateFile))
	var ce *transport.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
	}
	var ife *transport.InsecureFileError
	if errors.As(err, &ife) {
		fmt.Println("file:", filepath.Base(ife.File), "-", ife.Reason)
	}

	_ = os.Chmod(keyFile, 0o600)
	cert, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cert.Close()
	fmt.Println("loaded:", cert.Certificate().Leaf.Subject.CommonName)
	// Output:
	// insecure: true
	// option: keyFile
	// file: tls.key - file mode 0644 allows access by group or others
	// loaded: client-1
}

// Kubernetes makes a secret volume's files 0440 with an fsGroup: the
// owner's group may read the key. WithCertificateKeyGroupReadable accepts
// that; a key others may read is still refused.
func ExampleWithCertificateKeyGroupReadable() {
	certFile, keyFile, cleanup := exampleCertFiles(0o444, 0o440)
	defer cleanup()

	_, err := transport.NewClientCertificateFromFiles(certFile, keyFile)
	fmt.Println("default, 0440 key refused:", errors.Is(err, transport.ErrInsecureCertificateFile))

	cert, err := transport.NewClientCertificateFromFiles(certFile, keyFile,
		transport.WithCertificateKeyGroupReadable())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cert.Close()
	fmt.Println("group readable, 0440 key: loaded")

	_ = os.Chmod(keyFile, 0o444)
	_, err = transport.NewClientCertificateFromFiles(certFile, keyFile,
		transport.WithCertificateKeyGroupReadable())
	fmt.Println("group readable, 0444 key refused:", errors.Is(err, transport.ErrInsecureCertificateFile))
	// Output:
	// default, 0440 key refused: true
	// group readable, 0440 key: loaded
	// group readable, 0444 key refused: true
}
