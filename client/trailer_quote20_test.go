package client_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestBodyReadErrorQuotesNoTrailerLine: a response whose trailer section
// holds a line net/http cannot parse (a Set-Cookie without its colon)
// fails the body's read with an error quoting the line, session cookie
// included; the client's body returned it as it was, though Do's errors
// are safe to log.
func TestBodyReadErrorQuotesNoTrailerLine(t *testing.T) {
	const secret = canaryMark + "-TRAILERCOOKIE"
	srv := rawTLSServer(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Set-Cookie\r\n\r\n"+
		"2\r\nok\r\n0\r\nSet-Cookie session="+secret+"\r\n\r\n")
	c, err := client.New(opts(loopback(), client.WithOrigins(srv))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, err := http.NewRequest(http.MethodGet, srv+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr == nil || string(body) != "ok" {
		t.Fatalf("read %q, %v; want the body, then net/http's trailer error", body, rerr)
	}
	if l := leaks(errDump(rerr)); len(l) > 0 {
		t.Errorf("the body's read error quotes the trailer line: %s", l[0])
	}
	if !strings.Contains(rerr.Error(), "malformed MIME header") {
		t.Errorf("read error %q no longer says what was wrong", rerr)
	}
}
