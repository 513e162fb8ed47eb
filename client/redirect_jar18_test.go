package client_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
)

// TestRedirectForeignHopGetsNoJarCookie: http.Client adds the cookies of
// its Jar to a hop after CheckRedirect ran, so the redirect policy could
// not strip them: through HTTPClient() with a Jar, the own origin's
// session cookie (host-only, Secure, HttpOnly) reached an allowed foreign
// origin on the same host and another port (cookies are not bound to a
// port, RFC 6265 §8.5), though a foreign hop gets no cookie. A hop the
// policy let through as foreign is sent without the Jar's cookies; a
// same-origin hop keeps them, and a caller's own CheckRedirect (not the
// client's policy) is left as it was.
func TestRedirectForeignHopGetsNoJarCookie(t *testing.T) {
	var mu sync.Mutex
	var foreignCookies []string
	foreignSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		foreignCookies = append(foreignCookies, r.Header.Get("Cookie"))
		mu.Unlock()
	}))
	fu, _ := url.Parse(foreignSrv.URL)
	foreign := "https://localhost:" + fu.Port()
	var ownCookies []string
	ownSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "CANARY", Secure: true, HttpOnly: true})
		case "/away":
			http.Redirect(w, r, foreign+"/landing", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/landing", http.StatusFound)
		default:
			mu.Lock()
			ownCookies = append(ownCookies, r.Header.Get("Cookie"))
			mu.Unlock()
		}
	}))
	ou, _ := url.Parse(ownSrv.URL)
	own := "https://localhost:" + ou.Port()
	c, err := client.New(opts(loopback(), client.WithOrigins(own), client.WithRedirectOrigins(foreign))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	get := func(hc *http.Client, path string) {
		t.Helper()
		resp, err := hc.Get(own + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	policyHC := c.HTTPClient()
	ownHC := &http.Client{Transport: c.Transport(), CheckRedirect: c.CheckRedirect()}
	timeoutHC := c.HTTPClient()
	timeoutHC.Timeout = time.Minute                    // http.Client sends a fork of each hop
	callerHC := &http.Client{Transport: c.Transport()} // net/http's own CheckRedirect
	for i, hc := range []*http.Client{policyHC, ownHC, timeoutHC, callerHC} {
		hc.Jar, _ = cookiejar.New(nil)
		get(hc, "/login")
		get(hc, "/away")
		get(hc, "/here")
		mu.Lock()
		f, o := foreignCookies[len(foreignCookies)-1], ownCookies[len(ownCookies)-1]
		mu.Unlock()
		if o != "session=CANARY" {
			t.Errorf("client %d: same-origin hop got Cookie %q, want the Jar's session cookie", i, o)
		}
		want := ""
		if hc == callerHC {
			want = "session=CANARY" // no redirect policy: the Jar's rules alone
		}
		if f != want {
			t.Errorf("client %d: foreign hop got Cookie %q, want %q", i, f, want)
		}
	}
}
