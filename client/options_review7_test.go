package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// wantConfigError fails t unless client.New(opts...) fails with a
// *ConfigError naming option.
func wantConfigError(t *testing.T, option string, opts ...client.Option) {
	t.Helper()
	c, err := client.New(opts...)
	if err == nil {
		c.Close()
		t.Fatalf("New succeeded, want a *ConfigError naming %s", option)
	}
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != option {
		t.Fatalf("New: %v, want a *ConfigError naming %s", err, option)
	}
}

// WithAllowedProxies without WithProxy has no proxy to allow, and would
// instead let the client connect directly, unchecked, to the listed
// host:port (a private address, any port): refused like WithAllowedNetworks
// without SSRF protection.
func TestAllowedProxiesWithoutProxyRefused(t *testing.T) {
	wantConfigError(t, "WithAllowedProxies", client.WithAllowedProxies("10.0.0.1:3128"))

	c, err := client.New(client.WithAllowedProxies("10.0.0.1:3128"), client.WithEnvironmentProxy())
	if err != nil {
		t.Fatalf("with a proxy: %v", err)
	}
	c.Close()
}

// WithAPIKey and WithAPIKeyInQuery both configure the client's one API
// key: given together, one key would be silently dropped.
func TestAPIKeyHeaderAndQueryRefused(t *testing.T) {
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		return tokens.NewToken("k", "", time.Time{}), nil
	})
	o := client.WithOrigins("https://a.test")
	wantConfigError(t, "WithAPIKeyInQuery", o, client.WithAPIKey("", src), client.WithAPIKeyInQuery("key", src))
	wantConfigError(t, "WithAPIKey", o, client.WithAPIKeyInQuery("key", src), client.WithAPIKey("", src))

	// The same option twice: the later one replaces the earlier.
	c, err := client.New(o, client.WithAPIKey("X-A", src), client.WithAPIKey("X-B", src))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// WithHMACSigning and WithSigner both set the client's signer: given
// together, one signing policy would be silently dropped.
func TestHMACSigningAndSignerRefused(t *testing.T) {
	k, err := signer.NewHMACKey("k", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(k)})
	if err != nil {
		t.Fatal(err)
	}
	o := client.WithOrigins("https://a.test")
	wantConfigError(t, "WithSigner", o, client.WithHMACSigning(signer.StaticKey(k)), client.WithSigner(s))
	wantConfigError(t, "WithHMACSigning", o, client.WithSigner(s), client.WithHMACSigning(signer.StaticKey(k)))
}

// A client certificate from WithClientCertificateFiles that clashes with
// WithTLSConfig's Certificates is reported against the option the caller
// gave, not WithClientCertificate.
func TestClientCertificateFilesClashNamesOption(t *testing.T) {
	ca, _ := testPKI()
	leaf, err := ca.Client("svc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := leaf.WriteFiles(cert, key); err != nil {
		t.Fatal(err)
	}
	wantConfigError(t, "WithClientCertificateFiles",
		client.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{leaf.TLS}}),
		client.WithClientCertificateFiles(cert, key))
}
