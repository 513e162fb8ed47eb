//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package keyring

import (
	"errors"
	"os/exec"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/securecall/securecall/tokens"
)

// platformProvider is go-keyring.
func platformProvider() provider { return goKeyring{} }

type goKeyring struct{}

func (goKeyring) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }
func (goKeyring) Set(service, user, pw string) error       { return gokeyring.Set(service, user, pw) }
func (goKeyring) Delete(service, user string) error        { return gokeyring.Delete(service, user) }

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
