package transport_test

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A MinVersion above TLS 1.3 (with MaxVersion unset) leaves no version
// crypto/tls can offer: every handshake would fail at call time, as a
// connection error the resilience layers treat as the server's. It is a
// *ConfigError at NewBase, like a MinVersion above MaxVersion.
func TestNewBaseRefusesMinVersionAboveTLS13(t *testing.T) {
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{MinVersion: tls.VersionTLS13 + 1}})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "TLSConfig.MinVersion" || errors.Is(err, transport.ErrInsecureTLS) {
		if b != nil {
			b.CloseIdleConnections()
		}
		t.Fatalf("err = %v, want a *ConfigError for TLSConfig.MinVersion (not ErrInsecureTLS)", err)
	}
}
