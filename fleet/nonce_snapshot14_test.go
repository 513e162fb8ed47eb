package fleet

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// Two copies of one VM snapshot taken after NewNonceStore (a replica
// restored from an image, as Lambda SnapStart or a Firecracker clone do)
// start with the same store state. A replay of a request one of them
// accepted, sent to the other, must still be refused: the claim token
// that tells the store's own retried SET from a replay must not be one
// the other copy also makes.
func TestNonceStoreSnapshotCopiesRefuseReplay(t *testing.T) {
	srv := redistest.Start(t)
	s, v, stores := replicaPair(t, srv, NonceOptions{})
	// The copy: the state the snapshot held (no claim made yet).
	stores[1].id = stores[0].id
	for i := range 3 {
		req, replay := signed(t, s)
		if code := serve(v[0], req); code != http.StatusOK {
			t.Fatalf("request %d on copy A: %d", i, code)
		}
		if code := serve(v[1], replay); code != http.StatusUnauthorized {
			t.Fatalf("replay %d on copy B: %d, want 401", i, code)
		}
	}
}
