package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// checkRefusedWithUnknownRoutes sends each path through an Enforce layer
// with AllowUnknownRoutes and checks it fails with a violation, nothing
// sent (violation false: it is sent).
func checkRefusedWithUnknownRoutes(t *testing.T, paths []string, violation bool) {
	t.Helper()
	const base = "https://api.example.test/v1"
	for _, p := range paths {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true, SkipResponses: true})
		req, err := http.NewRequest(http.MethodGet, base+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%s: err = %v, want violation %v", p, err, violation)
		}
		if sent := next.Calls() != 0; sent == violation {
			t.Errorf("%s: sent %v", p, sent)
		}
	}
}

// TestEncodedDotSegmentRefusedWithUnknownRoutesAllowed: an upstream that
// decodes "%2F" (or "%5C", or a "\") to a slash before it resolves dot
// segments (proxies, Tomcat with ALLOW_ENCODED_SLASH, gateways that decode
// twice) serves "/x%2F..%2Fpets/0" as "/pets/0", and Tomcat takes a "..;"
// segment for "..": such a path is a dot segment too, refused with
// AllowUnknownRoutes like "/x/../pets/0", not sent unvalidated.
func TestEncodedDotSegmentRefusedWithUnknownRoutesAllowed(t *testing.T) {
	checkRefusedWithUnknownRoutes(t, []string{
		"/x%2F..%2Fpets/0",
		"/x%2f..%2fpets/0",
		"/x%5C..%5Cpets/0",
		"/x%5c..%5cpets/0",
		`/x\..\pets/0`,
		"/x%2F%2E%2E%2Fpets/0",
		"/x%2f%2e%2e%2fpets/0",
		"/x%252F..%252Fpets/0",
		"/x%2F%252e%252e%2Fpets/0",
		"/x/..;/pets/0",
		"/x/..;jsessionid=1/pets/0",
		"/pets/0%2F.",
	}, true)
	// Dots inside a segment are no dot segment.
	checkRefusedWithUnknownRoutes(t, []string{"/x/a..b/pets", "/x%2Fa..b", "/x/..a/pets"}, false)
}

// TestEncodedSlashPathRefusedWithUnknownRoutesAllowed: "/pets%2F0" matches
// no operation as written, but an upstream that decodes "%2F" (or "%5C",
// or twice) before routing serves it as "/pets/0": with AllowUnknownRoutes
// it must not go out unvalidated. A path that matches no operation but
// would once read that way is a violation; one that matches none either
// way is still an unknown route.
func TestEncodedSlashPathRefusedWithUnknownRoutesAllowed(t *testing.T) {
	checkRefusedWithUnknownRoutes(t, []string{
		"/pets%2F0",
		"/pets%2f0",
		"/pets%5C0",
		`/pets\0`,
		"/pets%252F0",
		"/p%2565ts/0",
		"/pets%2F0%2F",
		"%2Fpets/0",
	}, true)
	checkRefusedWithUnknownRoutes(t, []string{"/things%2F0", "/pets/7/x%2Fy"}, false)
}
