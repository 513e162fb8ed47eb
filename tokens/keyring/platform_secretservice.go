//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/securecall/securecall/tokens"
)

// errNoBus: no session bus is configured. godbus would otherwise run
// dbus-launch, which starts a session bus daemon that outlives the process.
var errNoBus = errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and /run/user/<uid>/bus does not exist)")

// runUserDir is where systemd puts per-user runtime directories (a variable
// for tests).
var runUserDir = "/run/user"

// sessionBus checks that godbus will find a session bus without launching
// one, the way godbus itself looks for it.
func sessionBus() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	dir := filepath.Join(runUserDir, strconv.Itoa(os.Getuid()))
	if _, err := os.Stat(filepath.Join(dir, "bus")); err == nil {
		return nil
	}
	// godbus takes dbus-session only when it holds an address; an empty
	// file, or one in another format, sends it to dbus-launch.
	if b, err := os.ReadFile(filepath.Join(dir, "dbus-session")); err == nil {
		if a, ok := strings.CutPrefix(string(b), "DBUS_SESSION_BUS_ADDRESS="); ok && strings.TrimRight(a, "\n\r") != "" {
			return nil
		}
	}
	return errNoBus
}

// classifyPlatform recognises the Secret Service's failures.
func classifyPlatform(err error) error {
	var de dbus.Error
	var dep *dbus.Error
	name := ""
	if errors.As(err, &de) {
		name = de.Name
	} else if errors.As(err, &dep) {
		name = dep.Name
	}
	switch {
	case name == "org.freedesktop.Secret.Error.IsLocked":
		return tokens.ErrLocked
	case name == "org.freedesktop.Secret.Error.NoSuchObject":
		return tokens.ErrNotFound
	case name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout":
		return tokens.ErrTimeout
	case name == "org.freedesktop.DBus.Error.ServiceUnknown",
		name == "org.freedesktop.DBus.Error.NameHasNoOwner",
		name == "org.freedesktop.DBus.Error.NoServer",
		name == "org.freedesktop.DBus.Error.Disconnected",
		strings.HasPrefix(name, "org.freedesktop.DBus.Error.Spawn."):
		return tokens.ErrUnavailable
	}
	var ee *exec.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ee), errors.As(err, &oe), errors.Is(err, fs.ErrNotExist), errors.Is(err, dbus.ErrClosed):
		return tokens.ErrUnavailable
	}
	// go-keyring reports a collection it could not unlock (a locked
	// keyring, a dismissed prompt) with an untyped fmt.Errorf; its text is
	// the only signal.
	if strings.Contains(err.Error(), "failed to unlock correct collection") {
		return tokens.ErrLocked
	}
	if strings.HasPrefix(err.Error(), "dbus: couldn't determine address of session bus") {
		return tokens.ErrUnavailable
	}
	return nil
}
