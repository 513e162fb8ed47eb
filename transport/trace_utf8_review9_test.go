package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/internal/redact"
)

// badUTF8Attrs returns the string attributes of set that are not valid
// UTF-8.
func badUTF8Attrs(kvs []attribute.KeyValue) []string {
	var bad []string
	for _, kv := range kvs {
		switch kv.Value.Type() {
		case attribute.STRING:
			if !utf8.ValidString(kv.Value.AsString()) {
				bad = append(bad, string(kv.Key))
			}
		case attribute.STRINGSLICE:
			for _, s := range kv.Value.AsStringSlice() {
				if !utf8.ValidString(s) {
					bad = append(bad, string(kv.Key))
				}
			}
		}
	}
	return bad
}

// TestTraceTelemetryIsValidUTF8: a host that is not valid UTF-8 (url.Parse
// takes "http://a\xffb.example/", a webhook URL a user registers), a
// method that is not, an allowlisted response header with obs-text bytes
// (the server's) and an error message quoting such a host must not reach
// span attributes, span status or metric attributes as invalid UTF-8: OTLP
// (protobuf) refuses to encode such a string and the whole export batch
// is lost; a cumulative metric series keeps it, so every later metric
// export fails too.
func TestTraceTelemetryIsValidUTF8(t *testing.T) {
	r := newOtelRig(t, &redact.Policy{Headers: []string{"X-Request-Id"}})
	ok := r.stack(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		h := http.Header{"X-Request-Id": {"id-\xfe\xff"}}
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader("x")), Request: req}, nil
	}))
	fail := r.stack(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: "Get", URL: req.URL.Redacted(), Err: errors.New("lookup " + req.URL.Hostname() + ": no such host")}
	}))
	u, err := url.Parse("http://a\xffb.example/x")
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []http.RoundTripper{ok, fail} {
		for _, m := range []string{"GET", "G\xffT"} {
			req := (&http.Request{Method: m, URL: u, Header: http.Header{}}).WithContext(context.Background())
			resp, err := rt.RoundTrip(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	spans := r.ended()
	if len(spans) == 0 {
		t.Fatal("no spans")
	}
	for _, s := range spans {
		if bad := badUTF8Attrs(s.Attributes); len(bad) > 0 {
			t.Errorf("span %q: attributes not valid UTF-8: %v", s.Name, bad)
		}
		if !utf8.ValidString(s.Status.Description) {
			t.Errorf("span %q: status description not valid UTF-8: %q", s.Name, s.Status.Description)
		}
	}
	rm := r.metrics(t)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					sets = append(sets, dp.Attributes)
				}
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					sets = append(sets, dp.Attributes)
				}
			}
			for _, set := range sets {
				if bad := badUTF8Attrs(set.ToSlice()); len(bad) > 0 {
					t.Errorf("metric %s: attributes not valid UTF-8: %v", m.Name, bad)
				}
			}
		}
	}
}
