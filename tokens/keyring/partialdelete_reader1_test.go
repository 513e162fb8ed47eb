package keyring_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// secondDismissedService is a Secret Service holding two items of the
// service and key (another program wrote one with an attribute of its
// own): the first is deleted at once, the second asks for confirmation (a
// prompt, as KeePassXC does) and the user dismisses it. Set stores its
// value in the first without a prompt.
type secondDismissedService struct {
	conn *dbus.Conn

	mu      sync.Mutex
	deleted int
}

const (
	ssItem2   = dbus.ObjectPath("/org/freedesktop/secrets/collection/login/2")
	ssPrompt2 = dbus.ObjectPath("/org/freedesktop/secrets/prompt/2")
)

type sdCollection struct{}

func (sdCollection) SearchItems(map[string]string) ([]dbus.ObjectPath, *dbus.Error) {
	return []dbus.ObjectPath{ssItem, ssItem2}, nil
}

func (sdCollection) CreateItem(map[string]dbus.Variant, ssSecret, bool) (dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	return ssItem, "/", nil
}

type sdFirst struct{ s *secondDismissedService }

func (f sdFirst) Delete() (dbus.ObjectPath, *dbus.Error) {
	f.s.mu.Lock()
	f.s.deleted++
	f.s.mu.Unlock()
	return "/", nil
}

type sdSecond struct{}

func (sdSecond) Delete() (dbus.ObjectPath, *dbus.Error) { return ssPrompt2, nil }

type sdPrompt struct{ s *secondDismissedService }

func (p sdPrompt) Prompt(string) *dbus.Error {
	if err := p.s.conn.Emit(ssPrompt2, "org.freedesktop.Secret.Prompt.Completed", true, dbus.MakeVariant("")); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

// TestDismissedPromptAfterADeleteSaysWhatChanged: when the user dismisses
// the prompt for the second of the key's items, the first is already
// deleted (by Delete) or the new value already stored (by Set): the error,
// ErrLocked as for any dismissed prompt, must not say that nothing was
// changed. It did ("the keyring's prompt was dismissed; nothing was
// changed"), after Set's own "the new value is stored" too.
func TestDismissedPromptAfterADeleteSaysWhatChanged(t *testing.T) {
	b := startBusFor(t)
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &secondDismissedService{conn: conn}
	for _, e := range []struct {
		v     any
		path  dbus.ObjectPath
		iface string
	}{
		{ssProps{}, "/org/freedesktop/secrets", "org.freedesktop.DBus.Properties"},
		{ssService{}, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service"},
		{ssSession{}, "/org/freedesktop/secrets/session/1", "org.freedesktop.Secret.Session"},
		{sdCollection{}, ssLogin, "org.freedesktop.Secret.Collection"},
		{sdFirst{s}, ssItem, "org.freedesktop.Secret.Item"},
		{sdSecond{}, ssItem2, "org.freedesktop.Secret.Item"},
		{sdPrompt{s}, ssPrompt2, "org.freedesktop.Secret.Prompt"},
	} {
		if err := conn.Export(e.v, e.path, e.iface); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := conn.RequestName(secretsName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", reply, err)
	}

	rs := child(t, "dismiss", b.addr) // Set, then Delete
	if len(rs) != 2 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	set, del := rs[0], rs[1]
	if set.Sentinel != "ErrLocked" || !strings.Contains(set.Err, "the new value is stored") || strings.Contains(set.Err, "nothing was changed") {
		t.Errorf("Set: %+v, want ErrLocked saying the new value is stored, not that nothing was changed", set)
	}
	// A tokens.Refresher tells a stored write from a failed one by
	// ErrStaleCopy; Set's error did not match it (krset19). Delete stored
	// nothing.
	if !set.Stale || del.Stale {
		t.Errorf("Set matches ErrStaleCopy: %v, Delete: %v; want true, false", set.Stale, del.Stale)
	}
	if del.Sentinel != "ErrLocked" || strings.Contains(del.Err, "nothing was changed") || !strings.Contains(del.Err, "1 of the key's 2 items") {
		t.Errorf("Delete: %+v, want ErrLocked saying 1 of the key's 2 items was deleted", del)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted != 1 {
		t.Errorf("the first item deleted %d times, want 1 (by Delete; Set keeps it, the new value)", s.deleted)
	}
}
