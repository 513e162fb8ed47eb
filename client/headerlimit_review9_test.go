package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// The client's base transport stops reading a response header over the
// limits layer's limit (1 MiB) instead of buffering up to net/http's
// 10 MiB default and refusing it afterwards: the *ResponseTooLargeError
// comes from the transport (Size -1: not measured whole), once, without
// a retry.
func TestClientBaseBoundsResponseHeader(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		var calls, proto atomic.Int32
		srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			proto.Store(int32(r.ProtoMajor))
			v := strings.Repeat("a", 1000)
			for i := 0; i < 3<<10; i++ { // 3 MiB
				w.Header().Add("X-Big", v)
			}
			w.WriteHeader(http.StatusOK)
		}))
		tc := loopback()
		if !h2 {
			ca, _ := testPKI()
			c := testpkiTrust(ca)
			c.NextProtos = []string{"http/1.1"}
			tc = opts(tc, client.WithTLSConfig(c))
		}
		c, err := client.New(opts(tc, client.WithOrigins(srv.URL))...)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("h2=%v: an oversized header was accepted", h2)
		}
		var tl *transport.ResponseTooLargeError
		if !errors.As(err, &tl) || tl.Part != "header" || tl.Limit != transport.DefaultMaxResponseHeaderBytes || tl.Size != -1 {
			t.Errorf("h2=%v: err = %v (%#v), want the transport's *ResponseTooLargeError for the header", h2, err, tl)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("h2=%v: server called %d times, want 1 (no retry)", h2, n)
		}
		if want := map[bool]int32{false: 1, true: 2}[h2]; proto.Load() != want {
			t.Errorf("h2=%v: the request went over HTTP/%d, want HTTP/%d", h2, proto.Load(), want)
		}
		c.Close()
	}
}
