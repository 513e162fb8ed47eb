package transport_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// nilPtrHandler is a handler type whose nil pointer is no handler.
type nilPtrHandler struct{ slog.Handler }

// A Logger made with slog.New of a typed nil handler (a *slog.JSONHandler
// variable never assigned) passed NewAudit, as it has a handler, and every
// call then panicked on the caller's goroutine dereferencing it: it is a
// ConfigError naming Logger, as a zero Logger is.
func TestAuditTypedNilHandlerRefused(t *testing.T) {
	var jh *slog.JSONHandler
	var th *slog.TextHandler
	var own *nilPtrHandler
	for name, h := range map[string]slog.Handler{"json": jh, "text": th, "own": own} {
		t.Run(name, func(t *testing.T) {
			rt, err := transport.NewAudit(nil, transport.AuditConfig{Logger: slog.New(h)})
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != "Logger" || !strings.Contains(err.Error(), "nil") {
				t.Fatalf("NewAudit = %v, %v; want a ConfigError naming Logger", rt, err)
			}
		})
	}
}
