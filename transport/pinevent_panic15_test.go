package transport_test

import (
	"crypto/tls"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/internal/childtest"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// OnPinEvent runs inside the TLS handshake, which net/http's Transport
// makes on a goroutine of its own (it dials for the pool, not for the
// request), where no caller's recover reaches: a hook that panicked (a
// bug in it) ended the whole process. The panic is recovered and logged (slog's default logger, naming its type only);
// the pin check's verdict stands (report-only: the request goes on).
func TestPinEventHookPanicDoesNotCrash(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		w := newPKIWorld(t)
		evil := pkiServer(t, w.attacker.TLS, true, nil, nil)
		var calls atomic.Int32
		b := pkiBase(t, transport.BaseConfig{
			TLSConfig: &tls.Config{RootCAs: testpki.Pool(w.ca, w.attackerCA)},
			Pins: []transport.PinSet{{Host: "api.example.test", ReportOnly: true,
				Pins: []string{testpki.Pin(w.leaf.Cert), testpki.Pin(w.ca.Cert)}}},
			OnPinEvent: func(transport.PinEvent) {
				calls.Add(1)
				panic("hook bug")
			},
		}, evil)
		if _, body, err := pkiGet(t, b, "https://api.example.test/"); err != nil || body != "ok" || calls.Load() != 1 {
			t.Fatalf("report-only mismatch: %q, %v, %d hook calls; want ok, nil, 1", body, err, calls.Load())
		}
	})
}
