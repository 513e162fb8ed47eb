package fleet

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

// TestNonceStoreRefusesNilLocal: a nil *signer.MemoryNonceStore given as
// NonceOptions.Local under FallBackLocal (a variable never assigned: an
// interface holding a nil pointer is not nil) made NewNonceStore panic
// reading its MaxRetention. It is a *ConfigError naming Local, as
// signer.NewVerifier refuses a nil store in VerifierOptions.Nonces.
func TestNonceStoreRefusesNilLocal(t *testing.T) {
	srv := redistest.Start(t)
	var local *signer.MemoryNonceStore
	var st *NonceStore
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("NewNonceStore panicked: %v", p)
			}
		}()
		st, err = NewNonceStore(srv.Client(), NonceOptions{Policy: FallBackLocal, Local: local})
	}()
	var ce *ConfigError
	if st != nil || !errors.As(err, &ce) || ce.Option != "Local" {
		t.Fatalf("NewNonceStore: %v, %v; want a *ConfigError naming Local", st, err)
	}
}
