package redact

import (
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
)

// net/http quotes what a server sent when it cannot parse a response: the
// status line, a field line, a Transfer-Encoding or Content-Length value,
// a trailer key, a GOAWAY's debug data. A server that echoes the request
// (a misrouted port) sends back the request line with its query secrets
// and the credential headers; one with a broken Set-Cookie line sends its
// session cookie. Error must not let them through: the quoted text is
// replaced, in the wrappers above too, and the result does not unwrap to
// the original message.
func TestErrorServerResponseQuoted(t *testing.T) {
	leaves := []error{
		fmt.Errorf("malformed HTTP status code %q", "/v1?api_key="+secret),
		fmt.Errorf("malformed HTTP response %q", "Authorization: Bearer "+secret),
		fmt.Errorf("malformed HTTP version %q", secret),
		textproto.ProtocolError(fmt.Sprintf("malformed MIME header: missing colon: %q", "Set-Cookie session="+secret)),
		textproto.ProtocolError(fmt.Sprintf("malformed MIME header line: %q", "X-Api-Key "+secret)),
		textproto.ProtocolError(fmt.Sprintf("malformed MIME header initial line: %q", " "+secret)),
		fmt.Errorf("unsupported transfer encoding: %q", secret),
		fmt.Errorf("too many transfer encodings: %q", []string{"chunked", secret}),
		fmt.Errorf("bad Content-Length %q", secret),
		fmt.Errorf("invalid empty Content-Length %q", " "+secret),
		fmt.Errorf("http: message cannot contain multiple Content-Length headers; got %q", []string{"1", secret}),
		fmt.Errorf("bad trailer key %q", secret),
		fmt.Errorf("http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug=%q", secret),
		// The request target net/http's HTTP/2 transport refuses as a
		// :path (TestHTTP2InvalidPathErrorRedacted in client).
		fmt.Errorf("invalid request :path %q from URL.Opaque = %q", "https://api.example.com?token="+secret, "//api.example.com?token="+secret),
		fmt.Errorf("invalid request :path %q", "x?token="+secret),
	}
	for _, leaf := range leaves {
		// As net/http returns it: below the transport's wrapper and the
		// client's *url.Error; and as the telemetry layers see it, with
		// no *url.Error above.
		wrapped := fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", leaf)
		for _, err := range []error{
			&url.Error{Op: "Get", URL: "https://api.example.com/v1?api_key=" + secret, Err: wrapped},
			fmt.Errorf("transport: retry: 1 attempt: %w", wrapped),
		} {
			got := (&Policy{}).Error(err)
			assertClean(t, got)
			for e := range errTree(got) {
				if strings.Contains(e.Error(), secret) {
					t.Errorf("%T in the tree of %q still holds the secret: %q", e, got, e)
				}
			}
			if !strings.Contains(got.Error(), `"`+Redacted+`"`) {
				t.Errorf("got %q, want the quoted text replaced with %q", got, Redacted)
			}
		}
	}
	// Quotes of the caller's own (an invalid method, a header name) and
	// messages that quote nothing are left alone.
	for _, err := range []error{
		fmt.Errorf("net/http: invalid method %q", "GET "+secret),
		errors.New("malformed chunked encoding"),
	} {
		if got := (&Policy{}).Error(err); got != err {
			t.Errorf("%q rewritten to %q", err, got)
		}
	}
}

// errTree yields err and every error below it.
func errTree(err error) func(func(error) bool) {
	return func(yield func(error) bool) {
		var walk func(error) bool
		walk = func(e error) bool {
			if e == nil {
				return true
			}
			if !yield(e) {
				return false
			}
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, x := range u.Unwrap() {
					if !walk(x) {
						return false
					}
				}
			case interface{ Unwrap() error }:
				return walk(u.Unwrap())
			}
			return true
		}
		walk(err)
	}
}
