// Package benchkit holds what the benchmark suites (bench and the nested
// bench/handstack module) share, so that their figures are comparable: the
// in-memory stub server, the 1 KiB POST body, and an OTel SDK set up as a
// production service would (a batch span processor, a metric reader).
package benchkit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Payload is the 1 KiB JSON body every POST benchmark sends.
var Payload = func() []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for b.Len() < 1024-40 {
		if b.Len() > 10 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":12345,"name":"widget"}`)
	}
	b.WriteString(`],"note":"`)
	for b.Len() < 1022 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.Bytes()[:1024]
}()

// RespBody is the body the stub and the loopback servers answer with.
const RespBody = `{"ok":true}`

// Stub answers every request in memory, like a server that replies 200
// with a small JSON body. It reads and closes the request body, as a real
// transport does.
type Stub struct{}

// RoundTrip implements http.RoundTripper.
func (Stub) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Status:        "200 OK",
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(RespBody)),
		ContentLength: int64(len(RespBody)),
		Request:       req,
	}, nil
}

// DiscardExporter drops spans; a batch processor in front of it still does
// all its work.
type DiscardExporter struct{}

// ExportSpans implements sdktrace.SpanExporter.
func (DiscardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }

// Shutdown implements sdktrace.SpanExporter.
func (DiscardExporter) Shutdown(context.Context) error { return nil }

// SDK returns a tracer provider with a batch span processor to a
// DiscardExporter and a meter provider with a manual reader, shut down when
// tb's test ends.
func SDK(tb testing.TB) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(DiscardExporter{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tb.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return tp, mp
}

// SPKIPin returns the OkHttp-style pin ("sha256/<base64>") of cert.
func SPKIPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

// BackupPin is a syntactically valid pin that matches nothing, standing in
// for the backup key a production pin set carries.
var BackupPin = "sha256/" + base64.StdEncoding.EncodeToString(make([]byte, 32))
