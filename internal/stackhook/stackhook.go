// Package stackhook carries what only the code that builds a whole stack
// (package client) knows to the layers of package transport, without
// exported API that a hand-built stack could set by mistake.
package stackhook

import "net/http"

// LendCallCopy marks rt, a retry layer made by transport.NewRetry, as one
// whose call-level layers (between transport.NewCallTrace and it) are all
// package transport's, which read their request before they call next, or
// sit behind transport.NewCallLayerBoundary. The call's first attempt may
// then take the call trace's own copy of the request instead of copying it
// again; its layers change that copy in place (credentials included), so a
// layer reading its request after next would see them. It reports whether
// rt was such a layer. Package transport sets it.
var LendCallCopy func(rt http.RoundTripper) bool
