// Command egress shows securecall's egress guard and unsafe-consumption
// defences, offline, with the transport layers assembled by hand:
//
//   - an egress allowlist that refuses any request, or redirect hop, to an
//     origin the client was not told about (the cloud metadata endpoint,
//     an attacker's host), before a connection is made;
//   - SSRF-safe dialing for user-supplied URLs: the address a name
//     resolves to is checked at connect time, so loopback, private and
//     link-local targets are refused whatever the URL says;
//   - safe URL templates: values are escaped per segment and "../admin"
//     is refused instead of climbing out of the path;
//   - response limits: an 8 KiB gzip body that expands to 8 MiB stops at
//     the 1 MiB limit with an error, and an HTML error page is refused
//     where JSON was expected;
//   - an audit record per call (slog), with the query redacted;
//   - the live API inventory: which endpoints were called, how often, with
//     what outcome, over which TLS version.
//
// The API runs on loopback with a certificate from a CA the program
// generates.
//
//	go run ./examples/egress
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "egress:", err)
		os.Exit(1)
	}
}

// startTLS serves h over HTTPS on 127.0.0.1 with a certificate of ca.
func startTLS(ca *testpki.CA, h http.Handler) (*httptest.Server, error) {
	leaf, err := ca.Server("127.0.0.1", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.StartTLS()
	return srv, nil
}

// apiHandler is the upstream API.
func apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"name":"Ada"}`, r.PathValue("id"))
	})
	mux.HandleFunc("GET /v1/export", func(w http.ResponseWriter, r *http.Request) {
		// A compressed body that expands far past what the client accepts.
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(make([]byte, 8<<20))
		zw.Close()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	})
	mux.HandleFunc("GET /v1/legacy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>maintenance</html>")
	})
	mux.HandleFunc("GET /v1/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://attacker.example.test/collect", http.StatusTemporaryRedirect)
	})
	return mux
}

func run(ctx context.Context, out io.Writer) error {
	ca, err := testpki.NewCA("egress example root")
	if err != nil {
		return err
	}
	api, err := startTLS(ca, apiHandler())
	if err != nil {
		return err
	}
	defer api.Close()
	// An internal admin service on the same machine: what SSRF goes after.
	var adminHits atomic.Int64
	admin, err := startTLS(ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminHits.Add(1)
		io.WriteString(w, "internal secrets")
	}))
	if err != nil {
		return err
	}
	defer admin.Close()
	apiHost := api.Listener.Addr().String()
	_, apiPort, _ := net.SplitHostPort(apiHost)
	port, _ := strconv.Atoi(apiPort)

	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		return err
	}
	defer inv.Close()
	audit := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == transport.AuditDuration {
			return slog.Attr{} // keep the demo's output stable
		}
		return a
	}}))

	// The API client. The API is on loopback here, so the dialer allows
	// exactly 127.0.0.1 on the API's port; in production it would allow
	// the API's public addresses by default and nothing private.
	apiDialer, err := transport.NewSafeDialer(transport.DialConfig{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Ports:         []uint16{uint16(port)},
	})
	if err != nil {
		return err
	}
	apiClient, closeAPI, err := newClient(ca, inv, audit, apiDialer, transport.EgressConfig{Allow: []string{apiHost}})
	if err != nil {
		return err
	}
	defer closeAPI()
	base := "https://" + apiHost + "/v1"

	fmt.Fprintln(out, "== API calls through the allowlist")
	userTmpl := transport.MustParseTemplate("/users/{id}")
	req, err := userTmpl.NewRequest(ctx, http.MethodGet, base, nil, "42")
	if err != nil {
		return err
	}
	q := req.URL.Query()
	q.Set("api_key", "not-for-logs")
	req.URL.RawQuery = q.Encode()
	report(out, "user 42", apiClient, req)

	_, err = userTmpl.NewRequest(ctx, http.MethodGet, base, nil, "../admin")
	fmt.Fprintf(out, "user ../admin: refused before sending: %v (ErrUnsafePath: %v)\n", err, errors.Is(err, transport.ErrUnsafePath))

	for _, path := range []string{"/export", "/legacy", "/moved"} {
		req, _ := transport.MustParseTemplate(path).NewRequest(ctx, http.MethodGet, base, nil)
		report(out, path[1:], apiClient, req)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "https://169.254.169.254/latest/meta-data/iam/", nil)
	report(out, "metadata", apiClient, req)

	fmt.Fprintln(out, "== user-supplied URLs (no allowlist, SSRF-safe dialing)")
	fetchDialer, err := transport.NewSafeDialer(transport.DialConfig{AnyPort: true})
	if err != nil {
		return err
	}
	fetcher, closeFetcher, err := newClient(ca, inv, audit, fetchDialer, transport.EgressConfig{})
	if err != nil {
		return err
	}
	defer closeFetcher()
	_, adminPort, _ := net.SplitHostPort(admin.Listener.Addr().String())
	for _, u := range []string{
		"https://127.0.0.1:" + adminPort + "/",
		"https://localhost:" + adminPort + "/",
		"https://[::ffff:127.0.0.1]:" + adminPort + "/",
		"http://127.0.0.1:" + adminPort + "/",
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		report(out, "fetch "+req.URL.Host, fetcher, req)
	}
	fmt.Fprintf(out, "internal admin service requests: %d\n", adminHits.Load())

	fmt.Fprintln(out, "== inventory")
	for _, e := range inv.Snapshot().Entries {
		fmt.Fprintf(out, "%s %s %s calls=%d status=%v tls=%v auth=%v\n",
			e.Method, e.Origin, e.Route, e.Calls, e.Status, e.TLS, e.Auth)
	}
	return nil
}

// newClient assembles the layers, outermost first: call trace, audit,
// inventory, egress, limits (per call); attempt scope, attempt trace,
// credential guard (per attempt); the base transport with the SSRF-safe
// dialer. A securecall client puts them at these places in its full stack,
// with retries, breakers, throttling and credentials in between.
func newClient(ca *testpki.CA, inv *transport.Inventory, audit *slog.Logger, d *transport.SafeDialer, eg transport.EgressConfig) (*http.Client, func(), error) {
	base, err := transport.NewBase(transport.BaseConfig{
		TLSConfig:   &tls.Config{RootCAs: testpki.Pool(ca)},
		DialContext: d.DialContext,
	})
	if err != nil {
		return nil, nil, err
	}
	var rt http.RoundTripper
	if rt, err = transport.NewCredentialGuard(base, eg); err != nil {
		return nil, nil, err
	}
	tc := transport.TraceConfig{} // the global OTel providers: no-op here
	rt = transport.NewAttemptScope(transport.NewAttemptTrace(rt, tc))
	if rt, err = transport.NewLimits(rt, transport.LimitsConfig{
		MaxBodyBytes: 1 << 20,
		MediaTypes:   []string{"application/json", "application/*+json"},
	}); err != nil {
		return nil, nil, err
	}
	if rt, err = transport.NewEgress(rt, eg); err != nil {
		return nil, nil, err
	}
	if rt, err = transport.NewInventoryLayer(rt, inv); err != nil {
		return nil, nil, err
	}
	if rt, err = transport.NewAudit(rt, transport.AuditConfig{Logger: audit}); err != nil {
		return nil, nil, err
	}
	rt = transport.NewCallTrace(rt, tc)
	return &http.Client{Transport: rt}, base.CloseIdleConnections, nil
}

// report sends req and prints the outcome in one line.
func report(out io.Writer, name string, c *http.Client, req *http.Request) {
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintf(out, "%s: %s\n", name, describe(err))
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Fprintf(out, "%s: %s after %d bytes: %s\n", name, resp.Status, len(body), describe(err))
		return
	}
	fmt.Fprintf(out, "%s: %s %s\n", name, resp.Status, body)
}

// describe names the defence behind err.
func describe(err error) string {
	var ae *transport.AddressError
	var ee *transport.EgressError
	var te *transport.ResponseTooLargeError
	var me *transport.MediaTypeError
	switch {
	case errors.As(err, &ae):
		return "ssrf: refused at connect time: " + ae.Err.Error()
	case errors.As(err, &ee):
		return "egress denied: " + ee.Origin.String() + ": " + ee.Reason
	case errors.As(err, &te):
		return "too large: " + te.Error()
	case errors.As(err, &me):
		return "media type: " + me.Error()
	}
	return err.Error()
}
