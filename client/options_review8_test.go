package client_test

import (
	"log/slog"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A zero slog.Logger has no handler: the audit layer would dereference it
// on the caller's goroutine at the first call. New refuses it, as it
// refuses a nil logger.
func TestAuditLogWithoutHandlerRefused(t *testing.T) {
	wantConfigError(t, "WithAuditLog", client.WithAuditLog(new(slog.Logger)))
}

// A zero transport.Inventory (not made by NewInventory) has no clock and
// no entry map: the inventory layer would panic on the caller's goroutine
// at the first call. New refuses it, as it refuses a ClientCertificate
// not made by a constructor.
func TestInventoryNotFromConstructorRefused(t *testing.T) {
	wantConfigError(t, "WithInventory", client.WithInventory(new(transport.Inventory)))
}
