package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A template escapes each value as one path segment and refuses values
// that would change the path; the template is the call's route.
func ExampleTemplate_NewRequest() {
	users := transport.MustParseTemplate("/users/{id}/orders/{order}")
	req, err := users.NewRequest(context.Background(), http.MethodGet, "https://api.example.com/v1", nil, "ada lovelace", "A/7")
	fmt.Println(err)
	req, _ = users.NewRequest(context.Background(), http.MethodGet, "https://api.example.com/v1", nil, "ada lovelace", "A-7")
	fmt.Println(req.URL)
	fmt.Println(transport.RouteFrom(req.Context()))
	_, err = users.Expand("..", "1")
	fmt.Println(errors.Is(err, transport.ErrUnsafePath))
	// Output:
	// transport: url template "/users/{id}/orders/{order}": value of {order}: contains / or \ (would change the path)
	// https://api.example.com/v1/users/ada%20lovelace/orders/A-7
	// /v1/users/{id}/orders/{order}
	// true
}

// The egress layer refuses, before any connection, a request (or a
// redirect hop) to an origin that is not on the allowlist.
func ExampleNewEgress() {
	upstream := transporttest.NewResponder(transporttest.Respond(http.StatusOK, "ok"))
	rt, err := transport.NewEgress(upstream, transport.EgressConfig{
		Allow: []string{"api.example.com", "*.payments.example.net:8443"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range []string{
		"https://api.example.com/v1/users",
		"https://eu.payments.example.net:8443/charges",
		"https://169.254.169.254/latest/meta-data/",
		"http://api.example.com/v1/users",
	} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			fmt.Println(err)
			continue
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	fmt.Println("sent:", upstream.Calls())
	// Output:
	// 200 OK
	// 200 OK
	// transport: egress denied: https://169.254.169.254:443: host not on the egress allowlist
	// transport: egress denied: http://api.example.com:80: scheme not allowed (https only)
	// sent: 2
}

// Without a route, the inventory folds identifiers out of the path.
func ExampleNormalizePath() {
	fmt.Println(transport.NormalizePath("/v1/users/12345/orders/550e8400-e29b-41d4-a716-446655440000/items"))
	// Output:
	// /v1/users/{id}/orders/{id}/items
}
