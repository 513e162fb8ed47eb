package transport

import (
	"errors"
	"strconv"
	"testing"
)

// The alerts a Base remembers are keyed by the authorities called, which
// come from the caller's URLs: their number is bounded.
func TestH2AlertsBounded(t *testing.T) {
	b := &Base{}
	aerr := errors.New("remote error: tls: bad certificate")
	for i := range maxH2Alerts + 100 {
		b.rememberH2Alert("host"+strconv.Itoa(i)+".example:443", aerr)
	}
	b.rememberH2Alert("host0.example:443", aerr) // held already: replaced, not counted again
	n := 0
	b.h2alerts.Range(func(any, any) bool { n++; return true })
	if n != maxH2Alerts || b.h2alertN.Load() != maxH2Alerts {
		t.Fatalf("%d alerts held (count %d), want %d", n, b.h2alertN.Load(), maxH2Alerts)
	}
}
