package client_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// chainBase answers /start with a 302 to the "to" query's URL (or /page)
// and anything else with JSON.
type chainBase struct{}

func (chainBase) RoundTrip(req *http.Request) (*http.Response, error) {
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Request: req, ProtoMajor: 1, ProtoMinor: 1}
	body := "{}"
	if req.URL.Path == "/start" {
		to := req.URL.Query().Get("to")
		if to == "" {
			to = "/page"
		}
		resp.StatusCode, body = http.StatusFound, ""
		resp.Header.Set("Location", to)
	} else {
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Status = http.StatusText(resp.StatusCode)
	resp.ContentLength = int64(len(body))
	resp.Body = io.NopCloser(strings.NewReader(body))
	return resp, nil
}

// TestIDNHostRedirectChainShowsCallersRequests: a redirected call's
// resp.Request.Response is the redirect response http.Client got (the one
// CheckRedirect saw), whose Request shows the caller's URL,
// as for an ASCII host. Since 99a3f7a a hop of a call to a non-ASCII host
// showed a copy of that response whose Request was the stack's, in the
// IDNA lookup form ("xn--bcher-kva.example.test"), whether the hop went to
// the same host or to an ASCII one, behind a WithCallLayer layer that
// copies the response or not.
func TestIDNHostRedirectChainShowsCallersRequests(t *testing.T) {
	for name, tc := range map[string]struct{ start, next string }{
		"ascii":          {"https://buecher.example.test/start", "buecher.example.test"},
		"idn same host":  {"https://bücher.example.test/start", "bücher.example.test"},
		"idn upper case": {"https://BÜCHER.example.test/start", "BÜCHER.example.test"},
		"idn to ascii":   {"https://bücher.example.test/start?to=https://buecher.example.test/page", "buecher.example.test"},
		"ascii to idn":   {"https://buecher.example.test/start?to=https://b%C3%BCcher.example.test/page", "bücher.example.test"},
	} {
		for _, copying := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/copying layer %v", name, copying), func(t *testing.T) {
				opts := []client.Option{
					client.WithOrigins("https://buecher.example.test", "https://bücher.example.test"),
					client.WithBaseTransport(chainBase{}),
				}
				if copying {
					// A WithCallLayer layer handing on a copy of the response.
					opts = append(opts, client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
						return copyingLayer{next}, nil
					}))
				}
				c, err := client.New(opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				hc := c.HTTPClient()
				var seen *http.Response
				hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
					seen = req.Response
					return nil
				}
				req, _ := http.NewRequest(http.MethodGet, tc.start, nil)
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || seen == nil {
					t.Fatalf("status %d, redirect seen %v", resp.StatusCode, seen != nil)
				}
				if h := resp.Request.URL.Host; h != tc.next {
					t.Errorf("resp.Request.URL.Host = %q, want %q", h, tc.next)
				}
				prev := resp.Request.Response
				if prev != seen {
					t.Errorf("resp.Request.Response is not the redirect response http.Client got")
				}
				if prev == nil || prev.Request == nil {
					t.Fatal("resp.Request.Response.Request is nil")
				}
				if got, want := prev.Request.URL.String(), req.URL.String(); got != want {
					t.Errorf("resp.Request.Response.Request.URL = %q, want the caller's %q", got, want)
				}
			})
		}
	}
}
