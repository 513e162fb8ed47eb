package hops

import (
	"net/http"
	"runtime"
	"testing"
	"time"
	"weak"
)

// value is a Set value whose collection the tests watch.
type value struct{ _ [64]byte }

// live collects garbage (and lets the cleanups run) until at most want of
// vs are still reachable, or it gives up, and returns how many are.
func live(vs []weak.Pointer[value], want int) int {
	n := 0
	for range 100 {
		runtime.GC()
		n = 0
		for _, v := range vs {
			if v.Value() != nil {
				n++
			}
		}
		if n <= want {
			return n
		}
		time.Sleep(time.Millisecond) // the cleanups run on their own goroutine
	}
	return n
}

func redirect(req *http.Request) *http.Response {
	return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {"/next"}}, Request: req}
}

// TestSetForgetsRedirectsOfALongLivedRequest: a caller that sends one
// request value again and again (a poller; allowed once the body is
// closed), through a hand-built stack whose responses carry that request,
// gets a redirect each time that is never followed (CheckRedirect returns
// http.ErrUseLastResponse) or is followed: once each response is gone, the
// Set holds at most the entry of the last one (which a copy of it may
// still follow), not one per call for as long as the request lives.
func TestSetForgetsRedirectsOfALongLivedRequest(t *testing.T) {
	for _, follow := range []bool{false, true} {
		var s Set[*value]
		req, _ := http.NewRequest(http.MethodGet, "http://example.com/old", nil)
		const n = 200
		vs := make([]weak.Pointer[value], n)
		for i := range n {
			v := new(value)
			vs[i] = weak.Make(v)
			resp := redirect(req)
			s.Pend(resp, v)
			if follow {
				hop, _ := http.NewRequest(http.MethodGet, "http://example.com/next", nil)
				hop.Response = resp
				if got, ok := s.Follow(hop); !ok || got != v {
					t.Fatalf("follow=%v: call %d: the hop was not found", follow, i)
				}
			}
		}
		want := 1
		if follow {
			want = 0
		}
		if got := live(vs, want); got > want {
			t.Errorf("follow=%v: %d of %d entries still held while the request lives, want at most %d", follow, got, n, want)
		}
		runtime.KeepAlive(req)
	}
}

// TestSetFindsHopByCopy: a hop whose Response is a copy of the redirect
// response (a layer above copied it) is found by the copy's Request, once.
func TestSetFindsHopByCopy(t *testing.T) {
	var s Set[int]
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/old", nil)
	resp := redirect(req)
	s.Pend(resp, 7)
	cp := *resp
	hop, _ := http.NewRequest(http.MethodGet, "http://example.com/next", nil)
	hop.Response = &cp
	if v, ok := s.Follow(hop); !ok || v != 7 {
		t.Fatalf("Follow = %v, %v; want 7, true", v, ok)
	}
	if _, ok := s.Follow(hop); ok {
		t.Fatal("a second request following the same response is taken for a hop")
	}
}
