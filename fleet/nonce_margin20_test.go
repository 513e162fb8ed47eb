package fleet

import (
	"errors"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestNonceClockMarginNotDropped: Redis takes a key's life in whole
// milliseconds (go-redis sends PX as the Duration truncated to them), so
// a ClockMargin under a millisecond (5: a unit left out, 5 s meant) was
// accepted and dropped whole: the key lived exactly to the end of the
// window on the claiming replica's clock, and a replica whose clock runs
// behind accepted a replay once it had expired, while the store said it
// kept the margin. It is now a *ConfigError naming ClockMargin (negative,
// "none", and zero, the default, as before). A margin with a fraction of
// a millisecond (1.5 ms) had the fraction dropped the same way; the
// key's life is now rounded up to whole milliseconds, never below the
// window plus the margin.
func TestNonceClockMarginNotDropped(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	for _, m := range []time.Duration{1, 5, 999 * time.Microsecond} {
		_, err := NewNonceStore(c, NonceOptions{ClockMargin: m, Timeout: patientTimeout})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "ClockMargin" {
			t.Errorf("ClockMargin %v: %v; want a *ConfigError for ClockMargin", m, err)
		}
	}
	for _, m := range []time.Duration{-1, 0, time.Millisecond, 1500 * time.Microsecond, 5 * time.Second} {
		if _, err := NewNonceStore(c, NonceOptions{ClockMargin: m, Timeout: patientTimeout}); err != nil {
			t.Errorf("ClockMargin %v refused: %v", m, err)
		}
	}
	// What Redis is sent: whole milliseconds, at least the window plus
	// the margin.
	for _, tc := range []struct{ left, margin time.Duration }{
		{10 * time.Second, 1500 * time.Microsecond},
		{10*time.Second + 300*time.Microsecond, 2700 * time.Microsecond},
		{0, 1500 * time.Microsecond},
	} {
		ttl := nonceTTL(tc.left, tc.margin)
		if ttl%time.Millisecond != 0 || ttl < tc.left+tc.margin {
			t.Errorf("nonceTTL(%v, %v) = %v: want whole milliseconds, at least %v", tc.left, tc.margin, ttl, tc.left+tc.margin)
		}
	}
}
