package client_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestRedirectNetworkPathDropsCallersHost: a call with a Host of the
// caller's own (a virtual host behind the URL's address) redirected by a
// network-path Location ("//other.example/x", no scheme) went to the
// other origin with the caller's Host: http.Client keeps a custom Host
// for a Location that is not absolute (golang/go#22233, meant for a path
// on the same server), and "//host/x" is not absolute. A foreign origin
// was sent the caller's internal name (and a shared front routes by it);
// now a hop to another host than the previous request's goes with its
// own URL's host, as curl does. A relative Location on the same host
// still keeps the caller's Host.
func TestRedirectNetworkPathDropsCallersHost(t *testing.T) {
	foreign := newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "host="+r.Host)
	})
	foreignOrigin := localhostURL(foreign.URL)
	own := newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			w.Header().Set("Location", "/landed")
			w.WriteHeader(http.StatusFound)
		case "/other":
			w.Header().Set("Location", "//"+strings.TrimPrefix(foreignOrigin, "https://")+"/x")
			w.WriteHeader(http.StatusFound)
		default:
			io.WriteString(w, "host="+r.Host)
		}
	})
	ownHostPort := strings.TrimPrefix(own.URL, "https://")
	// The caller's Host: the own server's address spelled another way
	// (a virtual host), one of the client's origins.
	callerHost := strings.Replace(ownHostPort, "127.0.0.1", "localhost", 1)
	c, err := client.New(opts(loopback(),
		client.WithOrigins(own.URL, "https://"+callerHost),
		client.WithRedirectOrigins(foreignOrigin),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct{ path, want string }{
		{"/same", "host=" + callerHost},
		{"/other", "host=" + strings.TrimPrefix(foreignOrigin, "https://")},
	} {
		req, _ := http.NewRequest(http.MethodGet, own.URL+tc.path, nil)
		req.Host = callerHost
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("%s: the hop's server got %q, want %q", tc.path, b, tc.want)
		}
	}
}
