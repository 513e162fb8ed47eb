package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// An interface holding a nil pointer is as much a nil option value as a nil
// interface: New must refuse it with a *ConfigError naming the option,
// rather than panic (the OTel providers) or build a client whose first
// call panics (the others).
func TestTypedNilOptionValuesAreConfigErrors(t *testing.T) {
	var (
		tr    *http.Transport
		tp    *sdktrace.TracerProvider
		mp    *sdkmetric.MeterProvider
		prop  *propagation.TraceContext
		keys  *signer.KeySet
		cache *tokens.Cache
	)
	origins := client.WithOrigins("https://api.example.com")
	cases := []struct {
		option string
		opt    client.Option
	}{
		{"WithBaseTransport", client.WithBaseTransport(tr)},
		{"WithTracerProvider", client.WithTracerProvider(tp)},
		{"WithMeterProvider", client.WithMeterProvider(mp)},
		{"WithPropagator", client.WithPropagator(prop)},
		{"WithHMACSigning", client.WithHMACSigning(keys)},
		{"WithTokenSource", client.WithTokenSource(cache)},
		{"WithAPIKey", client.WithAPIKey("", cache)},
		{"WithAPIKeyInQuery", client.WithAPIKeyInQuery("key", cache)},
		// The layer a WithCallLayer wrap returns is checked the same way.
		{"WithCallLayer", client.WithCallLayer(func(http.RoundTripper) (http.RoundTripper, error) { return tr, nil })},
	}
	for _, tc := range cases {
		t.Run(tc.option, func(t *testing.T) {
			var c *client.Client
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("New panicked: %v", r)
					}
				}()
				c, err = client.New(origins, tc.opt)
			}()
			if err == nil {
				defer c.Close()
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/", nil)
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("New accepted it and Do panicked: %v", r)
						}
					}()
					if resp, err := c.Do(req); err == nil {
						resp.Body.Close()
					}
				}()
				t.Fatal("New succeeded, want a *ConfigError")
			}
			var ce *client.ConfigError
			if !errors.As(err, &ce) || ce.Option != tc.option {
				t.Fatalf("err = %v; want a *ConfigError naming %s", err, tc.option)
			}
			if !strings.Contains(err.Error(), "nil") {
				t.Errorf("message %q does not say the value is nil", err)
			}
		})
	}
}
