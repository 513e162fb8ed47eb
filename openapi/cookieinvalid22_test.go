package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestCookieNetHTTPCannotReadIsStillAProperty: the closed-object check of
// an exploded form cookie object, the case and repetition checks of
// cookies and the object's own validation took the request's cookies
// from Request.Cookies, which leaves out a pair whose name is no token
// ("ad min", "role[x]") or whose value has a byte RFC 6265 does not
// allow (a '"', a '\', a control or non-ASCII byte), and every cookie of
// a header with more than 3000: such a cookie, which PHP, Express's
// cookie parser and Rack read, escaped the check, so an undeclared
// "admin" cookie reached the upstream as a property of the closed object,
// and a property sent twice or with a value out of its enum passed. The
// layer reads the Cookie header itself for these checks now.
func TestCookieNetHTTPCannotReadIsStillAProperty(t *testing.T) {
	many := strings.Repeat("x=1; ", 3000) + "admin=true"
	checkRequests(t, twoCookieObjectsSpec, func(c string) *http.Request {
		path, cookie, _ := cutSpace(c)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1"+path, nil)
		if cookie == "many" {
			cookie = "color=red; " + many
		}
		req.Header.Set("Cookie", cookie)
		return req
	}, map[string]bool{
		`/two color=red; size=L`:               false,
		`/two color=red; size="L"`:             false,
		`/two color=red; admin=tr"ue`:          true,
		`/two color=red; admin=tr\ue`:          true,
		`/two color=red; admin=trüe`:           true,
		"/two color=red; admin=t\x01rue":       true,
		`/two color=red; ad min=1`:             true,
		`/two color=red; role[x]=admin`:        true,
		`/two color=red; color=gr"een`:         true, // twice
		`/two color=gr"een`:                    true, // not in the enum
		`/two color=red; COLOR=gr"een`:         true, // another case
		`/two many`:                            true,
		`/open color=red; size=L; admin=tr"ue`: false, // b takes admin
		`/open color=red; size=L"; admin=true`: true,
	})
}
