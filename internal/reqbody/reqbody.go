// Package reqbody tells a fresh copy of a request body, as
// http.Request.GetBody must return one, from the request's own Body handed
// back again (GetBody = func() (io.ReadCloser, error) { return req.Body, nil },
// a common mistake for a streamed body): reading that "copy" for a digest
// or a re-send reads the body itself, and the request goes out empty or
// cut short.
package reqbody

import (
	"io"
	"net/http"
)

// Wrapper is a request body that wraps another and reads from it: the
// transport package's layers wrap the bodies they watch, so that the
// request a layer below sees carries another value than the caller's
// body. Same looks through it.
type Wrapper interface {
	UnwrapBody() io.ReadCloser
}

// maxDepth bounds the walk through Wrappers (a stack has two at most).
const maxDepth = 8

// Same reports whether fresh, a body GetBody returned, is body itself or
// the body a chain of Wrappers of body reads. It is false for a value
// whose dynamic type cannot be compared. It neither reads nor closes
// either. io.NopCloser(r) twice over one r compares equal: a GetBody that
// seeks r back and wraps it again hands back the same reader, which the
// send before may still be reading (net/http reads a body on a goroutine
// of its own), so it is no fresh copy either.
func Same(body, fresh io.ReadCloser) bool {
	for n := 0; body != nil && n < maxDepth; n++ {
		if equal(body, fresh) {
			return true
		}
		w, ok := body.(Wrapper)
		if !ok {
			return false
		}
		body = w.UnwrapBody()
	}
	return false
}

// equal reports whether a and b are the same value; false when their
// dynamic type cannot be compared (the comparison panics).
func equal(a, b io.ReadCloser) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// Fresh calls req.GetBody (not nil) and returns the copy it gives. When
// that is no copy, a nil reader or req's own Body handed back (see Same),
// it returns a nil reader and why, which the caller must report (and must
// not read or close what GetBody gave: it is req's). err is GetBody's own.
func Fresh(req *http.Request) (rc io.ReadCloser, notFresh string, err error) {
	rc, err = req.GetBody()
	switch {
	case err != nil:
		return nil, "", err
	case rc == nil:
		return nil, "GetBody returned a nil body (and no error)", nil
	case Same(req.Body, rc):
		return nil, "GetBody returned the request's own Body (the same reader), not a fresh copy", nil
	}
	return rc, "", nil
}
