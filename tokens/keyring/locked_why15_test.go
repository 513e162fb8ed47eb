package keyring_test

import (
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

// A keyring that stayed locked was always reported as "its unlock prompt
// was dismissed", also when no prompt was shown at all: gnome-keyring that
// was never unlocked has no login collection and answers Unlock with
// nothing unlocked and no prompt. The message says what happened, as far
// as the Secret Service's answers tell it; the error is ErrLocked as before.
func TestLockedKeyringSaysWhy(t *testing.T) {
	t.Run("NoCollection", func(t *testing.T) {
		b := startBusFor(t)
		if err := b.startKeyring(false); err != nil { // running, never unlocked: no login collection
			t.Fatal(err)
		}
		rs := child(t, "locked", b.addr)
		if len(rs) != 1 || rs[0].Sentinel != "ErrLocked" {
			t.Fatalf("Get: %+v, want ErrLocked", rs)
		}
		if msg := rs[0].Err; strings.Contains(msg, "dismissed") || !strings.Contains(msg, "no unlock prompt") || !strings.Contains(msg, "no keyring collection") {
			t.Fatalf("Get: %q, want it to say that no prompt was shown and there is no collection", msg)
		}
	})
	// A login collection that exists and is locked: gnome-keyring offers a
	// prompt, which without a prompter (no display, no gcr-prompter on the
	// bus) completes at once as dismissed. The answer does not tell that from
	// a user's dismissal, and the message does not claim either.
	t.Run("LockedCollectionNoPrompter", func(t *testing.T) {
		b := startBusFor(t)
		if err := b.startKeyring(true); err != nil {
			t.Fatal(err)
		}
		// Set and Delete once: gnome-keyring creates the login collection.
		if rs := child(t, "dismiss", b.addr); len(rs) != 2 || rs[0].Sentinel != "nil" || rs[1].Sentinel != "nil" {
			t.Fatalf("Set, Delete on the unlocked keyring: %+v", rs)
		}
		conn, err := dbus.Connect(b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var locked []dbus.ObjectPath
		var prompt dbus.ObjectPath
		if err := conn.Object(secretsName, "/org/freedesktop/secrets").Call("org.freedesktop.Secret.Service.Lock", 0,
			[]dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}).Store(&locked, &prompt); err != nil || len(locked) != 1 {
			t.Fatalf("Lock = %v %v %v", locked, prompt, err)
		}
		rs := child(t, "locked", b.addr)
		if len(rs) != 1 || rs[0].Sentinel != "ErrLocked" {
			t.Fatalf("Get: %+v, want ErrLocked", rs)
		}
		if msg := rs[0].Err; !strings.Contains(msg, "dismissed, or could not be shown") {
			t.Fatalf("Get: %q, want it to say the prompt was dismissed or could not be shown", msg)
		}
	})
}

// An unlock prompt that completed, not dismissed, without unlocking
// anything is not called dismissed either.
func TestUnlockPromptThatUnlockedNothingSaysSo(t *testing.T) {
	b := startBusFor(t)
	serveLocking(t, b.addr, "unlock-nothing")
	rs := child(t, "unlock", b.addr)
	if len(rs) != 6 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	for i, op := range []string{"Get", "Get", "Get", "Set", "Delete"} {
		if rs[i].Sentinel != "ErrLocked" || strings.Contains(rs[i].Err, "dismissed") || !strings.Contains(rs[i].Err, "completed without unlocking") {
			t.Errorf("%s %d: %+v, want ErrLocked saying the prompt completed without unlocking", op, i, rs[i])
		}
	}
}
