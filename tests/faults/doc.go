// Package faults holds securecall's resilience tests under real network
// faults: an embedded Toxiproxy (github.com/Shopify/toxiproxy/v2, pinned
// at v2.12.0) between the client and an httptest upstream injects latency,
// resets, stalls, slow and truncated responses and refused connections,
// and the tests assert what the retry layer, the budget, the breaker and
// the throttle do about them, counting side effects on the upstream. It is
// a separate module so that Toxiproxy and its dependencies never reach the
// go.mod of a service that imports securecall.
//
// Run with: cd tests/faults && go test -race ./...
package faults
