package transport

import (
	"net/http"
	"runtime"
	"sync"
	"weak"
)

// Telling a redirect hop from a new call.
//
// http.Client sends a redirect hop with Response set to the redirect
// response the stack returned, and the first request's context. But
// req.Response alone does not make a hop: a new call built from a
// redirected call's response (resp.Request.Clone for a next page or a
// poll) keeps the Response Clone copies, and is a call of its own, with
// its own route and its own redirect chain. A hop is the first request
// following a redirect response the layer returned: each layer that needs
// to know keeps a redirects set, adds each redirect response it returns
// (pend) and takes it out for the first request that follows it (follow).
// A request without Response costs a nil check; a redirect response costs
// a weak pointer, a cleanup and a map entry, which goes when its hop comes
// or the response is garbage collected.

// redirects holds the redirect responses a layer returned that no request
// has followed yet, each with a value the layer wants back at the hop. The
// zero value is an empty set.
type redirects[V any] struct {
	m sync.Map // weak.Pointer[http.Response] -> V
}

// isRedirect reports whether http.Client may follow resp: a 301, 302,
// 303, 307 or 308 with a Location.
func isRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// pend adds resp, a redirect response the layer returns, with v.
func (s *redirects[V]) pend(resp *http.Response, v V) {
	wp := weak.Make(resp)
	s.m.Store(wp, v)
	runtime.AddCleanup(resp, func(wp weak.Pointer[http.Response]) { s.m.Delete(wp) }, wp)
}

// follow reports whether req is the first request following a redirect
// response in s, a redirect hop, and returns the value it was added with;
// the response is taken out of s.
func (s *redirects[V]) follow(req *http.Request) (v V, hop bool) {
	if req.Response == nil {
		return v, false
	}
	x, ok := s.m.LoadAndDelete(weak.Make(req.Response))
	if !ok {
		return v, false
	}
	return x.(V), true
}
