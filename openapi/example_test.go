package openapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

const exampleSpec = `
openapi: 3.0.3
info: {title: Orders, version: "1"}
servers: [{url: "https://orders.example.test"}]
paths:
  /orders:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [sku, quantity]
              properties:
                sku: {type: string}
                quantity: {type: integer, minimum: 1}
      responses:
        "201": {description: created}
`

// A request that does not match the description fails before anything is
// sent, with a reason that names the field, not its value.
func ExampleNew() {
	upstream := transporttest.NewResponder(transporttest.Respond(http.StatusCreated, ""))
	rt, err := openapi.New(upstream, openapi.Config{Spec: []byte(exampleSpec)})
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := http.NewRequest(http.MethodPost, "https://orders.example.test/orders",
		strings.NewReader(`{"sku":"A-1","quantity":0}`))
	req.Header.Set("Content-Type", "application/json")
	_, err = rt.RoundTrip(req)
	fmt.Println(errors.Is(err, transport.ErrSchemaViolation))
	fmt.Println(err)
	fmt.Println("sent:", upstream.Calls())
	// Output:
	// true
	// openapi: request POST /orders: body: doesn't match schema: at /quantity: number must be at least 1
	// sent: 0
}
