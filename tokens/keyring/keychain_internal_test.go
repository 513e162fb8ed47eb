package keyring

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/securecall/securecall/tokens"
)

// exitErr returns the *exec.ExitError of a command that exits with code,
// as go-keyring returns it when macOS's security command fails.
func exitErr(t *testing.T, code string) error {
	t.Helper()
	err := exec.Command("sh", "-c", "exit "+code).Run()
	var xe *exec.ExitError
	if !errors.As(err, &xe) {
		t.Fatalf("exit %s: %v", code, err)
	}
	return err
}

// TestKeychainFailuresAreClassified: on macOS go-keyring hands back the
// security command's *exec.ExitError, whose status is the low byte of the
// OSStatus. A keychain that is locked with no way to prompt (SSH, launchd:
// errSecInteractionNotAllowed, 36), a dismissed prompt (errSecUserCanceled,
// 128), a refused unlock (errSecAuthFailed, 51) or no keychain at all
// (errSecNoSuchKeychain 50, errSecNoDefaultKeychain 37) must be ErrLocked /
// ErrUnavailable like on the Secret Service, not an unclassified error
// that IsUnavailable and Chain's WhenUnavailable do not see.
func TestKeychainFailuresAreClassified(t *testing.T) {
	for _, tc := range []struct {
		code string
		want error
	}{
		{"36", tokens.ErrLocked},
		{"128", tokens.ErrLocked},
		{"51", tokens.ErrLocked},
		{"50", tokens.ErrUnavailable},
		{"37", tokens.ErrUnavailable},
		{"1", nil},
	} {
		s := fakeStore(t, errProvider{exitErr(t, tc.code)})
		s.goos = "darwin"
		_, err := s.Get(context.Background(), "k")
		var se *tokens.StoreError
		if !errors.As(err, &se) || se.Err != tc.want {
			t.Errorf("security exit %s: got %v, want sentinel %v", tc.code, err, tc.want)
		}
		// Elsewhere an exit status means nothing of the kind.
		s.goos = "linux"
		if _, err := s.Get(context.Background(), "k"); !errors.As(err, &se) || se.Err != nil {
			t.Errorf("linux, exit %s: got %v, want no sentinel", tc.code, err)
		}
	}
}
