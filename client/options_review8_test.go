package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A zero slog.Logger has no handler: the audit layer would dereference it
// on the caller's goroutine at the first call. New refuses it, as it
// refuses a nil logger.
func TestAuditLogWithoutHandlerRefused(t *testing.T) {
	wantConfigError(t, "WithAuditLog", client.WithAuditLog(new(slog.Logger)))
}

// A zero transport.Inventory (not made by NewInventory) has no clock and
// no entry map: the inventory layer would panic on the caller's goroutine
// at the first call. New refuses it, as it refuses a ClientCertificate
// not made by a constructor.
func TestInventoryNotFromConstructorRefused(t *testing.T) {
	wantConfigError(t, "WithInventory", client.WithInventory(new(transport.Inventory)))
}

// http.Client.CloseIdleConnections closes the idle connections of its
// Transport only when the Transport has a CloseIdleConnections method:
// HTTPClient()'s must reach the hardened base's pool, or the call is a
// silent no-op and the next call reuses the connection.
func TestHTTPClientCloseIdleConnections(t *testing.T) {
	srv := newRecordingServer(t, true, nil)
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	get := func() (reused bool) {
		t.Helper()
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, srv.URL+"/x", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return reused
	}
	get()
	if !get() {
		t.Fatal("the second call did not reuse the connection: the test proves nothing")
	}
	c.HTTPClient().CloseIdleConnections()
	if get() {
		t.Error("HTTPClient().CloseIdleConnections() left the idle connection open: the next call reused it")
	}
	cic, ok := c.Transport().(interface{ CloseIdleConnections() })
	if !ok {
		t.Fatal("Transport() has no CloseIdleConnections method")
	}
	cic.CloseIdleConnections()
	if get() {
		t.Error("Transport().CloseIdleConnections() left the idle connection open")
	}
}

// An origin is one scheme, host and port. A "*.example.com" host passed
// ParseOrigin and reached the egress allowlist as the wildcard pattern it
// is there: the client could then reach every subdomain of example.com,
// while its credentials, scoped by exact origin, reached none.
func TestWildcardOriginRefused(t *testing.T) {
	wantConfigError(t, "WithOrigins", client.WithOrigins("https://*.example.com"))
	wantConfigError(t, "WithOrigins", client.WithOrigins("http://*.example.com:8080"))
	wantConfigError(t, "WithRedirectOrigins", client.WithRedirectOrigins("https://*.example.com"))
}

// An origin the egress allowlist cannot hold (an IPv6 literal with a zone)
// is reported against the option that gave it, not against
// WithEgressAllowlist, which the caller never used.
func TestOriginRefusedByEgressNamesItsOption(t *testing.T) {
	wantConfigError(t, "WithOrigins", client.WithOrigins("https://[fe80::1%25eth0]"))
	wantConfigError(t, "WithRedirectOrigins", client.WithRedirectOrigins("https://[fe80::1%25eth0]:8443"))
}
