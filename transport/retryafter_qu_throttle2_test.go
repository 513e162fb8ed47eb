package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// The draft (draft-ietf-httpapi-ratelimit-headers) makes qu a String. A
// bare Token spelling a unit is read as that unit (lenient, as the policy
// name accepts a Token); a qu of any other type is an unknown unit, never
// taken for a request quota.
func TestParseRateLimitPolicyQuotaUnitForms(t *testing.T) {
	for _, tc := range []struct{ field, unit string }{
		{`"p";q=100;w=60;qu="content-bytes"`, "content-bytes"},
		{`"p";q=100;w=60;qu=content-bytes`, "content-bytes"},
		{`"p";q=100;w=60;qu=requests`, "requests"},
		{`"p";q=100;w=60;qu=5`, ""},
		{`"p";q=100;w=60;qu=?1`, ""},
		{`"p";q=100;w=60`, "requests"},
	} {
		ps, err := transport.ParseRateLimitPolicy(http.Header{"Ratelimit-Policy": {tc.field}})
		if err != nil || len(ps) != 1 {
			t.Fatalf("%s: %+v, %v", tc.field, ps, err)
		}
		if ps[0].QuotaUnit != tc.unit {
			t.Errorf("%s: QuotaUnit %q, want %q", tc.field, ps[0].QuotaUnit, tc.unit)
		}
	}
}
