package transport

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"
)

// TestPinExpiryIsWallClock: a PinSet.Expires made with time.Now().Add
// carries a monotonic reading, and a time.Time comparison uses it when
// both sides have one: the expiry was then measured on the monotonic
// clock, which stops while the machine is suspended, so after a suspend
// the pins stayed enforced past their date by the suspend's length. The
// set keeps the instant without its monotonic reading: the check compares
// wall clocks, as PinSet.Expires' doc ("the instant from which") and the
// certificates' own dates do.
func TestPinExpiryIsWallClock(t *testing.T) {
	a := sha256.Sum256([]byte("a"))
	b := sha256.Sum256([]byte("b"))
	exp := time.Now().Add(time.Hour) // with a monotonic reading
	if exp == exp.Round(0) {
		t.Skip("time.Now has no monotonic reading here")
	}
	p, err := newPinner([]PinSet{{Host: "api.example.com", Expires: exp, Pins: []string{
		"sha256/" + base64.StdEncoding.EncodeToString(a[:]),
		"sha256/" + base64.StdEncoding.EncodeToString(b[:]),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	s := p.exact["api.example.com"]
	if s == nil {
		t.Fatal("no set for api.example.com")
	}
	if s.expires != s.expires.Round(0) {
		t.Errorf("the set's expiry %v keeps a monotonic reading: compared on the monotonic clock, stopped in suspend", s.expires)
	}
	if !s.expires.Equal(exp) {
		t.Errorf("expiry %v, want the instant %v", s.expires, exp)
	}
}
