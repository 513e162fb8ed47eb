package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// The pk (partition key) parameter does not change what a RateLimit
// field means to the client: all of one client's requests to a host are
// one partition (its credential's), so r=0 under any pk is that
// partition's quota exhausted, the same wait as without pk, and pk is
// only reported (docs/resilience.md, "Partition keys").
func TestServerWaitIgnoresPartitionKey(t *testing.T) {
	now := time.Now()
	for _, v := range []string{`"default";r=0;t=7`, `"default";r=0;t=7;pk=:dXNlci0x:`, `"default";r=0;t=7;pk=:b3RoZXI=:`} {
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Ratelimit": {v}}}
		d, src, exhausted, ok := transport.ServerWait(resp, now)
		if d != 7*time.Second || src != transport.SourceRateLimit || !exhausted || !ok {
			t.Errorf("%s: ServerWait = %v %q %v %v, want 7s ratelimit exhausted", v, d, src, exhausted, ok)
		}
		rls, err := transport.ParseRateLimit(resp.Header)
		if err != nil || len(rls) != 1 {
			t.Fatalf("%s: %v %v", v, rls, err)
		}
	}
}
