package transport_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// TestInventoryPinnedIsWhatWasEnforced: the inventory's "pinned" mark
// says whether a pin set was enforced on the call's connection: not when
// the set has expired or is report-only, and by the server name the
// handshake checked (TLSConfig.ServerName), not by the URL's host.
// (A ServerName no set applies to is refused by NewBase.)
func TestInventoryPinnedIsWhatWasEnforced(t *testing.T) {
	w := newPKIWorld(t)
	leaf := pkiMust(w.ca.Server("api.example.test", "alias.example.test"))
	srv := pkiServer(t, leaf.TLS, false, nil, nil)
	pins := []string{testpki.Pin(leaf.Cert), testpki.Pin(w.ca.Cert)}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		set        transport.PinSet
		serverName string
		url        string
		want       bool
	}{
		{"enforced", transport.PinSet{Host: "api.example.test"}, "", "https://api.example.test/", true},
		{"expired", transport.PinSet{Host: "api.example.test", Expires: now.Add(-time.Hour)}, "", "https://api.example.test/", false},
		{"report-only", transport.PinSet{Host: "api.example.test", ReportOnly: true}, "", "https://api.example.test/", false},
		// A ServerName naming a host no set applies to ("alias.example.test"
		// beside a set for api.example.test) left the call unpinned, which
		// this mark showed; NewBase now refuses such a set
		// (TestPinSetsServerNameNeverChecksRefused).
		{"ServerName names the pinned host", transport.PinSet{Host: "api.example.test"}, "api.example.test", "https://alias.example.test/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := tc.set
			set.Pins = pins
			b := pkiBase(t, transport.BaseConfig{
				TLSConfig: &tls.Config{ServerName: tc.serverName},
				Pins:      []transport.PinSet{set},
				Now:       func() time.Time { return now },
			}, srv, w.ca)
			inv := newInventory(t, transport.InventoryConfig{})
			if _, body, err := pkiGet(t, inventoryLayer(t, b, inv), tc.url); err != nil || body != "ok" {
				t.Fatalf("call: %q, %v", body, err)
			}
			snap := inv.Snapshot()
			if len(snap.Entries) != 1 {
				t.Fatalf("entries = %+v", snap.Entries)
			}
			if got := snap.Entries[0].Pinned; got != tc.want {
				t.Errorf("pinned = %v, want %v", got, tc.want)
			}
		})
	}
}
