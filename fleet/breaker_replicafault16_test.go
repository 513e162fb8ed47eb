//go:build linux

package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// replicaFaultName is the name both replicas call the upstream by: the
// httptest certificate is valid for it, and only replica B's dialer knows
// where it is.
const replicaFaultName = "example.com"

// faultReplica is a replica whose base transport trusts up's certificate
// and reaches the network through dial and proxy (nil: none).
func faultReplica(t *testing.T, up *api, store *BreakerStore, dial func(context.Context, string, string) (net.Conn, error), proxy func(*http.Request) (*url.URL, error)) *client.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(up.srv.Certificate())
	rc := transport.StandardPreset()
	rc.Breaker.ConsecutiveFailures = 3
	rc.Breaker.OpenTimeout = time.Minute
	c, err := client.New(
		client.WithOrigins("https://"+replicaFaultName+":"+up.srv.URL[strings.LastIndexByte(up.srv.URL, ':')+1:]),
		client.WithBaseTransport(&http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			DialContext:       dial,
			Proxy:             proxy,
			ForceAttemptHTTP2: true,
		}),
		client.WithResilience(rc),
		client.WithMaxAttempts(1),
		client.WithTimeout(5*time.Second),
		client.WithBreakerStore(store),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedAddr returns a loopback address that refuses connections: a
// socket bound to it (so no other listener takes the port) that does not
// listen, until the test ends.
func closedAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
}

// dialError fails every dial with err, as net.Dialer reports a failure
// (a *net.OpError with Op "dial").
func dialError(err error) func(context.Context, string, string) (net.Conn, error) {
	return func(_ context.Context, network, _ string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
}

// TestBreakerReplicaFaultsNotShared: replicas A and B share a breaker
// store (real Redis) and call the same healthy host. A's calls fail
// because of A itself (its resolver, its proxy, its own network stack):
// A's own breaker opens, but the opening is not shared, and B keeps
// sending. Failures that are evidence about the host (refused by the
// host's address, no route to the host) are shared as before.
func TestBreakerReplicaFaultsNotShared(t *testing.T) {
	srv := redistest.Start(t)
	sidecar := closedAddr(t)
	deadResolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		// The resolver's sidecar is down.
		var d net.Dialer
		return d.DialContext(ctx, "tcp", sidecar)
	}}
	for _, tc := range []struct {
		name   string
		dial   func(up *api) func(context.Context, string, string) (net.Conn, error)
		proxy  func(*http.Request) (*url.URL, error)
		shared bool
	}{
		{name: "resolver down", dial: func(*api) func(context.Context, string, string) (net.Conn, error) {
			return (&net.Dialer{Resolver: deadResolver}).DialContext
		}},
		{name: "no such host", dial: func(*api) func(context.Context, string, string) (net.Conn, error) {
			return dialError(&net.DNSError{Err: "no such host", Name: replicaFaultName, IsNotFound: true})
		}},
		{name: "proxy refused", proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: closedAddr(t)}),
			dial: func(*api) func(context.Context, string, string) (net.Conn, error) { return (&net.Dialer{}).DialContext }},
		{name: "network unreachable", dial: func(*api) func(context.Context, string, string) (net.Conn, error) {
			return dialError(os.NewSyscallError("connect", syscall.ENETUNREACH))
		}},
		{name: "no local port", dial: func(*api) func(context.Context, string, string) (net.Conn, error) {
			return dialError(os.NewSyscallError("connect", syscall.EADDRNOTAVAIL))
		}},
		{name: "too many open files", dial: func(*api) func(context.Context, string, string) (net.Conn, error) {
			return dialError(os.NewSyscallError("socket", syscall.EMFILE))
		}},
		// Evidence about the host: shared.
		{name: "host refused", shared: true, dial: func(*api) func(context.Context, string, string) (net.Conn, error) {
			addr := closedAddr(t)
			return func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
		}},
		{name: "host unreachable", shared: true, dial: func(*api) func(context.Context, string, string) (net.Conn, error) {
			return dialError(os.NewSyscallError("connect", syscall.EHOSTUNREACH))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newAPI(t, http.StatusOK)
			opts := BreakerOptions{RefreshInterval: time.Nanosecond}
			storeA, storeB := newBreakers(t, srv, opts), newBreakers(t, srv, opts)
			addr := up.srv.Listener.Addr().String()
			reach := func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
			dialA := reach
			if tc.dial != nil {
				dialA = tc.dial(up)
			}
			a := faultReplica(t, up, storeA, dialA, tc.proxy)
			b := faultReplica(t, up, storeB, reach, nil)
			u := "https://" + replicaFaultName + addr[strings.LastIndexByte(addr, ':'):] + "/"
			host := replicaFaultName + addr[strings.LastIndexByte(addr, ':'):]

			for i := range 3 {
				if err := call(a, u); err == nil || errors.Is(err, client.ErrCircuitOpen) {
					t.Fatalf("A's call %d: %v", i, err)
				}
			}
			// A's own breaker is open either way.
			var ce *transport.CircuitOpenError
			if err := call(a, u); !errors.As(err, &ce) || ce.Shared {
				t.Fatalf("A's own breaker not open: %v", err)
			}
			if up.hits.Load() != 0 {
				t.Fatalf("A reached the host %d times", up.hits.Load())
			}
			settle(t, storeA) // A's write to Redis, if any, is done
			n, err := srv.Client().Exists(context.Background(), DefaultPrefix+"breaker:"+host).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got := n == 1; got != tc.shared {
				t.Fatalf("A's opening shared in Redis: %v, want %v", got, tc.shared)
			}

			// B's first call starts its store's read of the key; the
			// second is answered with what Redis holds.
			err1 := call(b, u)
			settle(t, storeB)
			err2 := call(b, u)
			if tc.shared {
				if !errors.As(err2, &ce) || !ce.Shared {
					t.Fatalf("B after A's opening: %v", err2)
				}
				return
			}
			if err1 != nil || err2 != nil {
				t.Fatalf("B's calls to the healthy host: %v, %v", err1, err2)
			}
			if up.hits.Load() != 2 {
				t.Fatalf("the host saw %d requests, want B's 2", up.hits.Load())
			}
		})
	}
}
