package fleet

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

var _ client.Fleet = (*Fleet)(nil)

func newFleet(t *testing.T, srv *redistest.Server, opts Options) *Fleet {
	t.Helper()
	f, err := New(srv.Client(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { settle(t, f.Breakers()) })
	return f
}

// TestFleetThroughClients: two replicas, each client.New(WithFleet(f))
// with its own Fleet and Redis client. A 429 with Retry-After seen by A
// stops B before it sends; A's breaker opening on another host fails B
// fast.
func TestFleetThroughClients(t *testing.T) {
	srv := redistest.Start(t)
	opts := Options{Prefix: "svc:", Cooldown: CooldownOptions{RefreshInterval: time.Nanosecond}, Breaker: BreakerOptions{RefreshInterval: 10 * time.Millisecond}}
	fa, fb := newFleet(t, srv, opts), newFleet(t, srv, opts)

	throttled := newAPI(t, http.StatusTooManyRequests, "Retry-After", "30")
	a := replicaClient(t, throttled, time.Minute, client.WithFleet(fa))
	b := replicaClient(t, throttled, time.Minute, client.WithFleet(fb))
	if err := call(a, throttled.srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := call(b, throttled.srv.URL); !errors.Is(err, client.ErrRateLimited) {
		t.Fatalf("B during A's cooldown: %v", err)
	}
	if throttled.hits.Load() != 1 {
		t.Fatalf("upstream saw %d, want 1", throttled.hits.Load())
	}
	if n, _ := srv.Client().Exists(context.Background(), "svc:cooldown:"+throttled.host()).Result(); n != 1 {
		t.Fatal("cooldown key not under the fleet's prefix")
	}

	failing := newAPI(t, http.StatusServiceUnavailable)
	a = replicaClient(t, failing, time.Minute, client.WithFleet(fa))
	b = replicaClient(t, failing, time.Minute, client.WithFleet(fb))
	trip(t, a, failing)
	eventually(t, "B's fleet sees A's opening", func() bool { return fb.Breakers().OpenUntil(failing.host()).After(time.Now()) })
	sent := failing.hits.Load()
	var ce *transport.CircuitOpenError
	if err := call(b, failing.srv.URL); !errors.As(err, &ce) || !ce.Shared {
		t.Fatalf("B after A's breaker opened: %v", err)
	}
	if failing.hits.Load() != sent {
		t.Fatal("B sent while A's breaker was open")
	}
	if n, _ := srv.Client().Exists(context.Background(), "svc:breaker:"+failing.host()).Result(); n != 1 {
		t.Fatal("breaker key not under the fleet's prefix")
	}
	if fa.SharedQuota() != nil {
		t.Fatal("a shared quota without Options.Quota")
	}
}

// TestFleetQuotaThroughClients: two replicas on a fleet quota of 3
// requests an hour send 3 requests between them; the rest are refused
// with ErrRateLimited before they are sent.
func TestFleetQuotaThroughClients(t *testing.T) {
	srv := redistest.Start(t)
	opts := Options{Quota: &QuotaOptions{Limit: QuotaLimit{Rate: 3, Period: time.Hour}, ExpectedReplicas: 2}}
	fa, fb := newFleet(t, srv, opts), newFleet(t, srv, opts)
	if fa.Quota() == nil || fa.SharedQuota() == nil {
		t.Fatal("no quota")
	}
	up := newAPI(t, http.StatusOK)
	a := replicaClient(t, up, time.Minute, client.WithFleet(fa))
	b := replicaClient(t, up, time.Minute, client.WithFleet(fb))
	ok, limited := 0, 0
	for i := range 8 {
		c := a
		if i%2 == 1 {
			c = b
		}
		switch err := call(c, up.srv.URL); {
		case err == nil:
			ok++
		case errors.Is(err, client.ErrRateLimited):
			limited++
		default:
			t.Fatal(err)
		}
	}
	if ok != 3 || limited != 5 || up.hits.Load() != 3 {
		t.Fatalf("ok %d, limited %d, upstream %d; want 3, 5, 3", ok, limited, up.hits.Load())
	}
}

func TestNewFleetConfig(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		opts   Options
		option string
	}{
		{Options{Timeout: -1}, "Timeout"},
		{Options{ProbeInterval: -1}, "ProbeInterval"},
		{Options{Cooldown: CooldownOptions{RefreshInterval: -1}}, "Cooldown.RefreshInterval"},
		{Options{Cooldown: CooldownOptions{Timeout: -1}}, "Cooldown.Timeout"},
		{Options{Breaker: BreakerOptions{MaxHosts: -1}}, "Breaker.MaxHosts"},
		{Options{Quota: &QuotaOptions{Limit: QuotaLimit{Rate: 10}}}, "Quota.ExpectedReplicas"},
	} {
		_, err := New(srv.Client(), tc.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: %v, want a ConfigError naming %s", tc.opts, err, tc.option)
		}
	}
	_, err := New(nil, Options{})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "client" {
		t.Errorf("nil client: %v", err)
	}
}
