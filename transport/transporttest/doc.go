// Package transporttest provides test doubles for http.RoundTripper layers
// and a conformance suite every securecall layer passes.
//
// The pieces:
//
//   - RoundTripperFunc adapts a function to http.RoundTripper.
//   - Responder is a scripted, concurrency-safe fake "next" transport. It
//     plays a queue of Steps (a response or an error), records a snapshot of
//     every request it receives and hands out TrackedBody response bodies,
//     so a test can assert that a layer closed (and drained) what it
//     discarded. Like a real transport it reads and closes every request
//     body it is given, on success and on error.
//   - TrackedBody is an io.ReadCloser over fixed bytes that counts reads,
//     bytes read and closes. Use it as a response body (the Responder does)
//     or as a request body to check that a layer closes req.Body on the
//     paths where it does not hand the request on.
//   - Conformance runs, for any layer, the checks of the RoundTripper
//     contract and of securecall's house rules: the caller's request is
//     never modified, req.Body is always closed, the context reaches next,
//     the returned body is never nil, discarded responses are drained
//     (bounded) and closed, and one layer instance is safe for concurrent
//     use. It is to layers what testing/fstest.TestFS is to file systems.
//
// transporttest imports only the standard library, so package transport's
// own tests can use it without an import cycle.
package transporttest
