package client_test

import (
	"log/slog"
	"testing"

	"github.com/securecall/securecall/client"
)

// A logger made with slog.New of a typed nil handler passed New and
// panicked on the caller's goroutine at the first call: New refuses it, as
// it refuses a zero slog.Logger.
func TestAuditLogTypedNilHandlerRefused(t *testing.T) {
	var h *slog.JSONHandler
	wantConfigError(t, "WithAuditLog", client.WithAuditLog(slog.New(h)))
}
