package transport_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func newInventory(t testing.TB, cfg transport.InventoryConfig) *transport.Inventory {
	t.Helper()
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = sdkmetric.NewMeterProvider()
	}
	inv, err := transport.NewInventory(cfg)
	if err != nil {
		t.Fatalf("NewInventory: %v", err)
	}
	t.Cleanup(func() { inv.Close() })
	return inv
}

func inventoryLayer(t testing.TB, next http.RoundTripper, inv *transport.Inventory) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewInventoryLayer(next, inv)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestInventoryConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return inventoryLayer(t, next, newInventory(t, transport.InventoryConfig{}))
	})
}

func TestInventoryConfigErrors(t *testing.T) {
	var ce *transport.ConfigError
	if _, err := transport.NewInventory(transport.InventoryConfig{MaxEntries: -1}); !errors.As(err, &ce) || ce.Option != "MaxEntries" {
		t.Errorf("MaxEntries -1: %v", err)
	}
	if _, err := transport.NewInventoryLayer(nil, nil); !errors.As(err, &ce) || ce.Option != "Inventory" {
		t.Errorf("nil inventory: %v", err)
	}
}

func findEntry(s transport.InventorySnapshot, method, origin, route string) (transport.InventoryEntry, bool) {
	for _, e := range s.Entries {
		if e.Method == method && e.Origin == origin && e.Route == route {
			return e, true
		}
	}
	return transport.InventoryEntry{}, false
}

// TestInventoryConcurrentExactness: G goroutines send N calls each over M
// routes (with three methods and four outcomes); afterwards every entry's
// counts are exact.
func TestInventoryConcurrentExactness(t *testing.T) {
	const (
		G = 8
		N = 300
		M = 5
	)
	inv := newInventory(t, transport.InventoryConfig{})
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		switch req.Header.Get("X-Outcome") {
		case "error":
			return nil, errors.New("connection refused")
		case "500":
			return &http.Response{StatusCode: 500, Body: http.NoBody, Request: req}, nil
		case "404":
			return &http.Response{StatusCode: 404, Body: http.NoBody, Request: req}, nil
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
	})
	rt := inventoryLayer(t, next, inv)
	outcomes := []string{"200", "404", "500", "error"}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodDelete}
	var wg sync.WaitGroup
	for g := range G {
		wg.Go(func() {
			for i := range N {
				k := g*N + i
				route := fmt.Sprintf("/r%d/{id}", k%M)
				ctx := transport.WithRoute(context.Background(), route)
				req, _ := http.NewRequestWithContext(ctx, methods[k%3], fmt.Sprintf("https://API.example.test/r%d/%d?secret=x", k%M, k), nil)
				req.Header.Set("X-Outcome", outcomes[(k/M)%4])
				resp, err := rt.RoundTrip(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()

	// The expected counts, computed the same way sequentially.
	type key struct{ method, route, class string }
	want := map[key]uint64{}
	for k := range G * N {
		class := map[string]string{"200": "2xx", "404": "4xx", "500": "5xx", "error": "error"}[outcomes[(k/M)%4]]
		want[key{methods[k%3], fmt.Sprintf("/r%d/{id}", k%M), class}]++
	}
	snap := inv.Snapshot()
	if len(snap.Entries) != M*3 || inv.Len() != M*3 {
		t.Fatalf("%d entries (Len %d), want %d", len(snap.Entries), inv.Len(), M*3)
	}
	var total uint64
	for _, e := range snap.Entries {
		if e.Origin != "https://api.example.test:443" || e.Host != "api.example.test" || e.Port != 443 || e.Scheme != "https" {
			t.Fatalf("entry origin %q host %q port %d", e.Origin, e.Host, e.Port)
		}
		var sum uint64
		for class, n := range e.Status {
			if w := want[key{e.Method, e.Route, class}]; n != w {
				t.Errorf("%s %s %s: %d calls, want %d", e.Method, e.Route, class, n, w)
			}
			sum += n
		}
		if sum != e.Calls || e.Latency.Count != e.Calls {
			t.Errorf("%s %s: calls %d, status sum %d, latency count %d", e.Method, e.Route, e.Calls, sum, e.Latency.Count)
		}
		total += e.Calls
	}
	if total != G*N {
		t.Fatalf("total %d calls, want %d", total, G*N)
	}
}

func TestInventoryAuthTLSPinned(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	// inner plays the credential layers and the base transport: it marks
	// the call and answers over "TLS".
	inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		ctx := req.Context()
		if req.Header.Get("X-Auth") == "yes" {
			transport.MarkAuth(ctx, transport.AuthBearer)
			transport.MarkAuth(ctx, transport.AuthHMAC)
		}
		if req.Header.Get("X-Pin") == "yes" {
			transport.MarkPinned(ctx)
		}
		ver := uint16(tls.VersionTLS13)
		if req.Header.Get("X-TLS12") == "yes" {
			ver = tls.VersionTLS12
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody, TLS: &tls.ConnectionState{Version: ver}, Request: req}, nil
	})
	rt := inventoryLayer(t, inner, inv)
	call := func(path string, hdr ...string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	call("/a", "X-Auth", "yes", "X-Pin", "yes")
	call("/a", "X-Auth", "yes", "X-Pin", "yes")
	call("/b", "X-Auth", "yes", "X-Pin", "yes")
	call("/b", "X-TLS12", "yes") // no auth, not pinned
	snap := inv.Snapshot()
	a, _ := findEntry(snap, "GET", "https://api.example.test:443", "/a")
	if fmt.Sprint(a.Auth) != "[bearer hmac]" || fmt.Sprint(a.TLS) != "[TLS 1.3]" || !a.Pinned || a.Calls != 2 {
		t.Errorf("/a: auth %v tls %v pinned %v calls %d", a.Auth, a.TLS, a.Pinned, a.Calls)
	}
	b, _ := findEntry(snap, "GET", "https://api.example.test:443", "/b")
	if fmt.Sprint(b.Auth) != "[none bearer hmac]" || fmt.Sprint(b.TLS) != "[TLS 1.2 TLS 1.3]" || b.Pinned {
		t.Errorf("/b: auth %v tls %v pinned %v", b.Auth, b.TLS, b.Pinned)
	}
}

func TestCallRecordMarks(t *testing.T) {
	// Without a record, the marks are no-ops.
	ctx := context.Background()
	transport.MarkAuth(ctx, transport.AuthBearer)
	transport.MarkPinned(ctx)
	if _, ok := transport.CallInfoFrom(ctx); ok {
		t.Fatal("CallInfoFrom found a record in a plain context")
	}
	if transport.SetRoute(ctx, "/x") {
		t.Fatal("SetRoute without a record reported success")
	}
	if got := transport.RouteFrom(transport.WithRoute(ctx, "/users/{id}")); got != "/users/{id}" {
		t.Fatalf("RouteFrom = %q", got)
	}

	var info transport.CallInfo
	inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		transport.MarkAuth(req.Context(), transport.AuthAPIKey|transport.AuthMTLS)
		transport.MarkPinned(req.Context())
		info, _ = transport.CallInfoFrom(req.Context())
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: req}, nil
	})
	inv := newInventory(t, transport.InventoryConfig{})
	req, _ := http.NewRequestWithContext(transport.WithRoute(ctx, "/k/{id}"), http.MethodGet, "https://api.example.test/k/1", nil)
	resp, err := inventoryLayer(t, inner, inv).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if info.Route != "/k/{id}" || info.Auth != transport.AuthAPIKey|transport.AuthMTLS || !info.Pinned {
		t.Fatalf("CallInfo = %+v", info)
	}
}

func TestAuthKindString(t *testing.T) {
	for k, want := range map[transport.AuthKind]string{
		transport.AuthNone:                        "none",
		transport.AuthBearer:                      "bearer",
		transport.AuthBearer | transport.AuthHMAC: "bearer+hmac",
		transport.AuthAPIKey | transport.AuthMTLS: "api_key+mtls",
		transport.AuthBasic | transport.AuthOther: "basic+other",
		transport.AuthBearer | 1<<10:              "bearer+unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint32(k), got, want)
		}
	}
}

// TestInventoryNestedCallRoute: a call made from inside another (a token
// refresh with the request's context) gets its own record and does not
// inherit the outer call's route or marks.
func TestInventoryNestedCallRoute(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	tokenEndpoint := inventoryLayer(t, transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	}), inv)
	inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		treq, _ := http.NewRequestWithContext(req.Context(), http.MethodPost, "https://auth.example.test/oauth/token", nil)
		resp, err := tokenEndpoint.RoundTrip(treq)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		transport.MarkAuth(req.Context(), transport.AuthBearer)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	req, _ := http.NewRequestWithContext(transport.WithRoute(context.Background(), "/users/{id}"), http.MethodGet, "https://api.example.test/users/7", nil)
	resp, err := inventoryLayer(t, inner, inv).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	snap := inv.Snapshot()
	if _, ok := findEntry(snap, "POST", "https://auth.example.test:443", "/oauth/token"); !ok {
		t.Fatalf("token call not recorded under its own path: %+v", snap.Entries)
	}
	outer, ok := findEntry(snap, "GET", "https://api.example.test:443", "/users/{id}")
	if !ok || fmt.Sprint(outer.Auth) != "[bearer]" {
		t.Fatalf("outer call: %+v", outer)
	}
	tok, _ := findEntry(snap, "POST", "https://auth.example.test:443", "/oauth/token")
	if fmt.Sprint(tok.Auth) != "[none]" {
		t.Fatalf("token call auth %v: got the outer call's marks", tok.Auth)
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "/",
		"/":                           "/",
		"/users":                      "/users",
		"/users/":                     "/users/",
		"/users/123":                  "/users/{id}",
		"/users/123/orders/456/items": "/users/{id}/orders/{id}/items",
		"/v1/items/550e8400-e29b-41d4-a716-446655440000": "/v1/items/{id}",
		"/v2/objects/507f1f77bcf86cd799439011":           "/v2/objects/{id}",
		"/v1/customers/cus_9s6XKzkNRiz8i3":               "/v1/customers/{id}",
		"/reports/2024-01-31":                            "/reports/{id}",
		"/people/jane%40example.com":                     "/people/{id}",
		"/people/jane@example.com":                       "/people/{id}",
		"/api/v1/ec2-instances":                          "/api/v1/ec2-instances",
		"/oauth2/token":                                  "/oauth2/token",
		"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r":           "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/{...}",
		"/" + strings.Repeat("x", 300):                   "/{...}",
	} {
		if got := transport.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInventoryOverflow(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{MaxEntries: 3})
	for i := range 10 {
		inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/x"), Route: fmt.Sprintf("/r%d", i), StatusCode: 200})
	}
	// Existing entries keep counting after the inventory is full.
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/x"), Route: "/r0", StatusCode: 200})
	if inv.Len() != 3 {
		t.Fatalf("Len = %d, want 3", inv.Len())
	}
	snap := inv.Snapshot()
	last := snap.Entries[len(snap.Entries)-1]
	if !last.Overflow || last.Calls != 7 || last.Route != "_overflow" || last.Method != "_OTHER" {
		t.Fatalf("overflow entry = %+v", last)
	}
	if r0, _ := findEntry(snap, "GET", "https://api.example.test:443", "/r0"); r0.Calls != 2 {
		t.Fatalf("/r0 calls = %d, want 2", r0.Calls)
	}
}

func TestInventoryMethodsAndOrigins(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	for _, c := range []struct{ method, url string }{
		{"BREW", "https://api.example.test/pot"},
		{"get", "https://api.example.test/pot"},
		{"GET", "http://[::1]:8080/pot"},
		{"GET", "HTTPS://Api.Example.Test:8443/pot"},
	} {
		inv.Record(transport.Observation{Method: c.method, URL: mustURL(t, c.url), StatusCode: 200, TLSVersion: tls.VersionTLS13})
	}
	snap := inv.Snapshot()
	for _, want := range []struct{ method, origin string }{
		{"_OTHER", "https://api.example.test:443"},
		{"GET", "http://[::1]:8080"},
		{"GET", "https://api.example.test:8443"},
	} {
		if _, ok := findEntry(snap, want.method, want.origin, "/pot"); !ok {
			t.Errorf("no entry %s %s: %+v", want.method, want.origin, snap.Entries)
		}
	}
	if n := len(snap.Entries); n != 3 {
		t.Errorf("%d entries, want 3 (\"get\" and \"BREW\" are both _OTHER)", n)
	}
	v6, _ := findEntry(snap, "GET", "http://[::1]:8080", "/pot")
	if v6.Host != "::1" || v6.Port != 8080 {
		t.Errorf("IPv6 entry host %q port %d", v6.Host, v6.Port)
	}
}

// TestInventoryLatencyAndTimes drives the inventory with a fake clock, so
// durations and first/last seen are known exactly.
func TestInventoryLatencyAndTimes(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var step time.Duration
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
	inv := newInventory(t, transport.InventoryConfig{Now: clock})
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	rt := inventoryLayer(t, next, inv)
	start := now
	// Durations 1ms .. 100ms: the layer reads the clock twice per call.
	for i := 1; i <= 100; i++ {
		mu.Lock()
		step = time.Duration(i) * time.Millisecond
		mu.Unlock()
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/lat", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	end := now
	mu.Unlock()
	e, ok := findEntry(inv.Snapshot(), "GET", "https://api.example.test:443", "/lat")
	if !ok {
		t.Fatal("no entry")
	}
	l := e.Latency
	if l.Count != 100 || l.MinMs != 1 || l.MaxMs != 100 || l.MeanMs != 50.5 {
		t.Fatalf("latency %+v, want count 100, min 1, max 100, mean 50.5", l)
	}
	for _, q := range []struct {
		got, want float64
	}{{l.P50Ms, 50}, {l.P90Ms, 90}, {l.P99Ms, 99}} {
		if q.got < q.want*0.875 || q.got > q.want*1.125 {
			t.Errorf("quantile %v, want %v within 12.5%% (%+v)", q.got, q.want, l)
		}
	}
	if want := start.Add(2 * time.Millisecond); !e.FirstSeen.Equal(want) {
		t.Errorf("FirstSeen = %v, want %v", e.FirstSeen, want)
	}
	if !e.LastSeen.Equal(end) {
		t.Errorf("LastSeen = %v, want %v", e.LastSeen, end)
	}
}

func TestInventoryHandler(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/users/42?token=s3cr3t"), StatusCode: 200, Auth: transport.AuthBearer, TLSVersion: tls.VersionTLS13, Pinned: true})
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/users/43"), Err: errors.New("refused")})
	srv := httptest.NewServer(inv.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", resp.Header)
	}
	if strings.Contains(string(body), "s3cr3t") || strings.Contains(string(body), "/42") {
		t.Fatalf("inventory JSON leaks the query or an identifier: %s", body)
	}
	var snap transport.InventorySnapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Entries) != 1 {
		t.Fatalf("entries: %s", body)
	}
	e := snap.Entries[0]
	if e.Route != "/users/{id}" || e.Calls != 2 || e.Status["2xx"] != 1 || e.Status["error"] != 1 || !e.Pinned ||
		fmt.Sprint(e.Auth) != "[none bearer]" || fmt.Sprint(e.TLS) != "[TLS 1.3]" {
		t.Fatalf("entry %+v", e)
	}
	for _, field := range []string{`"method"`, `"origin"`, `"route"`, `"calls"`, `"status"`, `"latency"`, `"p99_ms"`, `"auth"`, `"tls"`, `"pinned"`, `"first_seen"`, `"last_seen"`} {
		if !strings.Contains(string(body), field) {
			t.Errorf("JSON lacks %s", field)
		}
	}
	mj, err := json.Marshal(inv)
	if err != nil || !strings.Contains(string(mj), `"/users/{id}"`) {
		t.Fatalf("MarshalJSON: %s %v", mj, err)
	}

	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, srv.URL, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
}

func TestInventoryMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	inv := newInventory(t, transport.InventoryConfig{MeterProvider: mp})
	u := mustURL(t, "https://api.example.test/x")
	for range 3 {
		inv.Record(transport.Observation{Method: "GET", URL: u, Route: "/x/{id}", StatusCode: 200, Auth: transport.AuthBearer, TLSVersion: tls.VersionTLS13, Pinned: true})
	}
	inv.Record(transport.Observation{Method: "GET", URL: u, Route: "/x/{id}", StatusCode: 503, Auth: transport.AuthBearer, TLSVersion: tls.VersionTLS13, Pinned: true})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	var info attribute.Set
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case transport.MetricAPICalls:
				sum := m.Data.(metricdata.Sum[int64])
				if !sum.IsMonotonic {
					t.Error("calls counter not monotonic")
				}
				for _, dp := range sum.DataPoints {
					class, _ := dp.Attributes.Value(transport.StatusClassKey)
					tmpl, _ := dp.Attributes.Value("url.template")
					host, _ := dp.Attributes.Value("server.address")
					got[tmpl.AsString()+" "+host.AsString()+" "+class.AsString()] = dp.Value
				}
			case transport.MetricAPIEndpoint:
				g := m.Data.(metricdata.Gauge[int64])
				if len(g.DataPoints) != 1 || g.DataPoints[0].Value != 1 {
					t.Fatalf("endpoint gauge %+v", g.DataPoints)
				}
				info = g.DataPoints[0].Attributes
			}
		}
	}
	if got["/x/{id} api.example.test 2xx"] != 3 || got["/x/{id} api.example.test 5xx"] != 1 || len(got) != 2 {
		t.Fatalf("calls = %v", got)
	}
	for k, want := range map[attribute.Key]string{
		transport.AuthKey:      "bearer",
		"tls.protocol.version": "1.3",
		transport.PinnedKey:    "true",
		"url.template":         "/x/{id}",
	} {
		if v, ok := info.Value(k); !ok || v.String() != want {
			t.Errorf("endpoint %s = %q, want %q", k, v.String(), want)
		}
	}
	if err := inv.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestInventoryRecordAllocs pins the hot path: recording a call whose
// entry exists allocates nothing, with a route and with a folded path.
func TestInventoryRecordAllocs(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	withRoute := transport.Observation{Method: "GET", URL: mustURL(t, "https://api.example.test/users/42"), Route: "/users/{id}", StatusCode: 200, Auth: transport.AuthBearer, TLSVersion: tls.VersionTLS13, Duration: 3 * time.Millisecond}
	folded := withRoute
	folded.Route = ""
	folded.URL = mustURL(t, "https://api.example.test/users/42/orders/550e8400-e29b-41d4-a716-446655440000")
	for _, o := range []transport.Observation{withRoute, folded} {
		inv.Record(o)
		if n := testing.AllocsPerRun(200, func() { inv.Record(o) }); n != 0 {
			t.Errorf("Record(%s) allocates %v times per call", o.URL.Path, n)
		}
	}
}

func BenchmarkInventoryRecord(b *testing.B) {
	inv := newInventory(b, transport.InventoryConfig{})
	u := mustURLB(b, "https://api.example.test/users/42")
	for i := range 50 {
		inv.Record(transport.Observation{Method: "GET", URL: u, Route: fmt.Sprintf("/other/%d", i), StatusCode: 200})
	}
	// At is set, as the inventory layer does (it has read the clock for the
	// duration anyway).
	o := transport.Observation{Method: "GET", URL: u, Route: "/users/{id}", StatusCode: 200, Auth: transport.AuthBearer, TLSVersion: tls.VersionTLS13, Duration: 3 * time.Millisecond, At: time.Now()}
	b.Run("route", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inv.Record(o)
		}
	})
	f := o
	f.Route = ""
	b.Run("folded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inv.Record(f)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				inv.Record(o)
			}
		})
	})
}

func BenchmarkInventoryLayer(b *testing.B) {
	inv := newInventory(b, transport.InventoryConfig{})
	resp := &http.Response{StatusCode: 200, Body: http.NoBody}
	rt, _ := transport.NewInventoryLayer(transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) { return resp, nil }), inv)
	req, _ := http.NewRequestWithContext(transport.WithRoute(context.Background(), "/users/{id}"), http.MethodGet, "https://api.example.test/users/42", nil)
	b.ReportAllocs()
	for b.Loop() {
		rt.RoundTrip(req)
	}
}

func mustURLB(b *testing.B, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// TestInventoryRedirectHopRoute: http.Client sends every redirect hop with
// the first request's context; the hop is recorded under its own path,
// not the route of the first URL.
func TestInventoryRedirectHopRoute(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/users/7" {
			http.Redirect(w, r, "/people/7", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := &http.Client{Transport: inventoryLayer(t, http.DefaultTransport, inv)}
	req, _ := transport.MustParseTemplate("/users/{id}").NewRequest(context.Background(), http.MethodGet, srv.URL, nil, "7")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	origin := "http://" + strings.TrimPrefix(srv.URL, "http://")
	snap := inv.Snapshot()
	first, ok1 := findEntry(snap, "GET", origin, "/users/{id}")
	hop, ok2 := findEntry(snap, "GET", origin, "/people/{id}")
	if !ok1 || !ok2 || first.Status["3xx"] != 1 || hop.Status["2xx"] != 1 {
		t.Fatalf("entries %+v", snap.Entries)
	}
}

// A route given with WithRoute (or in Observation.Route) is the caller's
// string, possibly built from request data: each entry must hold at most
// 256 bytes of it, or MaxEntries entries of huge routes grow memory
// without bound. A longer route is cut, marked with "/{...}" as a cut
// normalised path is.
func TestInventoryBoundsGivenRoute(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	u := mustURL(t, "https://api.example.test/x")
	exact := "/" + strings.Repeat("a", 255)
	long := "/v1/" + strings.Repeat("segment/", 10000)
	huge := "/v1/" + strings.Repeat("segment/", 20000) + "other"
	noSlash := strings.Repeat("é", 10000)
	for _, r := range []string{exact, long, huge, noSlash} {
		inv.Record(transport.Observation{Method: "GET", URL: u, Route: r, StatusCode: 200})
	}
	// Through the layer, with WithRoute.
	rt := inventoryLayer(t, transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	}), inv)
	req, _ := http.NewRequestWithContext(transport.WithRoute(context.Background(), huge), http.MethodGet, u.String(), nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	snap := inv.Snapshot()
	if len(snap.Entries) != 3 {
		t.Fatalf("%d entries, want 3 (exact, the cut /v1 routes, the cut route without /)", len(snap.Entries))
	}
	for _, e := range snap.Entries {
		switch {
		case len(e.Route) > 256:
			t.Errorf("route of %d bytes kept", len(e.Route))
		case e.Route == exact:
		case !strings.HasSuffix(e.Route, "/{...}") || !utf8.ValidString(e.Route):
			t.Errorf("cut route %q: want valid UTF-8 ending in /{...}", e.Route)
		case strings.HasPrefix(e.Route, "/v1/") && e.Calls != 3:
			t.Errorf("cut route %q has %d calls, want 3", e.Route, e.Calls)
		}
	}
}

// TestInventoryBoundsHost: the origin of an entry comes from the request
// URL, which an application forwarding user-chosen URLs (webhooks) does
// not choose; calls the egress check refuses are recorded too. A host
// longer than a DNS name (253 bytes), a port or a scheme no request can
// use, is recorded under the one origin "_invalid", so each of the
// MaxEntries entries stays small.
func TestInventoryBoundsHost(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	max := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61) // 253 bytes
	for _, raw := range []string{
		"https://" + strings.Repeat("a", 10000) + ".example/x",
		"https://" + strings.Repeat("a", 254) + "/x",
		"https://" + strings.Repeat("b", 300) + ":8443/x",
		"http://" + strings.Repeat("c", 5000) + "./x",
		"https://[fe80::1%25" + strings.Repeat("z", 5000) + "]/x",
		"https://api.example.test:" + strings.Repeat("4", 5000) + "/x",
		strings.Repeat("h", 5000) + "://api.example.test/x",
	} {
		inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, raw), Err: errors.New("refused")})
	}
	inv.Record(transport.Observation{Method: "GET", URL: &url.URL{Scheme: "https", Host: "a\x00b", Path: "/x"}, Err: errors.New("refused")})
	// Normal entries are unchanged, a 253-byte name and its FQDN form too.
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://"+max+"/x"), StatusCode: 200})
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://"+strings.ToUpper(max)+".:443/x"), StatusCode: 200})
	inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://[fe80::1%25eth0]:8443/x"), StatusCode: 200})

	snap := inv.Snapshot()
	bad, ok := findEntry(snap, "GET", "_invalid", "/x")
	if !ok || bad.Calls != 8 || bad.Host != "" || bad.Port != 0 || bad.Scheme != "" {
		t.Errorf("invalid-origin entry: found %v, %d calls, scheme %q, host of %d bytes, port %d; want 8 calls, no scheme, host or port", ok, bad.Calls, bad.Scheme, len(bad.Host), bad.Port)
	}
	if e, ok := findEntry(snap, "GET", "https://"+max+":443", "/x"); !ok || e.Calls != 2 || e.Host != max || e.Port != 443 {
		t.Errorf("253-byte host entry = %+v (found %v), want 2 calls", e, ok)
	}
	if e, ok := findEntry(snap, "GET", "https://[fe80::1%eth0]:8443", "/x"); !ok || e.Host != "fe80::1%eth0" {
		t.Errorf("IPv6 zone entry = %+v (found %v)", e, ok)
	}
	if len(snap.Entries) != 3 {
		t.Errorf("%d entries, want 3", len(snap.Entries))
	}
	for _, e := range snap.Entries {
		if len(e.Origin) > 300 {
			t.Errorf("origin of %d bytes kept", len(e.Origin))
		}
	}
}
