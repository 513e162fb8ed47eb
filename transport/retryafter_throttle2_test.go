package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// "r=-0" is the Integer 0 (RFC 9651): ParseRateLimit reads it as 0, and
// ServerWait's pre-filter must not skip it, or the two disagree on whether
// the quota is used up.
func TestServerWaitNegativeZeroRemaining(t *testing.T) {
	for _, v := range []string{`"default";r=-0;t=5`, `"default";r=-00;t=5`, `"a";r=3, "default";r=-0;t=5`} {
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Ratelimit": {v}}}
		rls, err := transport.ParseRateLimit(resp.Header)
		if err != nil || rls[len(rls)-1].Remaining != 0 {
			t.Fatalf("%s: ParseRateLimit %+v, %v", v, rls, err)
		}
		wait, src, exhausted, ok := transport.ServerWait(resp, time.Now())
		if !ok || !exhausted || wait != 5*time.Second || src != transport.SourceRateLimit {
			t.Errorf("%s: ServerWait = %v, %q, exhausted %v, ok %v; want 5s from the RateLimit field, exhausted", v, wait, src, exhausted, ok)
		}
	}
	// A negative non-zero r is malformed: no signal.
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Ratelimit": {`"default";r=-1;t=5`}}}
	if _, _, exhausted, ok := transport.ServerWait(resp, time.Now()); exhausted || ok {
		t.Errorf("r=-1: exhausted %v, ok %v; want no signal", exhausted, ok)
	}
}
