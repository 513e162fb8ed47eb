package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestNonceStoreKeyWithNULDoesNotCollide: the key hashed keyid NUL nonce,
// so a custom verifier's pair holding a NUL, ("a\x00b", "c"), had the key
// of ("a", "b\x00c"): the second, never claimed, was refused as a replay.
// (signer.Verifier's keyid and nonce are structured-field strings, which
// hold no NUL.) A pair without a NUL keeps the key fleet.md describes,
// prefix:nonce:<sha256(keyid NUL nonce)>, so the keys a running fleet
// holds still refuse their replays.
func TestNonceStoreKeyWithNULDoesNotCollide(t *testing.T) {
	srv := redistest.Start(t)
	st, err := NewNonceStore(srv.Client(), NonceOptions{Prefix: "t:", Timeout: patientTimeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	until := now.Add(time.Minute)
	for _, p := range [][2]string{{"a\x00b", "c"}, {"a", "b\x00c"}, {"a\x00", "bc"}, {"", "a\x00bc"}, {"a", "bc"}} {
		if err := st.Claim(ctx, p[0], p[1], now, until); err != nil {
			t.Errorf("Claim(%q, %q): %v; want nil (never claimed)", p[0], p[1], err)
		}
	}
	sum := sha256.Sum256([]byte("a\x00bc"))
	want := "t:nonce:" + base64.RawURLEncoding.EncodeToString(sum[:])
	if n, err := srv.Client().Exists(ctx, want).Result(); err != nil || n != 1 {
		t.Errorf("key of (a, bc) is not %s: %d, %v", want, n, err)
	}
}
