package transport_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/stackhook"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

// In a full call stack (call trace, retry with a shared clock, sign), where
// the call's first attempt takes the call's own copy of the request, every
// attempt of a retried request is signed from the request as the caller
// made it: the Cookie lines joined and a forced chunked body's length made
// unknown on each attempt's copy, both attempts verify over HTTP/1.1 and
// HTTP/2, the body arrives whole each time, and the caller's request keeps
// its Cookie lines, ContentLength and TransferEncoding.
func TestSignAlignWireRetriedFromPristineRequest(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		for _, share := range []bool{false, true} {
			var n atomic.Int32
			v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(signKey(t))})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := v.Verify(r, time.Now()); err != nil {
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				if b, _ := io.ReadAll(r.Body); string(b) != "hello" {
					http.Error(w, "body "+string(b), http.StatusConflict)
					return
				}
				if got := r.Header.Get("Cookie"); got != "a=1; b=2; c=3" {
					http.Error(w, "cookie "+got, http.StatusConflict)
					return
				}
				if n.Add(1) == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				io.WriteString(w, "ok")
			}))
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			comps := append(signer.DefaultComponents(), signer.Field("cookie"), signer.Field("content-length").IfPresent())
			sign := signedClient(t, srv, comps...)
			retry := newRetry(t, sign, transport.RetryConfig{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, SharedClock: share})
			if share {
				stackhook.LendCallCopy(retry) // the first attempt takes the call's copy, as in client.New
			}
			rt := transport.NewCallTrace(retry, transport.TraceConfig{})

			req, err := http.NewRequest(http.MethodPut, srv.URL+"/r", strings.NewReader("hello"))
			if err != nil {
				t.Fatal(err)
			}
			req.TransferEncoding = []string{"chunked"}
			lines := []string{"a=1;b=2", "c=3"}
			req.Header["Cookie"] = slices.Clone(lines)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("%s, share %v: %v", protoName(h2), share, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n.Load() != 2 {
				t.Errorf("%s, share %v: %d %s after %d attempts", protoName(h2), share, resp.StatusCode, strings.TrimSpace(string(body)), n.Load())
			}
			if req.ContentLength != 5 || !slices.Equal(req.TransferEncoding, []string{"chunked"}) || !slices.Equal(req.Header["Cookie"], lines) {
				t.Errorf("%s, share %v: caller's request changed: ContentLength %d, TransferEncoding %q, Cookie %q", protoName(h2), share, req.ContentLength, req.TransferEncoding, req.Header["Cookie"])
			}
			srv.Close()
		}
	}
}
