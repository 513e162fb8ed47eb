//go:build unix

package client_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// The client certificate's files are held to a secret's rules: a key file
// others may read (0644, a Kubernetes secret volume's default mode) fails
// New, naming the option and the file; a 0440 key with fsGroup is
// accepted with transport.WithCertificateKeyGroupReadable.
func ExampleWithClientCertificateFiles() {
	ca, _ := testpki.NewCA("example root")
	leaf, _ := ca.Client("client-1")
	dir, _ := os.MkdirTemp("", "securecall-example-") // mode 0700
	defer os.RemoveAll(dir)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_ = leaf.WriteFiles(certFile, keyFile)
	_ = os.Chmod(certFile, 0o444)
	_ = os.Chmod(keyFile, 0o644) // Chmod: the umask does not change it

	_, err := client.New(
		client.WithOrigins("https://api.example.com"),
		client.WithClientCertificateFiles(certFile, keyFile),
	)
	var ce *client.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
	}
	var ife *transport.InsecureFileError
	if errors.As(err, &ife) {
		fmt.Println("file:", filepath.Base(ife.File), "-", ife.Reason)
	}
	fmt.Println("insecure:", errors.Is(err, transport.ErrInsecureCertificateFile))

	_ = os.Chmod(keyFile, 0o440)
	c, err := client.New(
		client.WithOrigins("https://api.example.com"),
		client.WithClientCertificateFiles(certFile, keyFile, transport.WithCertificateKeyGroupReadable()),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("0440 key, group readable: ok")
	// Output:
	// option: WithClientCertificateFiles
	// file: tls.key - file mode 0644 allows access by group or others
	// insecure: true
	// 0440 key, group readable: ok
}
