package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestRedirectWithUserinfoIsRefused: a Location carrying userinfo would make
// http.Client send "Authorization: Basic" with the server-chosen user and
// password on the next hop (it adds it after CheckRedirect ran): the hop is
// refused with a *transport.RedirectError, to the client's own origin and
// to an allowed foreign one, and nobody receives the Basic credential.
func TestRedirectWithUserinfoIsRefused(t *testing.T) {
	foreign := newRecordingServer(t, true, nil)
	foreignOrigin := localhostURL(foreign.URL)
	var own *recordingServer
	own = newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/own":
			w.Header().Set("Location", strings.Replace(own.URL, "https://", "https://u:CANARY@", 1)+"/x")
			w.WriteHeader(http.StatusFound)
		case "/foreign":
			w.Header().Set("Location", strings.Replace(foreignOrigin, "https://", "https://u:CANARY@", 1)+"/x")
			w.WriteHeader(http.StatusFound)
		}
	})
	c, err := client.New(opts(loopback(),
		client.WithOrigins(own.URL),
		client.WithRedirectOrigins(foreignOrigin),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, path := range []string{"/own", "/foreign"} {
		req, _ := http.NewRequest(http.MethodGet, own.URL+path, nil)
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, client.ErrRedirectDenied) {
			t.Fatalf("%s: err = %v, want ErrRedirectDenied", path, err)
		}
		var re *transport.RedirectError
		if !errors.As(err, &re) || !strings.Contains(re.Reason, "userinfo") {
			t.Fatalf("%s: want a *transport.RedirectError naming the userinfo, got %v", path, err)
		}
		if strings.Contains(err.Error(), "CANARY") {
			t.Errorf("%s: error quotes the password: %v", path, err)
		}
	}
	if n := len(own.requests()); n != 2 {
		t.Errorf("own origin got %d requests, want 2 (no hop)", n)
	}
	for _, r := range own.requests() {
		if v := r.header.Get("Authorization"); v != "" {
			t.Errorf("own origin received Authorization %q", v)
		}
	}
	if n := len(foreign.requests()); n != 0 {
		t.Errorf("foreign origin got %d requests, want 0", n)
	}
}
