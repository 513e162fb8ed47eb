//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"

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

// dbusErrorName returns the D-Bus error name in err's chain (godbus
// returns a dbus.Error or a *dbus.Error), "" when it has none.
func dbusErrorName(err error) string {
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &de):
		return de.Name
	case errors.As(err, &dep):
		return dep.Name
	}
	return ""
}

// classifyPlatform recognises the Secret Service's failures.
func classifyPlatform(err error) error {
	name := dbusErrorName(err)
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
	// A keyring that stayed locked (its unlock prompt dismissed) is
	// errStillLocked, a dismissed write prompt errDismissed; go-keyring's
	// own Unlock says so with an untyped fmt.Errorf, whose text is the only
	// signal.
	if errors.Is(err, errDismissed) || errors.Is(err, errStillLocked) || strings.Contains(err.Error(), "failed to unlock correct collection") {
		return tokens.ErrLocked
	}
	if strings.HasPrefix(err.Error(), "dbus: couldn't determine address of session bus") {
		return tokens.ErrUnavailable
	}
	return nil
}

// errDismissed: the user dismissed the Secret Service's prompt, so what it
// asked for did not happen. Each caller says what that leaves changed
// (nothing, or the items deleted before it).
var errDismissed = errors.New("the keyring's prompt was dismissed")

// nothingChanged is said of a dismissed prompt when nothing else was
// changed before it.
const nothingChanged = "; nothing was changed"

// errStillLocked: the Secret Service did not unlock the collection or item.
// unlock wraps it with what its answers tell of why.
var errStillLocked = errors.New("the keyring stayed locked")

const (
	ssServicePath     = dbus.ObjectPath("/org/freedesktop/secrets")
	ssServiceIface    = "org.freedesktop.Secret.Service"
	ssCollectionIface = "org.freedesktop.Secret.Collection"
	ssItemIface       = "org.freedesktop.Secret.Item"
	ssPromptIface     = "org.freedesktop.Secret.Prompt"
)

// afterSearch is called by Get and Delete between finding the key's items
// and reading or deleting them (a variable for tests).
var afterSearch = func() {}

// platformProvider is secretService.
func platformProvider() provider { return secretService{} }

// secretService reads and writes through the Secret Service the way
// go-keyring does (same collection, attributes and label), but unlocks and
// shows prompts itself and honours a prompt's answer: go-keyring's Set and
// Delete ignore the "dismissed" flag of a prompt (KeePassXC asks before it
// deletes an entry) and report success although nothing changed, and its
// prompt handling (Unlock too) takes any signal of the shared connection
// for its prompt's answer and never unregisters its signal channel, which
// then collects every later signal of the process's session bus
// connection (a goroutine blocked forever per signal), and dereferences
// nil when the connection closes while a prompt is showing.
type secretService struct{}

func (secretService) Get(service, user string) (string, error) {
	svc, err := ss.NewSecretService()
	if err != nil {
		return "", err
	}
	collection := svc.GetLoginCollection()
	if err := unlock(svc, collection.Path(), ssCollectionIface); err != nil {
		return "", err
	}
	items, err := svc.SearchItems(collection, map[string]string{"username": user, "service": service})
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "", gokeyring.ErrNotFound
	}
	afterSearch()
	session, err := svc.OpenSession()
	if err != nil {
		return "", err
	}
	defer svc.Close(session)
	// An item another program deletes meanwhile (another process of the
	// service deleting or rotating the key) is not there: the next one,
	// if any, is read.
	for _, item := range items {
		if err := unlock(svc, item, ssItemIface); err != nil { // the item may be locked on its own
			return "", err
		}
		secret, err := svc.GetSecret(item, session.Path())
		if itemGone(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		return string(secret.Value), nil
	}
	return "", gokeyring.ErrNotFound
}

// itemGone reports an error of a call on an item that says the item does
// not exist (any more): gnome-keyring answers UnknownMethod "Object does
// not exist", other services UnknownObject or NoSuchObject. An
// UnknownMethod that says nothing of the sort (a service without the
// method) is not taken for a deleted item.
func itemGone(err error) bool {
	switch dbusErrorName(err) {
	case "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.Secret.Error.NoSuchObject":
		return true
	case "org.freedesktop.DBus.Error.UnknownMethod":
		return strings.Contains(err.Error(), "does not exist")
	}
	return false
}

func (secretService) Set(service, user, pw string) error {
	svc, err := ss.NewSecretService()
	if err != nil {
		return err
	}
	session, err := svc.OpenSession()
	if err != nil {
		return err
	}
	defer svc.Close(session)
	collection := svc.GetLoginCollection()
	if err := unlock(svc, collection.Path(), ssCollectionIface); err != nil {
		return err
	}
	var item, prompt dbus.ObjectPath
	if err := collection.Call(ssCollectionIface+".CreateItem", 0, createItemArgs(service, user, session.Path(), pw)...).Store(&item, &prompt); err != nil {
		return err
	}
	result, err := awaitPrompt(svc, prompt)
	if errors.Is(err, errDismissed) {
		return fmt.Errorf("%w"+nothingChanged, err)
	}
	if err != nil {
		return err
	}
	if p, ok := result.Value().(dbus.ObjectPath); ok && (item == "/" || item == "") {
		item = p // created through the prompt
	}
	if item == "/" || item == "" {
		return nil // the new item is not known: leave the others alone
	}
	// The replace above matches an item by all of the new item's
	// attributes; one another program wrote with an attribute of its own
	// (Python's keyring adds "application") stays beside it, an old copy
	// (a rotated-away refresh token) for another reader, or for a Get
	// once the new item is deleted.
	items, err := svc.SearchItems(collection, map[string]string{"username": user, "service": service})
	if err != nil {
		return fmt.Errorf("%w (older items of the key could not be looked for): %w", tokens.ErrStaleCopy, err)
	}
	var old []dbus.ObjectPath
	for _, it := range items {
		if it != item {
			old = append(old, it)
		}
	}
	if _, err := deleteItems(svc, old); err != nil {
		return fmt.Errorf("%w (an older item of the key could not be deleted): %w", tokens.ErrStaleCopy, err)
	}
	return nil
}

// createItemArgs are the arguments of Set's CreateItem call: the item's
// label and attributes (go-keyring's), the secret, and replace. The whole
// message must fit in maxBusMessage (platformLimit).
func createItemArgs(service, user string, session dbus.ObjectPath, pw string) []any {
	props := map[string]dbus.Variant{
		ssItemIface + ".Label":      dbus.MakeVariant(fmt.Sprintf("Password for '%s' on '%s'", user, service)),
		ssItemIface + ".Attributes": dbus.MakeVariant(map[string]string{"username": user, "service": service}),
	}
	return []any{props, ss.NewSecret(session, pw), true}
}

func (secretService) Delete(service, user string) error {
	svc, err := ss.NewSecretService()
	if err != nil {
		return err
	}
	collection := svc.GetLoginCollection()
	if err := unlock(svc, collection.Path(), ssCollectionIface); err != nil {
		return err
	}
	items, err := svc.SearchItems(collection, map[string]string{"username": user, "service": service})
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return gokeyring.ErrNotFound
	}
	afterSearch()
	// Every item of the service and key: another program may have written
	// the key with an attribute of its own (Python's keyring adds
	// "application"), which the Secret Service's replace does not match,
	// and an item left behind would serve the deleted secret.
	switch n, err := deleteItems(svc, items); {
	case err == nil && n == 0:
		return gokeyring.ErrNotFound // another program deleted them all meanwhile
	case err == nil:
		return nil
	case n > 0:
		// Not "nothing was changed": a later Get serves an item left.
		return fmt.Errorf("%w, after %d of the key's %d items were deleted", err, n, len(items))
	case errors.Is(err, errDismissed):
		return fmt.Errorf("%w"+nothingChanged, err)
	default:
		return err
	}
}

// deleteItems deletes items, through each one's prompt if it has one, and
// stops at the first failure: it returns how many it deleted. An item
// another program deleted meanwhile is gone, as wanted, and not counted.
func deleteItems(svc *ss.SecretService, items []dbus.ObjectPath) (int, error) {
	n := 0
	for _, it := range items {
		var prompt dbus.ObjectPath
		err := svc.Object(secretsService, it).Call(ssItemIface+".Delete", 0).Store(&prompt)
		if itemGone(err) {
			continue
		}
		if err != nil {
			return n, err
		}
		if _, err := awaitPrompt(svc, prompt); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

const secretsService = "org.freedesktop.secrets"

// unlock unlocks obj (a collection or an item, whose D-Bus interface is
// iface) with the Secret Service's Unlock, through its prompt when it has
// one: errStillLocked, saying why as far as the answers tell, when obj was
// not unlocked.
func unlock(svc *ss.SecretService, obj dbus.ObjectPath, iface string) error {
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Object(secretsService, ssServicePath).Call(ssServiceIface+".Unlock", 0, []dbus.ObjectPath{obj}).Store(&unlocked, &prompt); err != nil {
		return err
	}
	if prompt == "/" || prompt == "" {
		if len(unlocked) == 0 {
			return refusedUnlock(svc, obj, iface)
		}
		return nil
	}
	result, err := awaitPrompt(svc, prompt)
	if errors.Is(err, errDismissed) {
		// The answer is the same for a user's dismissal and a prompt
		// that could not be shown (gnome-keyring with no prompter: no
		// display, no gcr-prompter on the bus).
		return fmt.Errorf("%w: its unlock prompt was dismissed, or could not be shown (no display or prompter)", errStillLocked)
	}
	if err != nil {
		return err
	}
	// The prompt's result lists what it unlocked. (An alias such as
	// /org/freedesktop/secrets/aliases/default may come back as the
	// collection it names, so any path counts, as in go-keyring.)
	if more, ok := result.Value().([]dbus.ObjectPath); ok {
		unlocked = append(unlocked, more...)
	}
	if len(unlocked) == 0 {
		return fmt.Errorf("%w: its unlock prompt completed without unlocking it", errStillLocked)
	}
	return nil
}

// refusedUnlock is the error for an Unlock of obj that unlocked nothing and
// offered no prompt: obj does not exist (gnome-keyring that was never
// unlocked has no login collection, and the default alias names none), or
// the Secret Service will not unlock it without one.
func refusedUnlock(svc *ss.SecretService, obj dbus.ObjectPath, iface string) error {
	what := "keyring collection"
	if iface == ssItemIface {
		what = "keyring item"
	}
	_, err := svc.Object(secretsService, obj).GetProperty(iface + ".Locked")
	switch dbusErrorName(err) {
	case "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod",
		"org.freedesktop.DBus.Error.UnknownInterface", "org.freedesktop.Secret.Error.NoSuchObject":
		// gnome-keyring answers UnknownMethod "Object does not exist".
		return fmt.Errorf("%w: the Secret Service showed no unlock prompt and has no %s at %s (none was created, or unlocked at login)", errStillLocked, what, obj)
	}
	return fmt.Errorf("%w: the Secret Service showed no unlock prompt and did not unlock the %s at %s", errStillLocked, what, obj)
}

// awaitPrompt shows prompt ("/" is none) and waits for its own Completed
// signal: its result, or errDismissed when the user dismissed it.
func awaitPrompt(svc *ss.SecretService, prompt dbus.ObjectPath) (dbus.Variant, error) {
	var none dbus.Variant
	if prompt == "/" || prompt == "" {
		return none, nil
	}
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(prompt), dbus.WithMatchInterface(ssPromptIface), dbus.WithMatchMember("Completed")}
	if err := svc.AddMatchSignal(match...); err != nil {
		return none, err
	}
	defer svc.RemoveMatchSignal(match...)
	ch := make(chan *dbus.Signal, 4)
	svc.Signal(ch)
	defer svc.RemoveSignal(ch)
	if err := svc.Object(secretsService, prompt).Call(ssPromptIface+".Prompt", 0, "").Err; err != nil {
		return none, err
	}
	for sig := range ch {
		if sig.Path != prompt || sig.Name != ssPromptIface+".Completed" {
			continue // another prompt's, or another signal of the shared connection
		}
		if len(sig.Body) == 0 {
			return none, errors.New("keyring prompt completed without an answer")
		}
		if dismissed, ok := sig.Body[0].(bool); !ok || dismissed {
			return none, errDismissed
		}
		if len(sig.Body) > 1 {
			if v, ok := sig.Body[1].(dbus.Variant); ok {
				return v, nil
			}
		}
		return none, nil
	}
	return none, dbus.ErrClosed
}
