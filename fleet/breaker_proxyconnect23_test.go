//go:build linux

package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// TestBreakerProxyConnect5xxNotShared: replicas A and B share a breaker
// store (real Redis) and call the same healthy host; A goes through a
// forward proxy of its own that answers the CONNECT with a 5xx (503: the
// proxy is overloaded or draining; 502: it cannot reach the host from
// where it stands). A's own breaker opens, but the opening is not shared:
// B, which reaches the host, keeps sending. Before, one replica's failing
// proxy refused the host to the whole fleet.
func TestBreakerProxyConnect5xxNotShared(t *testing.T) {
	srv := redistest.Start(t)
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusBadGateway} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			up := newAPI(t, http.StatusOK)
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
			}))
			t.Cleanup(proxy.Close)
			pu, _ := url.Parse(proxy.URL)
			opts := BreakerOptions{RefreshInterval: time.Nanosecond}
			storeA, storeB := newBreakers(t, srv, opts), newBreakers(t, srv, opts)
			addr := up.srv.Listener.Addr().String()
			port := addr[strings.LastIndexByte(addr, ':'):]
			u := "https://" + replicaFaultName + port + "/"
			host := replicaFaultName + port

			roots := x509.NewCertPool()
			roots.AddCert(up.srv.Certificate())
			rc := transport.StandardPreset()
			rc.Breaker.ConsecutiveFailures = 3
			rc.Breaker.OpenTimeout = time.Minute
			a, err := client.New(
				client.WithOrigins("https://"+host),
				client.WithTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}),
				client.WithProxy(http.ProxyURL(pu)),
				client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
				client.WithAllowedProxies(pu.Host),
				client.WithResilience(rc),
				client.WithMaxAttempts(1),
				client.WithTimeout(5*time.Second),
				client.WithBreakerStore(storeA),
			)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			b := faultReplica(t, up, storeB, func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}, nil)

			for i := range 3 {
				err := call(a, u)
				var pe *transport.ProxyConnectError
				if !errors.As(err, &pe) || pe.StatusCode != status {
					t.Fatalf("A's call %d: %v, want a *ProxyConnectError %d", i, err, status)
				}
			}
			var ce *transport.CircuitOpenError
			if err := call(a, u); !errors.As(err, &ce) || ce.Shared {
				t.Fatalf("A's own breaker not open: %v", err)
			}
			settle(t, storeA)
			n, err := srv.Client().Exists(context.Background(), DefaultPrefix+"breaker:"+host).Result()
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatal("A's proxy's refusals opened the host's breaker in Redis, for every replica")
			}
			err1 := call(b, u)
			settle(t, storeB)
			err2 := call(b, u)
			if err1 != nil || err2 != nil {
				t.Fatalf("B's calls to the healthy host: %v, %v", err1, err2)
			}
			if up.hits.Load() != 2 {
				t.Fatalf("the host saw %d requests, want B's 2", up.hits.Load())
			}
		})
	}
}
