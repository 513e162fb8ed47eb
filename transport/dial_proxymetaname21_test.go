package transport_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestGuardProxyRefusesMetadataNames: through a forward proxy the dialer
// sees only the proxy, and the proxy resolves the destination's name, so
// "http://metadata.google.internal/computeMetadata/v1/" reached the GCP
// metadata service from the proxy's host (the instance the client runs on,
// for a sidecar proxy), where the same URL sent directly is refused at
// dial time (169.254.169.254). The well-known metadata names always
// resolve to a metadata address, as "localhost" always resolves to
// loopback: GuardProxy now checks them as that address, without case and
// with any trailing dots, in the URL, a plain-http request's Host and a
// hand-set Opaque target, so they are refused unless AllowPrefixes names
// the address exactly; other names, those they are a prefix or suffix of
// included, still go to the proxy.
func TestGuardProxyRefusesMetadataNames(t *testing.T) {
	guard, pu := newProxyGuard(t)
	wantRefusedBeforeProxy(t, guard,
		"http://metadata.google.internal/computeMetadata/v1/",
		"https://METADATA.Google.Internal./",
		"http://metadata.google.internal../",
		"http://metadata.tencentyun.com/latest/meta-data/",
		"http://instance-data.ec2.internal/latest/meta-data/",
		"http://instance-data.us-west-2.compute.internal/latest/meta-data/",
	)
	wantProxied(t, guard, pu,
		"https://metadata.google.internal.example.com/",
		"https://x.metadata.google.internal/",
		"https://metadata.tencentyun.com.cn/",
		"https://instance-data.a.b.compute.internal/",
		"https://api.example.com/",
	)
	// A plain-http request's Host and a hand-set absolute-form target
	// name the host the proxy connects.
	for _, tc := range []struct{ opaque, host string }{
		{"", "metadata.google.internal"},
		{"/computeMetadata/v1/", "Metadata.Tencentyun.Com."},
		{"//metadata.google.internal/computeMetadata/v1/", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
		req.URL.Opaque, req.Host = tc.opaque, tc.host
		got, err := guard(req)
		var ee *transport.EgressError
		var ae *transport.AddressError
		if got != nil || !errors.Is(err, transport.ErrEgressDenied) || !(errors.As(err, &ee) || errors.As(err, &ae)) {
			t.Errorf("Opaque %q, Host %q: %v, %v; want a typed egress error before the proxy", tc.opaque, tc.host, got, err)
		}
	}
	// Naming the metadata address exactly is the opt-in, as for a direct
	// connection.
	sd, err := transport.NewSafeDialer(transport.DialConfig{
		Proxies:       []string{"proxy.corp:3128"},
		AllowPrefixes: prefixes("169.254.169.254/32", "fd20:ce::254/128", "169.254.0.23/32"),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantProxied(t, sd.GuardProxy(http.ProxyURL(pu)), pu, "http://metadata.google.internal/computeMetadata/v1/", "http://metadata.tencentyun.com/")
}
