package configerr

import (
	"errors"
	"testing"
)

func TestMessagesNestWithoutRepeatingThePrefix(t *testing.T) {
	cause := errors.New("signer: weak or malformed key")
	inner := &Error{Option: "secret", Reason: "too short", Err: cause}
	outer := &Error{Option: "WithHMACSigning", Err: inner}
	want := "securecall: invalid configuration: WithHMACSigning: secret: too short: signer: weak or malformed key"
	if got := outer.Error(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if !errors.Is(outer, cause) {
		t.Error("cause not reachable")
	}
	var e *Error
	if !errors.As(outer, &e) || e.Option != "WithHMACSigning" {
		t.Error("errors.As does not find the outer error first")
	}
	if got := (&Error{Option: "X"}).Error(); got != "securecall: invalid configuration: X" {
		t.Errorf("bare: %q", got)
	}
}
