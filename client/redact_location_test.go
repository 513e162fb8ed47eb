package client_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestDoRedactsUnparsableLocation: a redirect whose Location header does
// not parse fails in http.Client with the header's value, quoted, in the
// message (flattened with %v: no *url.Error of its own is left to redact).
// A Location carries what any URL does (a presigned URL's signature, an
// OAuth code, userinfo): the error of Do must show it redacted as url.full
// is, and still be a *url.Error.
func TestDoRedactsUnparsableLocation(t *testing.T) {
	const canary = "CANARY-loc-5d1"
	for _, loc := range []string{
		"https://api.example.test:bad/?token=" + canary,
		"https://u:" + canary + "@api.example.test:bad/",
		"/a\x7f?token=" + canary,
		"https://api.example.test/%zz?sig=" + canary,
		// url.Parse quotes the Location without its fragment in its
		// error: a second form of the value.
		"https://api.example.test:bad/?token=" + canary + "#f",
		"/a\x7f?token=" + canary + "#f",
	} {
		rt := transporttest.NewResponder(transporttest.Respond(http.StatusFound, "", "Location", loc))
		c, err := client.New(client.WithBaseTransport(rt), client.WithOrigins("https://api.example.test"))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		resp, err := c.Do(req)
		if resp != nil || err == nil {
			t.Fatalf("%q: resp %v err %v, want an error", loc, resp, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("%q: the Location value reaches the error: %v", loc, err)
		}
		if !strings.Contains(err.Error(), "Location") {
			t.Errorf("%q: the error no longer says what failed: %v", loc, err)
		}
		if ue, ok := errors.AsType[*url.Error](err); !ok || ue.URL != "https://api.example.test/v1" {
			t.Errorf("%q: want the request's *url.Error, got %#v", loc, err)
		}
		c.Close()
	}
}
