package main

import (
	"bufio"
	"context"
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

// typeAtPrompt runs `secrets -dir DIR set api-key` with a terminal as its
// stdin, types input into the terminal, and returns what was stored.
func typeAtPrompt(t *testing.T, input string) ([]byte, error) {
	t.Helper()
	master, tty := openPTY(t)
	dir := filepath.Join(t.TempDir(), "secrets")
	done := make(chan error, 1)
	go func() {
		var out, errOut strings.Builder
		done <- run(context.Background(), []string{"-dir", dir, "set", "api-key"}, tty, &out, &errOut, nil)
	}()
	// Type once the prompt has the terminal (echo off), as a person would:
	// what arrives before is edited by the terminal's own rules.
	for echoOn(t, tty) {
		time.Sleep(time.Millisecond)
	}
	if _, err := master.Write([]byte(input)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, "api-key"))
}

// A value typed (or pasted) at the prompt is stored whole, however long:
// a terminal in canonical mode cuts a line at 4095 bytes (Linux; 1 KiB on
// macOS) and drops the rest, so a long token pasted at the prompt used to
// be stored cut short, with "stored" reported.
func TestPromptStoresALongLineWhole(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 600) // 9600 bytes, one line
	got, err := typeAtPrompt(t, long+"\n")
	if err != nil || string(got) != long {
		t.Fatalf("stored %d bytes (%v), want the %d typed", len(got), err, len(long))
	}
}

// The line editing a user expects at a prompt still works: the erase key
// deletes the last character (a whole UTF-8 one), the kill key the line,
// and the end-of-file key on an empty line ends the value.
func TestPromptLineEditing(t *testing.T) {
	got, err := typeAtPrompt(t, "wrong\x15pässx\x7fwö\x7ford\r")
	if err != nil || string(got) != "pässword" {
		t.Fatalf("stored %q (%v), want %q", got, err, "pässword")
	}
	if got, err = typeAtPrompt(t, "ab\x04cd\n"); err != nil || string(got) != "abcd" {
		t.Fatalf("end-of-file mid-line: stored %q (%v), want %q", got, err, "abcd")
	}
	if got, err = typeAtPrompt(t, "\x04"); err == nil || !strings.Contains(err.Error(), "empty value") {
		t.Fatalf("end-of-file on an empty line: stored %q (%v), want the empty-value error", got, err)
	}
}

// A line over the limit pasted at the prompt is refused, and its rest is
// read and dropped with it: left in the terminal's input, it would go to
// the next program to read the terminal (the user's shell), which shows
// it on the screen, keeps it in its history and runs it as a command at
// the line's end.
func TestPromptOverLongLineLeavesNothingBehind(t *testing.T) {
	master, tty := openPTY(t)
	dir := filepath.Join(t.TempDir(), "secrets")
	done := make(chan error, 1)
	go func() {
		var out, errOut strings.Builder
		done <- run(context.Background(), []string{"-dir", dir, "set", "api-key"}, tty, &out, &errOut, nil)
	}()
	for echoOn(t, tty) {
		time.Sleep(time.Millisecond)
	}
	go master.Write([]byte(strings.Repeat("a", maxValue) + "TAILOFSECRET\nafter\n"))
	if err := <-done; err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("an over-long line: %v, want it refused", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "api-key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a value was stored: %v", err)
	}
	// What the next reader of the terminal gets: up to the line after it.
	var next strings.Builder
	buf := make([]byte, 256)
	for !strings.Contains(next.String(), "after") {
		n, err := tty.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		next.Write(buf[:n])
	}
	if strings.Contains(next.String(), "SECRET") {
		t.Fatalf("the rest of the refused line was left for the next reader of the terminal: %q", next.String())
	}
}

// The terminal's other line-editing keys a user may press at the prompt
// (IEXTEN's word erase, Ctrl-W, and literal next, Ctrl-V) do what they did
// in the terminal's own line editing, rather than being stored as control
// characters in the value.
func TestPromptWordEraseAndLiteralNext(t *testing.T) {
	got, err := typeAtPrompt(t, "pass wrd  \x17word\n")
	if err != nil || string(got) != "pass word" {
		t.Fatalf("word erase: stored %q (%v), want %q", got, err, "pass word")
	}
	got, err = typeAtPrompt(t, "a\x16\x15b\x16\x7fc\n")
	if err != nil || string(got) != "a\x15b\x7fc" {
		t.Fatalf("literal next: stored %q (%v), want %q", got, err, "a\x15b\x7fc")
	}
}

// Several lines pasted at the prompt at once (a PEM key, a token with a
// newline after it and the next line of a file) are refused, with nothing
// stored, and the lines after the first are read and dropped: the first
// line alone is not the value the user meant (a PEM key's "-----BEGIN"
// line), and the rest, left in the terminal's input, would go to the
// user's shell, which shows it, keeps it in its history and runs each line
// as a command.
func TestPromptMultiLinePasteLeavesNothingBehind(t *testing.T) {
	master, tty := openPTY(t)
	dir := filepath.Join(t.TempDir(), "secrets")
	done := make(chan error, 1)
	go func() {
		var out, errOut strings.Builder
		done <- run(context.Background(), []string{"-dir", dir, "set", "api-key"}, tty, &out, &errOut, nil)
	}()
	for echoOn(t, tty) {
		time.Sleep(time.Millisecond)
	}
	if _, err := master.Write([]byte("-----BEGIN PRIVATE KEY-----\nMC4CSECRETLINE\n-----END PRIVATE KEY-----\n")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "more than one line") {
		t.Fatalf("a pasted multi-line value: %v, want it refused", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "api-key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a value was stored: %v", err)
	}
	// What the next reader of the terminal gets: only what is typed later.
	if _, err := master.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	var next strings.Builder
	buf := make([]byte, 256)
	for !strings.Contains(next.String(), "after") {
		n, err := tty.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		next.Write(buf[:n])
	}
	if strings.Contains(next.String(), "SECRET") || strings.Contains(next.String(), "PRIVATE") {
		t.Fatalf("the pasted lines after the first were left for the next reader of the terminal: %q", next.String())
	}
	// A line pasted with "\r\n" (or typed, then Enter) is one line.
	if got, err := typeAtPrompt(t, "t0ken\r\n"); err != nil || string(got) != "t0ken" {
		t.Fatalf("a line ending in CRLF: stored %q (%v), want %q", got, err, "t0ken")
	}
}

// stopped reports whether the process pid is stopped (state T).
func stopped(t *testing.T, pid int) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.HasPrefix(s[strings.LastIndexByte(s, ')')+1:], " T")
}

// TestSuspendedPromptRestoresEcho: Ctrl-Z (SIGTSTP) at the hidden prompt
// stops the command with the terminal's echo back on, and fg (SIGCONT)
// turns it off again before the value is typed: a shell gives the
// terminal its own settings back when a job stops (echo on) and does not
// hand the job's back on fg, so the value typed after fg would be shown on
// the screen; and stopped with echo off, the shell the user returns to
// would be left without echo by one that does not reset it.
func TestSuspendedPromptRestoresEcho(t *testing.T) {
	master, tty := openPTY(t)
	dir := filepath.Join(t.TempDir(), "secrets")
	cmd := exec.Command(os.Args[0], "-test.run=^TestPromptChild$")
	cmd.Env = append(os.Environ(), "SECRETS_PROMPT_CHILD_DIR="+dir)
	cmd.Stdin = tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	for echoOn(t, tty) {
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Signal(unix.SIGTSTP); err != nil {
		t.Fatal(err)
	}
	for !stopped(t, cmd.Process.Pid) {
		time.Sleep(time.Millisecond)
	}
	if !echoOn(t, tty) {
		t.Fatal("stopped at the prompt with the terminal's echo off")
	}
	if err := cmd.Process.Signal(unix.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for echoOn(t, tty) { // the shell's settings: the prompt turns echo off again
		time.Sleep(time.Millisecond)
	}
	if _, err := master.Write([]byte("v4lue\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "api-key")); err != nil || string(b) != "v4lue" {
		t.Fatalf("stored %q %v", b, err)
	}
	if !echoOn(t, tty) {
		t.Fatal("echo off after the prompt")
	}
}
