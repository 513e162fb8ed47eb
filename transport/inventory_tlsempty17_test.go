package transport_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// An entry whose calls all failed (refused by the egress check, a
// connection failure) had no response, so no TLS version: its "tls" is an
// empty list in the JSON, as every other entry's is a list, never null
// (a consumer iterating entry.tls would fail on null).
func TestInventoryTLSEmptyListWithoutResponse(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/x"), Err: errors.New("refused")})
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"tls":[]`) {
		t.Fatalf(`want "tls":[] for an entry without a response: %s`, b)
	}
	var snap transport.InventorySnapshot
	if err := json.Unmarshal(b, &snap); err != nil || len(snap.Entries) != 1 {
		t.Fatalf("%s %v", b, err)
	}
	if e := snap.Entries[0]; e.TLS == nil || len(e.TLS) != 0 || len(e.Auth) != 1 || e.Auth[0] != "none" {
		t.Fatalf("entry %+v", e)
	}
	if e := inv.Snapshot().Entries[0]; e.TLS == nil {
		t.Fatal("Snapshot: TLS is nil, want an empty slice")
	}
}
