//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

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

// TestSecretServiceLimitFits: Set's CreateItem message for a value of the
// Secret Service limit, with the longest service and key and long paths and
// sender, fits in the bus's 32 MiB, and not by much more than the overhead
// the limit allows for.
func TestSecretServiceLimitFits(t *testing.T) {
	service := strings.Repeat("s", maxServiceLen)
	key := strings.Repeat("k", tokens.MaxKeyLen)
	limit := platformLimit("linux", service, key)
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	msg := &dbus.Message{
		Type: dbus.TypeMethodCall,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath(long("/org/freedesktop/secrets/collection/", 255))),
			dbus.FieldDestination: dbus.MakeVariant(secretsService),
			dbus.FieldInterface:   dbus.MakeVariant(ssCollectionIface),
			dbus.FieldMember:      dbus.MakeVariant("CreateItem"),
			dbus.FieldSender:      dbus.MakeVariant(long(":1.", 255)), // added by the bus
		},
		Body: createItemArgs(service, key, dbus.ObjectPath(long("/org/freedesktop/secrets/session/", 255)), strings.Repeat("v", limit)),
	}
	msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(msg.Body...))
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > maxBusMessage {
		t.Fatalf("a %d-byte value makes a %d-byte message, more than %d", limit, buf.Len(), maxBusMessage)
	}
	if slack := maxBusMessage - buf.Len(); slack > busMessageOverhead {
		t.Fatalf("%d bytes to spare: the limit is looser than its overhead", slack)
	}
	t.Logf("value %d bytes, message %d bytes, %d to spare", limit, buf.Len(), maxBusMessage-buf.Len())
}
