package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair, or skips the test where there is
// none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// TestPromptChild is the secrets command run by
// TestInterruptedPromptRestoresEcho, its stdin a terminal.
func TestPromptChild(t *testing.T) {
	dir := os.Getenv("SECRETS_PROMPT_CHILD_DIR")
	if dir == "" {
		t.Skip("run by TestInterruptedPromptRestoresEcho")
	}
	os.Exit(runMain([]string{"-dir", dir, "set", "api-key"}, os.Stdin, os.Stdout, os.Stderr))
}

// TestInterruptedPromptRestoresEcho: Ctrl-C (SIGINT) or SIGTERM at the
// hidden prompt ends the command with the terminal's echo back on, and
// nothing stored: left to the signal's default action, the process would
// end with echo off, and the user's shell would not show what they type.
func TestInterruptedPromptRestoresEcho(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, unix.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			_, tty := openPTY(t)
			if !echoOn(t, tty) {
				t.Fatal("a new terminal has echo off")
			}
			dir := filepath.Join(t.TempDir(), "secrets")
			cmd := exec.Command(os.Args[0], "-test.run=^TestPromptChild$")
			cmd.Env = append(os.Environ(), "SECRETS_PROMPT_CHILD_DIR="+dir)
			cmd.Stdin = tty
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			prompt, err := bufio.NewReader(stderr).ReadString(':')
			if err != nil || !strings.Contains(prompt, "not echoed") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("prompt %q %v", prompt, err)
			}
			// The prompt is printed just before echo goes off: wait for it.
			for echoOn(t, tty) {
				time.Sleep(time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("child ended with %v, want a failure", err)
			}
			if !echoOn(t, tty) {
				t.Fatalf("after %v at the prompt the terminal's echo is still off", sig)
			}
			if _, err := os.Stat(filepath.Join(dir, "api-key")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a value was stored: %v", err)
			}
		})
	}
}
