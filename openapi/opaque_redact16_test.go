package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// A URL with an Opaque is validated by its request-target (wireURL): the
// query values and userinfo it holds reach no violation, as those of
// URL.RawQuery never did. The reason names the parameter and the rule,
// the route the template.
func TestOpaqueViolationQuotesNoSecret(t *testing.T) {
	const secret = "s3cr3t-0paque-9f1e"
	for _, tc := range []struct {
		name, spec, method, opaque, query string
	}{
		{"query in Opaque", "pets.yaml", http.MethodGet, "/v1/pets?limit=" + secret, ""},
		{"query in Opaque, out of range", "pets.yaml", http.MethodGet, "/v1/pets?limit=99999&key=" + secret, ""},
		{"query after Opaque", "pets.yaml", http.MethodGet, "/v1/pets", "limit=" + secret},
		{"absolute-form with userinfo", "pets.yaml", http.MethodGet, "//alice:" + secret + "@api.example.test/v1/pets?limit=" + secret, ""},
		{"absolute-form, no operation", "pets.yaml", http.MethodGet, "//alice:" + secret + "@api.example.test/v1/nope?k=" + secret, ""},
		{"fragment", "pets.yaml", http.MethodGet, "/v1/pets?limit=" + secret + "#" + secret, ""},
		{"3.1 query in Opaque", "things31.yaml", http.MethodPost, "/v1/things/abc?limit=" + secret, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(200, `[]`, "Content-Type", "application/json"))
			var seen []string
			rt := newLayer(t, next, openapi.Config{Spec: spec(t, tc.spec), OnViolation: func(_ context.Context, v *openapi.Violation) {
				seen = append(seen, v.Route+" "+v.Reason)
			}})
			req, _ := http.NewRequest(tc.method, "https://api.example.test/", strings.NewReader(`{"name":"x"}`))
			req.Header.Set("Content-Type", "application/json")
			req.URL = &url.URL{Scheme: "https", Host: "api.example.test", Opaque: tc.opaque, RawQuery: tc.query}
			_, err := rt.RoundTrip(req)
			var ve *openapi.ViolationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a violation", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the secret", err)
			}
			if len(seen) == 0 {
				t.Fatal("OnViolation not called")
			}
			for _, s := range seen {
				if strings.Contains(s, secret) {
					t.Errorf("violation %q quotes the secret", s)
				}
			}
		})
	}
}
