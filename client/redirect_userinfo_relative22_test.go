package client_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestRedirectRelativeKeepsCallersUserinfo: a call to a URL with the
// caller's own userinfo (https://u:pw@host/a, sent as Authorization:
// Basic) that is redirected by a relative Location ("/b") is followed to
// the same origin, as net/http follows it: url.ResolveReference keeps the
// first URL's userinfo in the hop's URL, so the policy refused the hop
// with "location carries userinfo", a Location that carried none. A
// Location that names its own userinfo is still refused
// (TestRedirectWithUserinfoIsRefused).
func TestRedirectRelativeKeepsCallersUserinfo(t *testing.T) {
	own := newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			w.Header().Set("Location", "/b?page=2")
			w.WriteHeader(http.StatusFound)
		case "/b":
			io.WriteString(w, "landed")
		}
	})
	c, err := client.New(opts(loopback(), client.WithOrigins(own.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, viaHTTPClient := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodGet, strings.Replace(own.URL, "https://", "https://u:pw@", 1)+"/a", nil)
		var resp *http.Response
		if viaHTTPClient {
			resp, err = c.HTTPClient().Do(req)
		} else {
			resp, err = c.Do(req)
		}
		if err != nil {
			t.Fatalf("HTTPClient=%v: relative redirect refused: %v", viaHTTPClient, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "landed" {
			t.Fatalf("HTTPClient=%v: body %q, want the hop's", viaHTTPClient, b)
		}
	}
	reqs := own.requests()
	if len(reqs) != 4 {
		t.Fatalf("server got %d requests, want 4", len(reqs))
	}
	for i, r := range reqs {
		if got := r.header.Get("Authorization"); got != "Basic dTpwdw==" {
			t.Errorf("request %d: Authorization %q, want the caller's Basic u:pw", i, got)
		}
	}
}

// TestRedirectRelativeUserinfoForeignRefused: the caller's userinfo kept
// by a relative Location is the caller's credential, which a foreign hop
// (an origin of WithRedirectOrigins called directly) never gets: the hop
// is refused rather than sent with Authorization: Basic, which http.Client
// adds after the policy ran.
func TestRedirectRelativeUserinfoForeignRefused(t *testing.T) {
	foreign := newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			w.Header().Set("Location", "/b")
			w.WriteHeader(http.StatusFound)
		}
	})
	foreignOrigin := localhostURL(foreign.URL)
	own := newRecordingServer(t, true, nil)
	c, err := client.New(opts(loopback(), client.WithOrigins(own.URL), client.WithRedirectOrigins(foreignOrigin))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(foreignOrigin, "https://", "https://u:pw@", 1)+"/a", nil)
	resp, err := c.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	var re *transport.RedirectError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "userinfo") {
		t.Fatalf("err = %v, want a *transport.RedirectError naming the userinfo", err)
	}
	if n := len(foreign.requests()); n != 1 {
		t.Errorf("foreign origin got %d requests, want 1 (the hop refused)", n)
	}
}
