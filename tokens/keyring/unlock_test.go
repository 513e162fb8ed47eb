package keyring_test

import (
	"reflect"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// lockingService is a Secret Service whose login collection holds one item
// and asks to be unlocked (a prompt) on every access, as a keyring set to
// lock after each use does. Its prompt is accepted or dismissed. Creating
// and deleting items needs no prompt.
type lockingService struct {
	conn *dbus.Conn
	mode string // "accept", "dismiss" or "unlock-nothing"

	mu      sync.Mutex
	pending []dbus.ObjectPath // what the prompt unlocks
	unlocks int
}

const ssUnlockPrompt = dbus.ObjectPath("/org/freedesktop/secrets/prompt/unlock")

type lsService struct{ s *lockingService }

func (lsService) OpenSession(string, dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	return dbus.MakeVariant(""), "/org/freedesktop/secrets/session/1", nil
}

func (l lsService) Unlock(objs []dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.unlocks++
	l.s.pending = objs
	return []dbus.ObjectPath{}, ssUnlockPrompt, nil
}

type lsCollection struct{}

func (lsCollection) SearchItems(map[string]string) ([]dbus.ObjectPath, *dbus.Error) {
	return []dbus.ObjectPath{ssItem}, nil
}

func (lsCollection) CreateItem(map[string]dbus.Variant, ssSecret, bool) (dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	return ssItem, "/", nil
}

type lsItem struct{}

func (lsItem) Delete() (dbus.ObjectPath, *dbus.Error) { return "/", nil }

func (lsItem) GetSecret(session dbus.ObjectPath) (ssSecret, *dbus.Error) {
	return ssSecret{Session: session, Parameters: []byte{}, Value: []byte("v"), ContentType: "text/plain"}, nil
}

type lsPrompt struct{ s *lockingService }

func (p lsPrompt) Prompt(string) *dbus.Error {
	p.s.mu.Lock()
	unlocked := p.s.pending
	p.s.mu.Unlock()
	var err error
	switch p.s.mode {
	case "accept":
		err = p.s.conn.Emit(ssUnlockPrompt, "org.freedesktop.Secret.Prompt.Completed", false, dbus.MakeVariant(unlocked))
	case "dismiss":
		err = p.s.conn.Emit(ssUnlockPrompt, "org.freedesktop.Secret.Prompt.Completed", true, dbus.MakeVariant(""))
	case "unlock-nothing": // accepted, and nothing unlocked
		err = p.s.conn.Emit(ssUnlockPrompt, "org.freedesktop.Secret.Prompt.Completed", false, dbus.MakeVariant([]dbus.ObjectPath{}))
	}
	if err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

// serveLocking puts a lockingService in the given mode on the bus at addr.
func serveLocking(t *testing.T, addr, mode string) *lockingService {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &lockingService{conn: conn, mode: mode}
	for _, e := range []struct {
		v     any
		path  dbus.ObjectPath
		iface string
	}{
		{ssProps{}, "/org/freedesktop/secrets", "org.freedesktop.DBus.Properties"},
		{lsService{s}, "/org/freedesktop/secrets", "org.freedesktop.Secret.Service"},
		{ssSession{}, "/org/freedesktop/secrets/session/1", "org.freedesktop.Secret.Session"},
		{lsCollection{}, ssLogin, "org.freedesktop.Secret.Collection"},
		{lsItem{}, ssItem, "org.freedesktop.Secret.Item"},
		{lsPrompt{s}, ssUnlockPrompt, "org.freedesktop.Secret.Prompt"},
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

// signalChannels is how many channels are registered with Conn.Signal on
// this process's shared session bus connection, read from godbus's default
// signal handler; -1 if godbus no longer has that shape.
func signalChannels() int {
	conn, err := dbus.SessionBus()
	if err != nil {
		return -1
	}
	h := reflect.ValueOf(conn).Elem().FieldByName("signalHandler")
	if !h.IsValid() || h.IsNil() {
		return -1
	}
	v := h.Elem()
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return -1
	}
	if s := v.FieldByName("signals"); s.IsValid() && s.Kind() == reflect.Slice {
		return s.Len()
	}
	return -1
}

// TestUnlockPromptLeavesNoSignalChannel: Get, Set and Delete unlock a
// locked collection through its prompt and leave nothing registered on
// the shared session bus connection. go-keyring's Unlock registers a
// signal channel per prompt and never removes it: godbus delivers every
// later signal of the process's connection to it, a goroutine per signal
// blocked forever once its one-slot buffer is full.
func TestUnlockPromptLeavesNoSignalChannel(t *testing.T) {
	b := startBusFor(t)
	s := serveLocking(t, b.addr, "accept")
	rs := child(t, "unlock", b.addr)
	if len(rs) != 6 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	for i, op := range []string{"Get", "Get", "Get", "Set", "Delete"} {
		if rs[i].Sentinel != "nil" {
			t.Errorf("%s %d after an accepted unlock prompt: %+v", op, i, rs[i])
		}
	}
	if n := rs[5].Channels; n != 0 {
		t.Errorf("%d signal channels left on the session bus connection after 5 unlocks, want 0", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unlocks < 5 {
		t.Errorf("%d unlocks, want at least 5 (one per call)", s.unlocks)
	}
}

// TestDismissedUnlockPromptIsLocked: a dismissed unlock prompt is
// ErrLocked for Get, Set and Delete, and leaves nothing registered.
func TestDismissedUnlockPromptIsLocked(t *testing.T) {
	b := startBusFor(t)
	serveLocking(t, b.addr, "dismiss")
	rs := child(t, "unlock", b.addr)
	if len(rs) != 6 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	for i, op := range []string{"Get", "Get", "Get", "Set", "Delete"} {
		if rs[i].Sentinel != "ErrLocked" {
			t.Errorf("%s %d after a dismissed unlock prompt: %+v, want ErrLocked", op, i, rs[i])
		}
	}
	if n := rs[5].Channels; n != 0 {
		t.Errorf("%d signal channels left on the session bus connection, want 0", n)
	}
}
