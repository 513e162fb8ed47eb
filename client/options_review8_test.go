package client_test

import (
	"log/slog"
	"testing"

	"github.com/securecall/securecall/client"
)

// A zero slog.Logger has no handler: the audit layer would dereference it
// on the caller's goroutine at the first call. New refuses it, as it
// refuses a nil logger.
func TestAuditLogWithoutHandlerRefused(t *testing.T) {
	wantConfigError(t, "WithAuditLog", client.WithAuditLog(new(slog.Logger)))
}
