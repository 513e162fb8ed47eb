package transport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestRateLimitErrorCooldownMessage: a cooldown's RateLimitError carries the
// total wait (waited so far plus what is left) and comes from the layer's
// own cooldowns as well as a shared store since the wait became a loop
// (de257be): its message says the wait is the total and names no store.
func TestRateLimitErrorCooldownMessage(t *testing.T) {
	err := &transport.RateLimitError{Host: "api.example.test", Reason: string(transport.SourceCooldown), Wait: 1530 * time.Millisecond, MaxWait: time.Second}
	msg := err.Error()
	if strings.Contains(msg, "shared cooldown store") || strings.Contains(msg, " more ") {
		t.Errorf("message %q says the wait is what is left, from a shared store", msg)
	}
	for _, want := range []string{"api.example.test", "1.53s in all", "MaxRetryAfter (1s)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}
