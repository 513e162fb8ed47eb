package transporttest

import "net/http"

// RoundTripperFunc adapts an ordinary function to http.RoundTripper, the way
// http.HandlerFunc adapts one to http.Handler. The function must follow the
// RoundTripper contract itself (close req.Body, return a non-nil Body with a
// nil error); for a fake that does so for you, use a Responder.
type RoundTripperFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f(req).
func (f RoundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) {
	return f(req)
}
