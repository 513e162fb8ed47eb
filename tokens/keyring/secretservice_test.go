package keyring_test

// A private, real Secret Service for the tests: a dbus-daemon on a socket in
// a temporary directory, and gnome-keyring-daemon on that bus. The recipe
// is ../../../shared/research/real-components.md §1 (Recipe A), with one
// change: the bus gets a configuration without service directories, so
// nothing is ever D-Bus-activated (an activated gnome-keyring would be a
// second, locked daemon writing into the real $HOME).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

const secretsName = "org.freedesktop.secrets"

// busConfig is a session bus configuration that activates nothing; %s is
// the listen address.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// requiredBinaries are what the real-component tests need; CI installs them
// with: apt-get install -y --no-install-recommends gnome-keyring libsecret-tools dbus-daemon
var requiredBinaries = []string{"dbus-daemon", "gnome-keyring-daemon"}

// inCI reports whether the tests run in CI, where a missing binary is a
// failure rather than a reason to skip.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

func missingBinaries() error {
	for _, bin := range requiredBinaries {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not installed (apt-get install -y --no-install-recommends gnome-keyring libsecret-tools dbus-daemon): %w", bin, err)
		}
	}
	return nil
}

// bus is a private session bus with the processes started on it.
type bus struct {
	dir   string
	addr  string
	env   []string
	procs []*exec.Cmd
}

// startBus starts a dbus-daemon in a new temporary directory that also
// serves as HOME and XDG directories for everything started on the bus.
func startBus() (*bus, error) {
	if err := missingBinaries(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "securecall-keyring-")
	if err != nil {
		return nil, err
	}
	b := &bus{dir: dir}
	run := filepath.Join(dir, "run")
	for _, d := range []string{run, filepath.Join(dir, "data"), filepath.Join(dir, "cache"), filepath.Join(dir, "config")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			b.stop()
			return nil, err
		}
	}
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, "unix:path="+filepath.Join(run, "bus")), 0o600); err != nil {
		b.stop()
		return nil, err
	}
	b.env = append(filteredEnv(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_RUNTIME_DIR="+run)
	// --nofork keeps the daemon our child, so we can stop it by its PID.
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	cmd.Env = b.env
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.stop()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		b.stop()
		return nil, err
	}
	b.procs = append(b.procs, cmd)
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.stop()
		return nil, fmt.Errorf("dbus-daemon printed no address: %w", err)
	}
	b.addr = strings.TrimSpace(addr)
	b.env = append(b.env, "DBUS_SESSION_BUS_ADDRESS="+b.addr)
	return b, nil
}

// filteredEnv is the environment without anything that points at the
// user's real session (bus, display, keyring).
func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL",
			"HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startKeyring starts gnome-keyring-daemon's secrets component on the bus,
// unlocked (login keyring created with a password read from stdin) or not,
// and waits until it owns org.freedesktop.secrets.
func (b *bus) startKeyring(unlock bool) error {
	args := []string{"--foreground", "--components=secrets"}
	var stdin io.Reader
	if unlock {
		args = append(args, "--unlock")
		stdin = strings.NewReader("test-password") // EOF-terminated
	}
	cmd := exec.Command("gnome-keyring-daemon", args...)
	cmd.Env = b.env
	cmd.Stdin = stdin
	if err := cmd.Start(); err != nil {
		return err
	}
	b.procs = append(b.procs, cmd)
	return b.waitForOwner(secretsName)
}

// waitForOwner polls NameHasOwner, which (unlike a method call) never
// triggers activation.
func (b *bus) waitForOwner(name string) error {
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var has bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err == nil && has {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New(name + " got no owner within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills what was started (newest first) and removes the directory.
func (b *bus) stop() {
	for i := len(b.procs) - 1; i >= 0; i-- {
		p := b.procs[i]
		p.Process.Kill()
		p.Wait()
	}
	b.procs = nil
	os.RemoveAll(b.dir)
}
