package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/tokens"
)

func cmd(t *testing.T, store tokens.Store, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, store)
	return out.String(), errOut.String(), err
}

func TestSetGetListDelete(t *testing.T) {
	const secret = "s3cr3t-client-secret"
	dir := filepath.Join(t.TempDir(), "secrets")
	if _, _, err := cmd(t, nil, secret+"\n", "-dir", dir, "set", "client-secret"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "client-secret"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "client-secret"))
	if string(b) != secret {
		t.Fatalf("stored %q (trailing newline must be dropped)", b)
	}

	out, _, err := cmd(t, nil, "", "-dir", dir, "get", "client-secret")
	if err != nil || strings.Contains(out, secret) || !strings.Contains(out, "20 bytes, sha256:") {
		t.Fatalf("masked get = %q %v", out, err)
	}
	out, _, err = cmd(t, nil, "", "-dir", dir, "get", "-reveal", "client-secret")
	if err != nil || out != secret+"\n" {
		t.Fatalf("get -reveal = %q %v", out, err)
	}
	out, _, err = cmd(t, nil, "", "-dir", dir, "list")
	if err != nil || strings.Contains(out, secret) || !strings.Contains(out, "api-key            not set") || !strings.Contains(out, "client-secret      20 bytes") {
		t.Fatalf("list = %q %v", out, err)
	}
	if _, _, err := cmd(t, nil, "", "-dir", dir, "delete", "client-secret"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cmd(t, nil, "", "-dir", dir, "get", "client-secret"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestValueNeverFromCommandLine(t *testing.T) {
	m := tokens.NewMemoryStore()
	_, _, err := cmd(t, m, "", "set", "api-key", "the-value")
	if err == nil || !strings.Contains(err.Error(), "never from the command line") {
		t.Fatalf("err = %v", err)
	}
	if len(m.Keys()) != 0 {
		t.Fatal("something was stored")
	}
	if _, _, err := cmd(t, m, "", "set", "api-key"); err == nil {
		t.Fatal("empty value stored")
	}
	if _, _, err := cmd(t, m, "x", "set", "../etc/passwd"); !errors.Is(err, tokens.ErrInvalidKey) {
		t.Fatalf("bad key: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	m := tokens.NewMemoryStore()
	for _, args := range [][]string{{}, {"frobnicate"}, {"get"}, {"delete"}, {"list", "x"}, {"-nope"}} {
		if _, _, err := cmd(t, m, "", args...); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestMask(t *testing.T) {
	if got := mask([]byte("abc")); got != "3 bytes, sha256:ba7816bf…" {
		t.Fatalf("mask = %q", got)
	}
}

// set drops one trailing newline ("\n" or "\r\n") from a piped value, and
// nothing else: a value that ends in a lone "\r" (binary, or a token that
// really ends so) is stored as is.
func TestSetTrimsOnlyOneNewline(t *testing.T) {
	for in, want := range map[string]string{
		"abc\n":   "abc",
		"abc\r\n": "abc",
		"abc\r":   "abc\r",
		"abc\n\n": "abc\n",
		"abc":     "abc",
	} {
		m := tokens.NewMemoryStore()
		if _, _, err := cmd(t, m, in, "set", "api-key"); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if v, _ := m.Get(context.Background(), "api-key"); string(v) != want {
			t.Errorf("piped %q stored %q, want %q", in, v, want)
		}
	}
}

// slowReader gives its value after a delay, like a person who goes to
// fetch the secret from a password manager before answering the prompt,
// or a slow command piped into set.
type slowReader struct {
	delay time.Duration
	r     io.Reader
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.delay > 0 {
		time.Sleep(s.delay)
		s.delay = 0
	}
	return s.r.Read(p)
}

// The time spent waiting for the value does not count against the store
// operation: a value that took two minutes to arrive is still stored
// (each keyring call has its own -timeout deadline).
func TestSetAfterSlowValue(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	synctest.Test(t, func(t *testing.T) {
		var out, errOut bytes.Buffer
		in := &slowReader{delay: 2 * time.Minute, r: strings.NewReader("v4lue\n")}
		if code := runMain([]string{"-dir", dir, "set", "api-key"}, in, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	})
	if b, err := os.ReadFile(filepath.Join(dir, "api-key")); err != nil || string(b) != "v4lue" {
		t.Fatalf("stored %q %v", b, err)
	}
}

// TestSetLimitCountsTheValueNotItsNewline: the size limit applies to the
// value after its one trailing newline is dropped: a value of exactly
// maxValue bytes piped with "\r\n" is stored, and a longer value whose
// byte maxValue+1 happens to be "\n" is refused, not stored cut short.
func TestSetLimitCountsTheValueNotItsNewline(t *testing.T) {
	full := strings.Repeat("a", maxValue)
	m := tokens.NewMemoryStore()
	if _, _, err := cmd(t, m, full+"\r\n", "set", "api-key"); err != nil {
		t.Fatalf("maxValue bytes + CRLF: %v", err)
	}
	if v, _ := m.Get(context.Background(), "api-key"); string(v) != full {
		t.Fatalf("stored %d bytes, want %d", len(v), maxValue)
	}
	m = tokens.NewMemoryStore()
	if _, _, err := cmd(t, m, full+"\nmore", "set", "api-key"); err == nil {
		v, _ := m.Get(context.Background(), "api-key")
		t.Fatalf("a %d-byte value was accepted, %d bytes stored", maxValue+5, len(v))
	}
}

// TestRestoreOnSignal: a signal at the hidden prompt restores the
// terminal before the process is ended; a prompt that ends without one
// restores it once and ends nothing.
func TestRestoreOnSignal(t *testing.T) {
	for _, signalled := range []bool{true, false} {
		var mu sync.Mutex
		var calls []string
		record := func(s string) {
			mu.Lock()
			calls = append(calls, s)
			mu.Unlock()
		}
		sig := make(chan os.Signal, 1)
		stop := restoreOnSignal(sig, func() { record("restore") }, func(s os.Signal) { record("exit " + s.String()) })
		want := "restore"
		if signalled {
			sig <- os.Interrupt
			want = "restore,exit interrupt"
		}
		stop()
		mu.Lock()
		got := strings.Join(calls, ",")
		mu.Unlock()
		if got != want {
			t.Errorf("signalled %v: calls %q, want %q", signalled, got, want)
		}
	}
}

// TestSetMultiLineValueFromStdin: a value piped into set is all of stdin
// (at most maxValue bytes), so a PEM private key keeps its lines; only
// the one trailing newline is dropped.
func TestSetMultiLineValueFromStdin(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOlR1ZR0cL0Qz8m2o6k3Yk0N5D1m9ZZ2yQvM0G3n4nXq\n-----END PRIVATE KEY-----"
	m := tokens.NewMemoryStore()
	if _, _, err := cmd(t, m, pem+"\n", "set", "oauth-client-key"); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get(context.Background(), "oauth-client-key"); string(v) != pem {
		t.Fatalf("stored %q, want the whole PEM block", v)
	}
}

// TestUsageErrorsExitTwo: a command line the program cannot run (an
// unknown command or flag, a missing or extra argument) exits with 2, as
// no command at all and -h do, so that a script tells it from a failed
// store call (a missing key, a locked keyring), which exits with 1; and
// nothing is stored or deleted.
func TestUsageErrorsExitTwo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	for _, args := range [][]string{
		{}, {"-h"}, {"frobnicate"}, {"-nope", "list"}, {"set"}, {"set", "api-key", "the-value"},
		{"get"}, {"get", "-x", "api-key"}, {"get", "a", "b"}, {"delete"}, {"list", "x"},
	} {
		var out, errOut bytes.Buffer
		code := runMain(append([]string{"-dir", dir}, args...), strings.NewReader("v\n"), &out, &errOut)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut.String())
		}
		if strings.Contains(errOut.String(), "the-value") {
			t.Errorf("%q: stderr shows the value: %q", args, errOut.String())
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a usage error wrote to the store: %v", err)
	}
	// A failure of the store is 1.
	var out, errOut bytes.Buffer
	if code := runMain([]string{"-dir", dir, "get", "api-key"}, strings.NewReader(""), &out, &errOut); code != 1 {
		t.Fatalf("get of a missing key: exit %d, want 1", code)
	}
}
