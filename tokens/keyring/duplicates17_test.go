package keyring_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// needSecretTool skips (or, in CI, fails) a test that needs libsecret's
// secret-tool.
func needSecretTool(t *testing.T) {
	t.Helper()
	needService(t)
	if _, err := exec.LookPath("secret-tool"); err != nil {
		if inCI() {
			t.Fatal("secret-tool not installed (libsecret-tools)")
		}
		t.Skip("secret-tool not installed (libsecret-tools)")
	}
}

// storeWithExtraAttribute writes value for key as another program does
// that adds an attribute of its own (Python's keyring adds
// "application"): the Secret Service's replace matches an item by all of
// the new item's attributes, so this item does not replace the Store's,
// and two items then match the Store's service and key.
func storeWithExtraAttribute(t *testing.T, s *keyring.Store, key, value string) {
	t.Helper()
	cmd := exec.Command("secret-tool", "store", "--label=provisioned", "service", s.Service(), "username", key, "application", "provisioner")
	cmd.Stdin = strings.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v %s", err, out)
	}
}

// itemValues returns the secrets of every item of s's service and key, as
// secret-tool sees them.
func itemValues(t *testing.T, s *keyring.Store, key string) []string {
	t.Helper()
	out, err := exec.Command("secret-tool", "search", "--all", "--unlock", "service", s.Service(), "username", key).CombinedOutput()
	if err != nil && len(out) > 0 {
		t.Fatalf("secret-tool search: %v %s", err, out)
	}
	var vs []string
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "secret = "); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// TestRealDeleteRemovesEveryItem: a Delete that returned nil must leave no
// item that a Get then serves (a revoked refresh token, a deleted client
// secret), also when another program wrote the key with an attribute of
// its own.
func TestRealDeleteRemovesEveryItem(t *testing.T) {
	needSecretTool(t)
	ctx := context.Background()
	s := newStore(t)
	if err := s.Set(ctx, "refresh-token", []byte("rt-1")); err != nil {
		t.Fatal(err)
	}
	storeWithExtraAttribute(t, s, "refresh-token", "rt-provisioned")
	if err := s.Delete(ctx, "refresh-token"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "refresh-token"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("after Delete: Get = %q, %v; want ErrNotFound", got, err)
	}
	if vs := itemValues(t, s, "refresh-token"); len(vs) != 0 {
		t.Fatalf("after Delete the keyring still holds %q", vs)
	}
}
