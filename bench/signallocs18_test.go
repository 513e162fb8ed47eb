package bench

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
)

// TestSignFieldValuesAllocs: Sign of a request not yet signed allocates
// once for its two field values and the []string both fields take their
// line from when the values take up to 480 bytes together, twice above (a
// tag of each length up to MaxTagLength takes them from 183 to 1 214
// bytes); the request's header is reused with both fields deleted, so the
// count is Sign's own.
func TestSignFieldValuesAllocs(t *testing.T) {
	skipUnderRace(t)
	key, err := signer.NewHMACKey("bench-key", bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	checked := map[bool]int{}
	for tag := 0; tag <= signer.MaxTagLength; tag++ {
		s, err := signer.New(signer.Options{Keys: signer.StaticKey(key), Tag: strings.Repeat("t", tag)})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items?page=2", nil)
		if err != nil {
			t.Fatal(err)
		}
		var size int
		got := testing.AllocsPerRun(20, func() {
			delete(req.Header, "Signature-Input")
			delete(req.Header, "Signature")
			if err := s.Sign(ctx, req, now); err != nil {
				t.Fatal(err)
			}
			size = len(req.Header.Get("Signature-Input")) + len(req.Header.Get("Signature"))
		})
		want := 1.0
		if size > 480 {
			want = 2
		}
		checked[size <= 480]++
		if got != want {
			t.Errorf("tag of %d bytes, field values of %d bytes: Sign allocates %v times, want %v", tag, size, got, want)
		}
	}
	if checked[true] == 0 || checked[false] == 0 {
		t.Fatalf("field value sizes not on both sides of 480 bytes: %v", checked)
	}
}
