package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestBigIntegerWithFractionOrExponentBounds: a JSON number past 2^53
// written with a zero fraction or an exponent ("9007199254740993.0",
// "9.007199254740993e15") is the integer 9007199254740993, which
// openapi3filter takes for an integer but compared with its bounds as the
// float64 9007199254740992, so it passed a maximum of 9007199254740992
// (and one past 2^63 format int64) to an upstream that reads it exactly
// (Jackson's BigDecimal, Python's Decimal, a JSON Schema validator over
// big numbers); one written with a fraction of its own
// ("9007199254740991.5") passed type integer, the float64 it rounds to
// being one. Such a number is held to its schema exactly, as an integer
// written as digits is (TestBigIntegerBodyBounds), in a request body and
// a response body.
func TestBigIntegerWithFractionOrExponentBounds(t *testing.T) {
	cases := map[string]bool{
		`{"n":9007199254740992.0}`:           false,
		`{"n":9.007199254740992e15}`:         false,
		`{"n":9007199254740992e0}`:           false,
		`{"n":1e15}`:                         false,
		`{"n":-9.007199254740993E+15}`:       false,
		`{"n":9007199254740993.0}`:           true,
		`{"n":9007199254740993.000}`:         true,
		`{"n":9.007199254740993e15}`:         true,
		`{"n":9.007199254740993E+15}`:        true,
		`{"n":900719925474099.3e1}`:          true,
		`{"n":90071992547409930e-1}`:         true,
		`{"n":1e23}`:                         true,
		`{"n":9007199254740991.5}`:           true, // type integer
		`{"n":0.9007199254740991e16}`:        false,
		`{"id":9.223372036854775807e18}`:     false,
		`{"id":9.223372036854775808e18}`:     true,
		`{"even":9007199254740994.0}`:        false,
		`{"even":9007199254740993.0}`:        true,
		`{"list":[1,9.007199254740993e15]}`:  true,
		`{"list":[9.223372036854775808e18]}`: true,
		`{"low":-9007199254740993.0}`:        true,
	}
	for body, violation := range cases {
		for _, dir := range []string{"request", "response"} {
			reqBody, respBody := body, `{}`
			if dir == "response" {
				reqBody, respBody = `{}`, body
			}
			next := transporttest.NewResponder(transporttest.Respond(200, respBody, "Content-Type", "application/json"))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(bigIntSpec)})
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(reqBody))
			req.Header.Set("Content-Type", "application/json")
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if dir == "response" && (strings.Contains(body, "low") || strings.Contains(body, "id") || strings.Contains(body, "even") || strings.Contains(body, "[1,")) {
				// The response schema has n and list only, list's items
				// bounded by format int64.
				continue
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
				t.Errorf("%s %s: err = %v, want violation %v", dir, body, err, violation)
			}
			if err != nil && strings.Contains(err.Error(), "900719925474099") {
				t.Errorf("%s %s: the reason quotes the value: %v", dir, body, err)
			}
		}
	}
}
