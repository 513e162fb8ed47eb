package transport

import (
	"errors"
	"fmt"
	"testing"
)

// Only net/http's own HTTP/2 connection error is taken for an HPACK
// refusal of an oversized field; another error with its text (as a
// wrapper, a proxy library or a server's words could make one) is not.
func TestHeaderTooLargeHPACKNeedsNetHTTPType(t *testing.T) {
	lookalike := errors.New(h2HPACKFailed)
	if headerTooLarge(lookalike, 1<<20) || headerTooLarge(fmt.Errorf("x: %w", lookalike), 1<<20) {
		t.Error("an error that only has net/http's COMPRESSION_ERROR wording is taken for an oversized header")
	}
	if headerTooLarge(http2ConnectionError(9), 1<<20) {
		t.Error("a type named http2ConnectionError outside net/http is taken for net/http's")
	}
}

// http2ConnectionError has net/http's type name, in another package.
type http2ConnectionError uint32

func (e http2ConnectionError) Error() string { return h2HPACKFailed }
