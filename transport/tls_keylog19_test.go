package transport_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
)

// lockedBuffer is an io.Writer safe for the handshakes' goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A TLSConfig.KeyLogWriter makes crypto/tls write the secrets of every
// connection (NSS key log format) to it: whoever reads what it writes (a
// debug file left in a deployment, a log pipeline) decrypts every call,
// its credentials included, as with InsecureSkipVerify the connection is
// no longer private. NewBase refuses it like the other settings that
// weaken TLS, with a *ConfigError naming the field and matching
// ErrInsecureTLS, and CheckTLSConfig (which client uses for the TLS
// configuration of a transport it is given) says so too. Without the
// refusal a real handshake writes its traffic secrets to the writer.
func TestNewBaseRefusesKeyLogWriter(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, nil, nil)
	keys := &lockedBuffer{}
	cfg := &tls.Config{KeyLogWriter: keys}

	if err := transport.CheckTLSConfig(cfg); err == nil {
		t.Error("CheckTLSConfig accepted a KeyLogWriter")
	}
	_, err := transport.NewBase(transport.BaseConfig{TLSConfig: cfg})
	if err == nil {
		// Show what it costs: a real handshake's secrets.
		b := pkiBase(t, transport.BaseConfig{TLSConfig: &tls.Config{KeyLogWriter: keys}}, srv, w.ca)
		if _, _, err := pkiGet(t, b, "https://api.example.test/"); err != nil {
			t.Fatal(err)
		}
		t.Fatalf("NewBase accepted TLSConfig.KeyLogWriter; one call wrote %d bytes of session secrets to it (%.40q...)",
			len(keys.String()), keys.String())
	}
	ce, ok := errors.AsType[*transport.ConfigError](err)
	if !ok || ce.Option != "TLSConfig.KeyLogWriter" {
		t.Fatalf("err = %v, want a *ConfigError naming TLSConfig.KeyLogWriter", err)
	}
	if !errors.Is(err, transport.ErrInsecureTLS) || !transport.IsCertificateError(err) {
		t.Fatalf("err = %v: want it to match ErrInsecureTLS", err)
	}
	if keys.String() != "" {
		t.Fatalf("secrets written: %q", keys.String())
	}
}
