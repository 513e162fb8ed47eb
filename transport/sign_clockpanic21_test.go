package transport_test

import (
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestSignClockPanicClosesBody: a SignConfig.Clock of the caller's that
// panicked (a bug in it), which the sign layer asks for the signing time
// before handing the request on, left the request's body unclosed, which
// RoundTrip must close on every path (as 63e3348 made it for the Signer's
// KeySource, asked just after). The body is closed, the panic goes on
// unchanged, and nothing is sent; alone and inside an attempt.
func TestSignClockPanicClosesBody(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	for _, scoped := range []bool{false, true} {
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
		if err != nil {
			t.Fatal(err)
		}
		rt, err := transport.NewSign(next, transport.SignConfig{Signer: s, Scope: scope,
			Clock: func() time.Time { panic("clock bug") }})
		if err != nil {
			t.Fatal(err)
		}
		name := "alone"
		if scoped {
			name, rt = "in an attempt", transport.NewAttemptScope(rt)
		}
		t.Run(name, func(t *testing.T) { checkPanicBeforeSend(t, rt, next, "clock bug") })
	}
}
