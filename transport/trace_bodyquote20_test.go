package transport_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// rawHTTPServer answers every request on a plain TCP listener with resp,
// written as it is, and returns its http:// URL.
func rawHTTPServer(t *testing.T, resp string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					io.WriteString(c, resp)
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestTraceBodyReadErrorQuotesNoSecret: a chunked response whose trailer
// section holds a line net/http cannot parse (a Set-Cookie without its
// colon, a server echoing the request's headers) fails the body's read
// with a textproto.ProtocolError that quotes the line, session cookie
// included. The span's status was redacted, but the error the caller's
// Read got from the call trace's body was the one net/http made: a
// caller that logs it (as it may log any error the stack returns) logged
// the secret.
func TestTraceBodyReadErrorQuotesNoSecret(t *testing.T) {
	const secret = "SESSION-SECRET-20"
	srv := rawHTTPServer(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Set-Cookie\r\n\r\n"+
		"2\r\nok\r\n0\r\nSet-Cookie session="+secret+"\r\n\r\n")
	for _, twoLevel := range []bool{false, true} {
		rig := newOtelRig(t, nil)
		if twoLevel {
			rig.twoLevel()
		}
		base := &http.Transport{}
		defer base.CloseIdleConnections()
		req, err := http.NewRequest(http.MethodGet, srv+"/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rig.stack(base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil || string(body) != "ok" {
			t.Fatalf("twoLevel=%v: read %q, %v; want the body, then net/http's trailer error", twoLevel, body, rerr)
		}
		if strings.Contains(rerr.Error(), secret) {
			t.Errorf("twoLevel=%v: the body's read error quotes the trailer line: %v", twoLevel, rerr)
		}
		spans := rig.ended()
		if len(spans) == 0 {
			t.Fatalf("twoLevel=%v: no span ended", twoLevel)
		}
		for _, s := range spans {
			if strings.Contains(s.Status.Description, secret) {
				t.Errorf("twoLevel=%v: span %s status %q quotes the trailer line", twoLevel, s.Name, s.Status.Description)
			}
		}
	}
}
