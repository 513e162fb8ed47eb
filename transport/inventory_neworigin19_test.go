package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
)

// TestInventoryNewOriginAfterFullIsNamed: a flood of distinct paths on one
// allowed origin (words the id folding keeps) filled the inventory, and a
// later call to a new origin (an exfiltration endpoint, a new third-party
// API) went into the one overflow entry, origin "_overflow": the inventory
// no longer showed that the service called it. The new origin now gets an
// overflow entry of its own, named by its origin, in the JSON and in the
// metrics; the flood's paths stay in the global overflow entry.
func TestInventoryNewOriginAfterFullIsNamed(t *testing.T) {
	allowed := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer allowed.Close()
	exfil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) }))
	defer exfil.Close()
	reader := sdkmetric.NewManualReader()
	inv := newInventory(t, transport.InventoryConfig{MaxEntries: 5, MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))})
	c := &http.Client{Transport: inventoryLayer(t, http.DefaultTransport, inv)}
	do := func(method, u string) {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader("x"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"}
	for _, w := range words {
		do(http.MethodGet, allowed.URL+"/search/"+w)
	}
	do(http.MethodPost, exfil.URL+"/upload/secrets")
	do(http.MethodPut, exfil.URL+"/upload/more")

	snap := inv.Snapshot()
	exOrigin := "http://" + strings.TrimPrefix(exfil.URL, "http://")
	e, ok := findEntry(snap, "_OTHER", exOrigin, "_overflow")
	if !ok || !e.Overflow || e.Calls != 2 || e.Status["2xx"] != 2 || e.Scheme != "http" || e.Host != "127.0.0.1" || e.Port == 0 {
		t.Fatalf("new origin %s after the inventory was full: entry %+v (found %v), want an overflow entry of its own with 2 calls; entries %+v", exOrigin, e, ok, snap.Entries)
	}
	global, ok := findEntry(snap, "_OTHER", "_overflow", "_overflow")
	if !ok || global.Calls != uint64(len(words)-5) {
		t.Fatalf("global overflow entry %+v (found %v), want the flood's %d calls past MaxEntries", global, ok, len(words)-5)
	}
	if inv.Len() != 5 {
		t.Fatalf("Len = %d, want 5 (overflow entries not counted)", inv.Len())
	}
	var total uint64
	for _, e := range snap.Entries {
		total += e.Calls
	}
	if total != uint64(len(words)+2) {
		t.Fatalf("%d calls in the snapshot, want %d", total, len(words)+2)
	}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"origin":"`+exOrigin+`"`) || !strings.Contains(string(b), fmt.Sprintf(`"max_overflow_origins":%d`, transport.DefaultInventoryMaxOverflowOrigins)) {
		t.Fatalf("JSON does not name %s or its bound: %s", exOrigin, b)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var calls, endpoint bool
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case transport.MetricAPICalls:
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					tmpl, _ := dp.Attributes.Value("url.template")
					port, _ := dp.Attributes.Value("server.port")
					if tmpl.AsString() == "_overflow" && fmt.Sprintf("%d", port.AsInt64()) == exOrigin[strings.LastIndexByte(exOrigin, ':')+1:] {
						calls = dp.Value == 2
					}
				}
			case transport.MetricAPIEndpoint:
				for _, dp := range m.Data.(metricdata.Gauge[int64]).DataPoints {
					tmpl, _ := dp.Attributes.Value("url.template")
					port, _ := dp.Attributes.Value("server.port")
					if tmpl.AsString() == "_overflow" && fmt.Sprintf("%d", port.AsInt64()) == exOrigin[strings.LastIndexByte(exOrigin, ':')+1:] {
						endpoint = true
					}
				}
			}
		}
	}
	if !calls || !endpoint {
		t.Fatalf("metrics: calls series of %s with 2 calls %v, endpoint series %v; want both", exOrigin, calls, endpoint)
	}
}

// TestInventoryOverflowOriginsBounded: the overflow entries of new origins
// are bounded by MaxOverflowOrigins (origins a user chooses, webhooks, are
// not bounded by an allowlist); past it, a new origin's calls go to the
// global overflow entry. A negative bound is a *ConfigError naming it.
func TestInventoryOverflowOriginsBounded(t *testing.T) {
	var ce *transport.ConfigError
	if _, err := transport.NewInventory(transport.InventoryConfig{MaxOverflowOrigins: -1}); !errors.As(err, &ce) || ce.Option != "MaxOverflowOrigins" {
		t.Fatalf("MaxOverflowOrigins -1: %v, want a *ConfigError naming it", err)
	}
	inv := newInventory(t, transport.InventoryConfig{MaxEntries: 2, MaxOverflowOrigins: 3})
	rec := func(origin, route string) {
		inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, origin+"/x"), Route: route, StatusCode: 200})
	}
	rec("https://a.example.test", "/1")
	rec("https://a.example.test", "/2")
	rec("https://a.example.test", "/3") // a known origin: global overflow
	for i := range 5 {
		rec(fmt.Sprintf("https://n%d.example.test", i), "/1")
		rec(fmt.Sprintf("https://n%d.example.test", i), "/2")
	}
	snap := inv.Snapshot()
	if snap.MaxOverflowOrigins != 3 {
		t.Fatalf("MaxOverflowOrigins = %d, want 3", snap.MaxOverflowOrigins)
	}
	for i := range 3 {
		o := fmt.Sprintf("https://n%d.example.test:443", i)
		if e, ok := findEntry(snap, "_OTHER", o, "_overflow"); !ok || e.Calls != 2 || !e.Overflow {
			t.Errorf("%s: entry %+v (found %v), want its overflow entry with 2 calls", o, e, ok)
		}
	}
	global, ok := findEntry(snap, "_OTHER", "_overflow", "_overflow")
	if !ok || global.Calls != 1+2*2 {
		t.Fatalf("global overflow %+v (found %v), want 5 calls (a known origin's, and two origins past the bound)", global, ok)
	}
	if last := snap.Entries[len(snap.Entries)-1]; last.Origin != "_overflow" {
		t.Fatalf("last entry %+v, want the global overflow entry", last)
	}
	if len(snap.Entries) != 2+3+1 {
		t.Fatalf("%d entries, want 6", len(snap.Entries))
	}
}

// TestInventoryNewOriginsConcurrent: goroutines flood one origin's paths
// and call new origins at once, past MaxEntries: every new origin has
// exactly one entry (its overflow entry, or a regular one when it came
// before the inventory was full), and no call is lost.
func TestInventoryNewOriginsConcurrent(t *testing.T) {
	const G, N, origins = 8, 200, 16
	inv := newInventory(t, transport.InventoryConfig{MaxEntries: 4})
	var wg sync.WaitGroup
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range N {
				if i%2 == 0 {
					inv.Record(transport.Observation{Method: "GET", URL: mustURL(t, "https://flood.example.test/x"), Route: fmt.Sprintf("/w%d-%d", g, i), StatusCode: 200})
				} else {
					o := fmt.Sprintf("https://o%d.example.test", (g+i)%origins)
					inv.Record(transport.Observation{Method: "POST", URL: mustURL(t, o+"/x"), Route: fmt.Sprintf("/r%d", i%3), StatusCode: 200})
				}
			}
		}()
	}
	wg.Wait()
	snap := inv.Snapshot()
	seen := map[string]int{}
	var total uint64
	for _, e := range snap.Entries {
		total += e.Calls
		if e.Overflow && e.Origin != "_overflow" {
			seen[e.Origin]++
			if seen[e.Origin] > 1 {
				t.Errorf("origin %s has two overflow entries", e.Origin)
			}
		}
		if !e.Overflow {
			seen[e.Origin] += 0
		}
	}
	for i := range origins {
		if _, ok := seen[fmt.Sprintf("https://o%d.example.test:443", i)]; !ok {
			t.Errorf("origin o%d missing from the inventory", i)
		}
	}
	if total != G*N {
		t.Fatalf("%d calls recorded, want %d", total, G*N)
	}
}
