// Package stackhook carries what only the code that builds a whole stack
// (package client) knows to the layers of package transport, without
// exported API that a hand-built stack could set by mistake.
package stackhook

import (
	"net/http"
	"sync/atomic"
)

// LendCallCopy marks rt, a retry layer made by transport.NewRetry, as one
// whose call-level layers (between transport.NewCallTrace and it) are all
// package transport's, which read their request before they call next, or
// sit behind transport.NewCallLayerBoundary. The call's first attempt may
// then take the call trace's own copy of the request instead of copying it
// again; its layers change that copy in place (credentials included), so a
// layer reading its request after next would see them. It reports whether
// rt was such a layer. Package transport sets it.
var LendCallCopy func(rt http.RoundTripper) bool

// CloseAfterCalls marks rt, a call-trace layer made by
// transport.NewCallTrace (the outermost layer of package transport in a
// stack), so that a call ending once closed is set, its response body
// closed or the call failed, calls idle's CloseIdleConnections: the
// connection that carried it, back in the pool, is then closed rather than
// left open until the idle timeout. It costs each call one atomic load, no
// shared write. It reports whether rt was such a layer. Package transport
// sets it.
var CloseAfterCalls func(rt http.RoundTripper, closed *atomic.Bool, idle interface{ CloseIdleConnections() }) bool

// CloseIdleSoon closes idle's idle connections now and again a little
// later, for a request that ended after its client was closed: over
// HTTP/2 the connection that carried it may not be idle yet when the
// request ends (net/http removes the stream from it afterwards, after a
// cancellation too), and nothing else would close it. Package transport
// sets it; CloseAfterCalls' calls end the same way.
var CloseIdleSoon func(idle interface{ CloseIdleConnections() })

// StopBaseMetrics unregisters the metric callbacks of rt, a
// *transport.Base (the client certificate expiry gauge's), when its
// client is closed: a closed client presents its certificate to no one,
// and its Base would otherwise be reported until the garbage collector
// took it. The Base itself keeps working. It reports whether rt was a
// Base. Package transport sets it.
var StopBaseMetrics func(rt http.RoundTripper) bool

// AuditRefused writes the record of req, refused with err before it
// reached the stack (a redirect hop the client's redirect policy refused,
// a malformed request the client refused up front), to rt, an audit layer
// made by transport.NewAudit: the record of any refused call, with no
// status and no attempt. hop says req is a redirect hop, recorded under
// its own path rather than the route of WithRoute (req.Response does not
// tell: a new call built from a redirected call's response keeps it). It
// reports whether rt was such a layer. Package transport sets it.
var AuditRefused func(rt http.RoundTripper, req *http.Request, err error, hop bool) bool

// RedirectForeign reports whether req, a redirect hop the redirect policy
// policy (a *transport.RedirectPolicy) let through, is a foreign hop: one
// to an origin outside the client's own (the origin of via[0] when the
// policy has none), which gets no credential. False when policy is not a
// *transport.RedirectPolicy. Package transport sets it.
var RedirectForeign func(policy any, req *http.Request, via []*http.Request) bool
