package keyring_test

import (
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// dismissingService is a Secret Service that holds one item and asks for
// confirmation (a prompt) before it creates or deletes an item, as
// KeePassXC does; the user dismisses every prompt, so nothing changes.
type dismissingService struct {
	conn *dbus.Conn

	mu      sync.Mutex
	prompts int
}

const (
	ssLogin  = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	ssItem   = dbus.ObjectPath("/org/freedesktop/secrets/collection/login/1")
	ssPrompt = dbus.ObjectPath("/org/freedesktop/secrets/prompt/1")
)

type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

type ssProps struct{}

func (ssProps) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	return dbus.MakeVariant([]dbus.ObjectPath{ssLogin}), nil
}

type ssService struct{}

func (ssService) OpenSession(string, dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	return dbus.MakeVariant(""), "/org/freedesktop/secrets/session/1", nil
}

func (ssService) Unlock(objs []dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	return objs, "/", nil
}

type ssSession struct{}

func (ssSession) Close() *dbus.Error { return nil }

type ssCollection struct{}

func (ssCollection) SearchItems(map[string]string) ([]dbus.ObjectPath, *dbus.Error) {
	return []dbus.ObjectPath{ssItem}, nil
}

func (ssCollection) CreateItem(map[string]dbus.Variant, ssSecret, bool) (dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	return "/", ssPrompt, nil
}

type ssItemObj struct{}

func (ssItemObj) Delete() (dbus.ObjectPath, *dbus.Error) { return ssPrompt, nil }

type ssPromptObj struct{ s *dismissingService }

func (p ssPromptObj) Prompt(string) *dbus.Error {
	p.s.mu.Lock()
	p.s.prompts++
	p.s.mu.Unlock()
	if err := p.s.conn.Emit(ssPrompt, "org.freedesktop.Secret.Prompt.Completed", true, dbus.MakeVariant("")); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

// serveDismissing puts a dismissingService on the bus at addr.
func serveDismissing(t *testing.T, addr string) *dismissingService {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &dismissingService{conn: conn}
	for _, e := range []struct {
		v     any
		path  dbus.ObjectPath
		iface string
	}{
		{ssProps{}, "/org/freedesktop/secrets", "org.freedesktop.DBus.Properties"},
		{ssService{}, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service"},
		{ssSession{}, "/org/freedesktop/secrets/session/1", "org.freedesktop.Secret.Session"},
		{ssCollection{}, ssLogin, "org.freedesktop.Secret.Collection"},
		{ssItemObj{}, ssItem, "org.freedesktop.Secret.Item"},
		{ssPromptObj{s}, ssPrompt, "org.freedesktop.Secret.Prompt"},
	} {
		if err := conn.Export(e.v, e.path, e.iface); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := conn.RequestName(secretsName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", reply, err)
	}
	return s
}

// TestDismissedPromptIsNotSuccess: a Set or Delete whose confirmation
// prompt the user dismissed changed nothing in the keyring. go-keyring
// ignores the prompt's "dismissed" flag and reports success; the Store must
// not (a rotated refresh token reported stored but lost, a secret reported
// deleted but still there).
func TestDismissedPromptIsNotSuccess(t *testing.T) {
	b := startBusFor(t)
	s := serveDismissing(t, b.addr)
	rs := child(t, "dismiss", b.addr)
	if len(rs) != 2 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	for i, op := range []string{"Set", "Delete"} {
		if rs[i].Sentinel != "ErrLocked" {
			t.Errorf("%s after a dismissed prompt: %+v, want ErrLocked", op, rs[i])
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prompts != 2 {
		t.Errorf("%d prompts shown, want 2", s.prompts)
	}
}
