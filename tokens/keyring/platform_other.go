//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package keyring

import (
	"errors"
	"os/exec"

	"github.com/securecall/securecall/tokens"
)

// platformProvider is go-keyring.
func platformProvider() provider { return goKeyring{} }

// sessionBus: no D-Bus on this platform.
func sessionBus() error { return nil }

// classifyPlatform: the Keychain (via the security command) and the
// Credential Manager report little beyond "not found", which go-keyring
// maps already; a missing security binary means no keyring.
func classifyPlatform(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return tokens.ErrUnavailable
	}
	return nil
}
