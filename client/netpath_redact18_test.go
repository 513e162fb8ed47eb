package client_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A request built by hand whose URL has neither scheme nor host and a path
// "//user:pw@host/x" is refused (not absolute), but its span's url.full
// and its audit record's showed the path as it is, which every reader
// takes for userinfo; Do's error, re-parsed, did not.
func TestNetworkPathURLUserinfoNotShown(t *testing.T) {
	sec := canaryMark + "-NETPATH"
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{mu: &mu, b: &logs}, nil))
	inv, err := transport.NewInventory(transport.InventoryConfig{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	c, err := client.New(opts(loopback(), client.WithOrigins("https://127.0.0.1"),
		client.WithTracerProvider(tp), client.WithMeterProvider(mp), client.WithPropagator(propagation.TraceContext{}),
		client.WithAuditLog(logger), client.WithInventory(inv))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sink := &canarySink{t: t, spans: spans, rd: reader, logs: func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }, inv: func() *transport.Inventory { return inv }}
	for _, via := range []string{"Do", "Transport"} {
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "//user:" + sec + "@127.0.0.1/x"}, Header: http.Header{}}
		var resp *http.Response
		if via == "Do" {
			resp, err = c.Do(req)
		} else {
			resp, err = c.Transport().RoundTrip(req)
		}
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: a URL that is not absolute was sent", via)
		}
		n := len(spans.GetSpans())
		all := errDump(err) + sink.dump()
		spans.Reset()
		if n == 0 {
			t.Errorf("%s: no span", via)
		}
		if l := leaks(all); len(l) > 0 {
			t.Errorf("%s: the password shows (%d places), first:\n%s", via, len(l), l[0])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if bytes.Count(logs.Bytes(), []byte("\n")) != 2 {
		t.Errorf("want 2 audit records:\n%s", logs.String())
	}
}
