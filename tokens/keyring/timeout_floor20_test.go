package keyring_test

import (
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// A timeout under a millisecond was accepted, though no keyring call (a
// D-Bus round trip, a Keychain lookup) finishes in it: every call failed
// with ErrTimeout, which a Chain with WhenUnavailable takes for a keyring
// that is down, falling back silently. New refuses it, naming WithTimeout.
func TestNewRefusesTimeoutUnderAMillisecond(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, time.Millisecond - 1} {
		_, err := keyring.New("securecall-floor", keyring.WithTimeout(d))
		var ce *tokens.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithTimeout" {
			t.Errorf("WithTimeout(%v): New = %v, want a *ConfigError naming WithTimeout", d, err)
		}
	}
	if _, err := keyring.New("securecall-floor", keyring.WithTimeout(time.Millisecond)); err != nil {
		t.Errorf("WithTimeout(1ms): %v", err)
	}
}
