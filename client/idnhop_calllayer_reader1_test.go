package client_test

import (
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// redirectingBase answers /start with a 302 to /poll, /poll with a 307 to
// /page whose body is HTML, and /page with JSON.
type redirectingBase struct{}

func (redirectingBase) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Request: req}
	body := "{}"
	switch req.URL.Path {
	case "/start":
		resp.StatusCode, body = http.StatusFound, ""
		resp.Header.Set("Location", "/poll")
	case "/poll":
		resp.StatusCode, body = http.StatusTemporaryRedirect, "<html>moved</html>"
		resp.Header.Set("Location", "/page")
		resp.Header.Set("Content-Type", "text/html")
	default:
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Status = http.StatusText(resp.StatusCode)
	resp.ContentLength = int64(len(body))
	resp.Body = io.NopCloser(strings.NewReader(body))
	return resp, nil
}

// TestIDNHostHopBehindCallLayerCopyingResponse: a redirect hop is told by
// the redirect response the limits layer returned, or by its Request when
// a WithCallLayer layer above it hands on a copy of that response (a
// cache, a rewrite); the hop of a call to a non-ASCII host must be told so
// too. The client's entry replaced the copy's Request with one showing the
// caller's URL, so the limits layer took the hop for a new call: a POST
// without GetBody redirected by a 302 to a 307, which http.Client does not
// follow, handed the caller the 307's HTML body unchecked, where
// WithResponseMediaTypes refuses it for an ASCII host.
func TestIDNHostHopBehindCallLayerCopyingResponse(t *testing.T) {
	for _, host := range []string{"buecher.example.test", "bücher.example.test", "BÜCHER.example.test"} {
		t.Run(host, func(t *testing.T) {
			c, err := client.New(
				client.WithOrigins("https://buecher.example.test", "https://bücher.example.test"),
				client.WithBaseTransport(redirectingBase{}),
				client.WithResponseMediaTypes("application/json"),
				client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
					return copyingLayer{next}, nil
				}),
			)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req, _ := http.NewRequest(http.MethodPost, "https://"+host+"/start", io.NopCloser(strings.NewReader("x")))
			resp, err := c.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Fatalf("status %d, Content-Type %q, body %q reached the caller unchecked; want ErrMediaTypeDenied",
					resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if !errors.Is(err, client.ErrMediaTypeDenied) {
				t.Fatalf("err = %v, want ErrMediaTypeDenied", err)
			}
		})
	}
}

// copyingLayer hands its caller a copy of the response it got, whose
// Request is the one it got.
type copyingLayer struct{ next http.RoundTripper }

func (c copyingLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	cp := *resp
	resp = nil
	runtime.GC() // the response the layer below returned is gone
	return &cp, nil
}
