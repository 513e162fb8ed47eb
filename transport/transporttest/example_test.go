package transporttest_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/securecall/securecall/transport/transporttest"
)

// A Responder scripts the transport under a layer: here a 503, then a
// connection failure, then 200 for every further call.
func ExampleResponder() {
	next := transporttest.NewResponder(
		transporttest.Respond(http.StatusServiceUnavailable, "busy", "Retry-After", "0"),
		transporttest.Fail(errors.New("connection reset")),
		transporttest.Respond(http.StatusOK, `{"ok":true}`, "Content-Type", "application/json"),
	)
	for range 4 {
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/items", strings.NewReader(`{"n":1}`))
		resp, err := next.RoundTrip(req)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("calls:", next.Calls())
	fmt.Printf("first request body: %s\n", next.Requests()[0].Body)
	fmt.Println("unclosed bodies:", next.Unclosed())
	// Output:
	// 503 busy
	// error: connection reset
	// 200 {"ok":true}
	// 200 {"ok":true}
	// calls: 4
	// first request body: {"n":1}
	// unclosed bodies: <nil>
}

// A TrackedBody as req.Body shows whether a layer closed the request body
// on a path where it did not hand the request on.
func ExampleTrackedBody() {
	refuse := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			req.Body.Close() // the RoundTripper contract: close it, even on error
		}
		return nil, errors.New("example: refused")
	})
	body := transporttest.NewTrackedBody([]byte("payload"))
	req, _ := http.NewRequest(http.MethodPut, "https://api.example.test/v1/items/1", nil)
	req.Body = body
	_, err := refuse.RoundTrip(req)
	fmt.Println(err)
	fmt.Println("closed:", body.Closed(), "bytes read:", body.BytesRead())
	// Output:
	// example: refused
	// closed: true bytes read: 0
}
