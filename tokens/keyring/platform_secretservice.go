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
	// keyring, a dismissed unlock prompt) with an untyped fmt.Errorf; its
	// text is the only signal. A dismissed write prompt is errDismissed.
	if errors.Is(err, errDismissed) || strings.Contains(err.Error(), "failed to unlock correct collection") {
		return tokens.ErrLocked
	}
	if strings.HasPrefix(err.Error(), "dbus: couldn't determine address of session bus") {
		return tokens.ErrUnavailable
	}
	return nil
}

// errDismissed: the user dismissed the Secret Service's prompt, so the
// write did not happen.
var errDismissed = errors.New("the keyring's prompt was dismissed; nothing was changed")

const (
	ssCollectionIface = "org.freedesktop.Secret.Collection"
	ssItemIface       = "org.freedesktop.Secret.Item"
	ssPromptIface     = "org.freedesktop.Secret.Prompt"
)

// platformProvider is go-keyring for reads and secretService for writes.
func platformProvider() provider { return secretService{} }

// secretService writes through the Secret Service the way go-keyring does
// (same collection, attributes and label), but honours a prompt's answer:
// go-keyring's Set and Delete ignore the "dismissed" flag of a prompt
// (KeePassXC asks before it deletes an entry) and report success although
// nothing changed, and they take any prompt's Completed signal on the
// shared connection for their own.
type secretService struct{ goKeyring }

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
	if err := svc.Unlock(collection.Path()); err != nil {
		return err
	}
	props := map[string]dbus.Variant{
		ssItemIface + ".Label":      dbus.MakeVariant(fmt.Sprintf("Password for '%s' on '%s'", user, service)),
		ssItemIface + ".Attributes": dbus.MakeVariant(map[string]string{"username": user, "service": service}),
	}
	var item, prompt dbus.ObjectPath
	if err := collection.Call(ssCollectionIface+".CreateItem", 0, props, ss.NewSecret(session.Path(), pw), true).Store(&item, &prompt); err != nil {
		return err
	}
	return awaitPrompt(svc, prompt)
}

func (secretService) Delete(service, user string) error {
	svc, err := ss.NewSecretService()
	if err != nil {
		return err
	}
	collection := svc.GetLoginCollection()
	if err := svc.Unlock(collection.Path()); err != nil {
		return err
	}
	items, err := svc.SearchItems(collection, map[string]string{"username": user, "service": service})
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return gokeyring.ErrNotFound
	}
	var prompt dbus.ObjectPath
	if err := svc.Object(secretsService, items[0]).Call(ssItemIface+".Delete", 0).Store(&prompt); err != nil {
		return err
	}
	return awaitPrompt(svc, prompt)
}

const secretsService = "org.freedesktop.secrets"

// awaitPrompt shows prompt ("/" is none) and waits for its own Completed
// signal: errDismissed when the user dismissed it.
func awaitPrompt(svc *ss.SecretService, prompt dbus.ObjectPath) error {
	if prompt == "/" || prompt == "" {
		return nil
	}
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(prompt), dbus.WithMatchInterface(ssPromptIface), dbus.WithMatchMember("Completed")}
	if err := svc.AddMatchSignal(match...); err != nil {
		return err
	}
	defer svc.RemoveMatchSignal(match...)
	ch := make(chan *dbus.Signal, 4)
	svc.Signal(ch)
	defer svc.RemoveSignal(ch)
	if err := svc.Object(secretsService, prompt).Call(ssPromptIface+".Prompt", 0, "").Err; err != nil {
		return err
	}
	for sig := range ch {
		if sig.Path != prompt || sig.Name != ssPromptIface+".Completed" {
			continue // another prompt's, or another signal of the shared connection
		}
		if len(sig.Body) == 0 {
			return errors.New("keyring prompt completed without an answer")
		}
		if dismissed, ok := sig.Body[0].(bool); !ok || dismissed {
			return errDismissed
		}
		return nil
	}
	return dbus.ErrClosed
}
