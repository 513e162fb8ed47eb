package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// -service and -dir choose between two stores (the usage line says
// "[-service NAME | -dir DIR]"), but given both, -dir won and -service was
// ignored without a word: "secrets -service billing -dir ./s set
// client-secret" stored the secret in a file, where the user had named
// the keyring service it was meant for. Both together are a usage error
// (exit status 2) and nothing is stored; so is -timeout, a keyring
// call's deadline, with -dir.
func TestServiceAndDirRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	for _, args := range [][]string{
		{"-service", "billing", "-dir", dir, "set", "client-secret"},
		{"-dir", dir, "-service", "securecall", "set", "client-secret"},
		{"-dir", dir, "-timeout", "1s", "set", "client-secret"},
	} {
		_, _, err := cmd(t, nil, "s3cr3t\n", args...)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "client-secret")); err == nil {
			t.Fatalf("%q: the secret was stored in %s", args, dir)
		}
	}
	if _, _, err := cmd(t, nil, "s3cr3t\n", "-dir", dir, "set", "client-secret"); err != nil {
		t.Errorf("-dir alone: %v", err)
	}
}
