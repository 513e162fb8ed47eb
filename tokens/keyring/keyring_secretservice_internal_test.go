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
