//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/securecall/securecall/tokens"
)

// panicProvider fails the test if go-keyring would be called.
type panicProvider struct{ t *testing.T }

func (p panicProvider) Get(string, string) (string, error) {
	p.t.Fatal("go-keyring called without a session bus")
	return "", nil
}
func (p panicProvider) Set(string, string, string) error { p.t.Fatal("called"); return nil }
func (p panicProvider) Delete(string, string) error      { p.t.Fatal("called"); return nil }

func TestNoSessionBusNeverLaunchesOne(t *testing.T) {
	dir := t.TempDir()
	old := runUserDir
	runUserDir = dir
	t.Cleanup(func() { runUserDir = old })
	for _, addr := range []string{"", "autolaunch:"} {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
		s := fakeStore(t, panicProvider{t})
		s.preflight = sessionBus
		_, err := s.Get(context.Background(), "k")
		if !errors.Is(err, tokens.ErrUnavailable) || !strings.Contains(err.Error(), "no D-Bus session bus") {
			t.Fatalf("address %q: %v, want ErrUnavailable without calling go-keyring", addr, err)
		}
	}
	// A systemd user bus socket (or an explicit address) is used.
	uidDir := filepath.Join(dir, strconv.Itoa(os.Getuid()))
	os.MkdirAll(uidDir, 0o700)
	os.WriteFile(filepath.Join(uidDir, "bus"), nil, 0o600)
	if err := sessionBus(); err != nil {
		t.Fatalf("with /run/user/<uid>/bus: %v", err)
	}
	os.Remove(filepath.Join(uidDir, "bus"))
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/x")
	if err := sessionBus(); err != nil {
		t.Fatalf("with an address: %v", err)
	}
}

// godbus uses /run/user/<uid>/dbus-session only when it holds a
// DBUS_SESSION_BUS_ADDRESS= line; otherwise (empty, another format) it
// runs dbus-launch, so the preflight must not take the file's mere
// existence for a session bus.
func TestDbusSessionFileWithoutAddressIsNoBus(t *testing.T) {
	dir := t.TempDir()
	old := runUserDir
	runUserDir = dir
	t.Cleanup(func() { runUserDir = old })
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	uidDir := filepath.Join(dir, strconv.Itoa(os.Getuid()))
	os.MkdirAll(uidDir, 0o700)
	file := filepath.Join(uidDir, "dbus-session")
	for _, content := range []string{"", "export DBUS_SESSION_BUS_ADDRESS=unix:path=/x\n"} {
		os.WriteFile(file, []byte(content), 0o600)
		if err := sessionBus(); !errors.Is(err, errNoBus) {
			t.Fatalf("dbus-session %q: %v, want errNoBus (godbus would run dbus-launch)", content, err)
		}
	}
	os.WriteFile(file, []byte("DBUS_SESSION_BUS_ADDRESS=unix:abstract=/tmp/dbus-x\n"), 0o600)
	if err := sessionBus(); err != nil {
		t.Fatalf("with an address in dbus-session: %v", err)
	}
}
