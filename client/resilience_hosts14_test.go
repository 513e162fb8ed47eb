package client_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// New must not write into the caller's ResilienceConfig: WithRateLimits
// appended its limits to WithResilience's Throttle.Hosts in place, into
// the spare capacity of the caller's array, so that two clients built
// from one configuration wrote (and raced on) the same memory, and one
// client's limits showed up in the other's slice.
func TestNewDoesNotWriteIntoWithResilienceThrottleHosts(t *testing.T) {
	hosts := make([]transport.HostLimit, 1, 4)
	hosts[0] = transport.HostLimit{Pattern: "a.example.com", Rate: 1}
	rc := transport.StandardPreset()
	rc.Throttle.Hosts = hosts
	c, err := client.New(client.WithResilience(rc),
		client.WithRateLimits(transport.HostLimit{Pattern: "b.example.com", Rate: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := hosts[:2][1]; got != (transport.HostLimit{}) {
		t.Fatalf("New wrote %+v into the caller's Throttle.Hosts array", got)
	}
}

// The limits of WithResilience's Throttle.Hosts are the ones given at
// New: the throttle kept the caller's slice and read it on each new host,
// so a caller reusing its configuration (changing a limit for the next
// client) changed, and raced with, the limits of a client already built.
func TestWithResilienceThrottleHostsCopiedAtNew(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	rc := transport.StandardPreset()
	rc.Throttle.MaxWait = 1 // any wait is refused: no timing in the test
	rc.Throttle.Hosts = []transport.HostLimit{{Pattern: "*", Rate: 0.001, Burst: 1}}
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithResilience(rc), client.WithMaxAttempts(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc.Throttle.Hosts[0] = transport.HostLimit{Pattern: "*"} // the caller reuses its configuration: no limit

	var limited int
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		switch {
		case errors.Is(err, client.ErrRateLimited):
			limited++
		case err != nil:
			t.Fatal(err)
		default:
			resp.Body.Close()
		}
	}
	if limited != 1 {
		t.Fatalf("%d of 2 calls rate limited, want 1: the client took its limit (1 per 1000 s, burst 1) from the caller's slice after New", limited)
	}
}
