// Package hops tells a redirect hop from a new call: the transport
// layers that keep per-call records (limits, inventory, audit) and the
// client's entry share it.
package hops

import (
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// http.Client sends a redirect hop with Response set to the redirect
// response the stack returned, and the first request's context. But
// req.Response alone does not make a hop: a new call built from a
// redirected call's response (resp.Request.Clone for a next page or a
// poll) keeps the Response Clone copies, and is a call of its own, with
// its own route and its own redirect chain. A hop is the first request
// following a redirect response the layer returned: each layer that needs
// to know keeps a Set, adds each redirect response it returns
// (Pend) and takes it out for the first request that follows it (Follow).
// A layer above may hand http.Client a copy of that response (a caller's
// WithCallLayer layer: a cache, a rewrite), so the hop's Response is not
// the one the layer returned; the copy keeps its Request, by which the hop
// is found then. A request without Response costs a nil check; a redirect
// response costs an entry, two weak pointers, two cleanups and two map
// entries, which go when its hop comes or both the response and its
// request are garbage collected; a request that lives on (a poller
// sending one request value again and again through a stack whose
// responses carry it) holds the entry of its latest redirect only: the
// cleanup of a replaced or followed entry is stopped.

// Set holds the redirect responses a layer returned that no request
// has followed yet, each with a value the layer wants back at the hop. The
// zero value is an empty set.
type Set[V any] struct {
	// weak.Pointer[http.Response] (the response) and
	// weak.Pointer[http.Request] (its Request) -> *pending[V]
	m sync.Map
}

// pending is a redirect response in a redirects set.
type pending[V any] struct {
	v     V
	taken atomic.Bool // its hop came
	resp  weak.Pointer[http.Response]
	req   weak.Pointer[http.Request] // zero: the response had no Request
	// The cleanups of resp and req: stopped when the hop comes, and
	// reqCleanup when a later response with the same Request replaces
	// the entry under req (else a request that lives on would collect
	// one cleanup, holding its entry, per redirect).
	respCleanup, reqCleanup runtime.Cleanup
}

// IsRedirect reports whether http.Client may follow resp: a 301, 302,
// 303, 307 or 308 with a Location.
func IsRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// Pend adds resp, a redirect response the layer returns, with v.
func (s *Set[V]) Pend(resp *http.Response, v V) {
	p := &pending[V]{v: v, resp: weak.Make(resp)}
	// The cleanups are set before p is stored: Follow may stop them as
	// soon as it finds p.
	p.respCleanup = runtime.AddCleanup(resp, s.forget, cleanupKey[V]{p.resp, p})
	if resp.Request != nil {
		p.req = weak.Make(resp.Request)
		p.reqCleanup = runtime.AddCleanup(resp.Request, s.forget, cleanupKey[V]{p.req, p})
	}
	s.m.Store(p.resp, p)
	if p.req != (weak.Pointer[http.Request]{}) {
		if old, loaded := s.m.Swap(p.req, p); loaded {
			// The request's earlier redirect, still found by its
			// response, is no longer by the request.
			old.(*pending[V]).reqCleanup.Stop()
		}
	}
}

// cleanupKey is a key of s.m to delete once its pointer is collected, if
// it still holds p (another response with the same Request may replace
// it).
type cleanupKey[V any] struct {
	key any
	p   *pending[V]
}

func (s *Set[V]) forget(k cleanupKey[V]) { s.m.CompareAndDelete(k.key, k.p) }

// Follow reports whether req is the first request following a redirect
// response in s, a redirect hop, and returns the value it was added with;
// the response is taken out of s.
func (s *Set[V]) Follow(req *http.Request) (v V, hop bool) {
	if req.Response == nil {
		return v, false
	}
	x, ok := s.m.Load(weak.Make(req.Response))
	if !ok && req.Response.Request != nil {
		// A copy of the response the layer returned.
		x, ok = s.m.Load(weak.Make(req.Response.Request))
	}
	if !ok {
		return v, false
	}
	p := x.(*pending[V])
	if !p.taken.CompareAndSwap(false, true) {
		return v, false // another request followed it first
	}
	s.m.CompareAndDelete(p.resp, p)
	p.respCleanup.Stop()
	if p.req != (weak.Pointer[http.Request]{}) {
		s.m.CompareAndDelete(p.req, p)
		p.reqCleanup.Stop()
	}
	return p.v, true
}
