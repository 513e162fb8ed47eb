package transport

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/securecall/securecall/internal/reqbody"
	"github.com/securecall/securecall/internal/stackhook"
)

func init() {
	stackhook.RedirectForeign = func(policy any, req *http.Request, via []*http.Request) bool {
		p, ok := policy.(*RedirectPolicy)
		return ok && len(via) > 0 && !p.isOwn(req.URL, via[0].URL)
	}
}

// DefaultMaxRedirects is the number of redirect hops a RedirectPolicy follows
// when MaxRedirects is zero: the 11th redirect is refused. (net/http's own
// default CheckRedirect follows one hop fewer: it refuses the 10th.)
const DefaultMaxRedirects = 10

// RedirectPolicy decides, for every redirect hop http.Client wants to follow,
// whether the hop may go ahead. Use its Check method as
// http.Client.CheckRedirect.
//
// A hop is followed when its origin is in Origins (the client's own API
// origins) or, as a "foreign" hop, in AllowedRedirects. A foreign hop gets no
// credential: Check removes Authorization, Proxy-Authorization, cookies,
// Signature/Signature-Input, the API-key and token headers the credential
// guard knows (X-Api-Key, Api-Key, X-Auth-Token, X-Amz-Security-Token,
// X-Goog-Api-Key, Ocp-Apim-Subscription-Key, X-Functions-Key,
// X-Vault-Token, Private-Token, DPoP), every header in SensitiveHeaders
// and the Referer (the
// previous URL, query included) from the hop's request, and refuses a hop
// that would replay a request body (307/308) to that origin. Credential
// layers further down the stack ask their own Scope on every hop, so they
// do not re-apply credentials to a foreign origin either. The cookies of
// an http.Client's Jar are added to the hop after Check ran, under the
// jar's rules alone (a host-only cookie of the client's origin goes to
// every port of its host, RFC 6265 §8.5): Check cannot remove them. The
// client of package client drops them from a hop its policy let through
// as foreign; a stack built by hand with a Jar should not allow foreign
// redirects, or drop them itself.
//
// A Host the caller set on the first request (a virtual host) goes to the
// hops on the same host only (http.Client keeps it for a Location that is
// not absolute, which "//other.example/x" is not): a hop to another host
// is sent with its URL's host.
//
// A hop to a scheme other than http and https (file, ftp, javascript...) is
// always refused, and so are a hop from https to http, a hop whose Location
// carries userinfo ("https://u:p@host/", which http.Client would send as
// "Authorization: Basic" with the server's choice of user and password; a
// relative Location, "/next", keeps the previous URL's userinfo, the
// caller's, and goes to the same origin: not refused for it when that is
// one of the client's origins) and
// any hop to an origin that is in neither list. When Origins is empty, the
// origin of the first request of the chain is the client's origin. Origins
// are compared as Origins.Allows compares them: a hop to the same
// destination in another spelling Go dials to the same place (an IPv6
// address out of its RFC 5952 form, an IPv4-mapped address and its IPv4
// address, a port with leading zeros) is the same origin.
type RedirectPolicy struct {
	// Origins are the client's API origins (the credential scope).
	Origins Origins
	// AllowedRedirects are other origins a redirect may lead to. Zero: none.
	AllowedRedirects Origins
	// SensitiveHeaders are extra header names (API-key headers, for example)
	// stripped from foreign hops along with the built-in credential headers.
	SensitiveHeaders []string
	// MaxRedirects caps the hops per call. Zero means DefaultMaxRedirects;
	// a negative value refuses every redirect.
	MaxRedirects int
}

// RedirectError reports a refused redirect hop. It wraps ErrRedirectDenied.
// From and To are origins (scheme://host:port), never full URLs, so no path
// or query (which may carry secrets) reaches the message.
type RedirectError struct {
	From, To Origin
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("transport: redirect denied from %s to %s: %s", e.From, e.To, e.Reason)
}

func (e *RedirectError) Unwrap() error { return ErrRedirectDenied }

// Check implements http.Client.CheckRedirect. A hop whose body
// http.Client took from a GetBody that returns the first request's own
// Body (which its send read: the hop would go out empty or cut short) is
// refused. It does not close the body
// of a hop it refuses: http.Client, which got it from GetBody, closes it
// when CheckRedirect returns an error (a caller of Check's own closes it).
func (p *RedirectPolicy) Check(req *http.Request, via []*http.Request) error {
	prev := via[len(via)-1]
	from, to := OriginOf(prev.URL), OriginOf(req.URL)
	deny := func(reason string) error {
		// The hop's body (from GetBody) is left to http.Client, which
		// closes it when CheckRedirect fails: closing it here too closed
		// it twice.
		return &RedirectError{From: from, To: to, Reason: reason}
	}
	max := p.MaxRedirects
	if max == 0 {
		max = DefaultMaxRedirects
	}
	if max < 0 {
		return deny("redirects are refused (MaxRedirects is negative)")
	}
	if len(via) > max {
		return deny(fmt.Sprintf("more than %d redirects", max))
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		// url.Parse lower-cases the scheme and keeps it to letters,
		// digits, "+", "-" and ".": safe to name.
		return deny(fmt.Sprintf("scheme %q is not http or https", req.URL.Scheme))
	}
	if prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return deny("https to http downgrade")
	}
	if req.Body != nil && req.Body != http.NoBody && reqbody.Same(via[0].Body, req.Body) {
		// http.Client took the hop's body from the first request's
		// GetBody, which returned that request's own Body: the first
		// send read it, and the hop would go out empty or cut short.
		return deny("the request body cannot be sent again: its GetBody returned the request's own Body (already sent), not a fresh copy")
	}
	own := p.isOwn(req.URL, via[0].URL)
	if req.URL.User != nil && (req.URL.User != prev.URL.User || !own) {
		// http.Client would turn the server-chosen user and password into
		// "Authorization: Basic" on the hop (it adds it after
		// CheckRedirect ran, so it cannot be stripped here). A Location
		// without an authority ("/next", "?page=2") keeps the previous
		// URL's userinfo, the caller's own (url.ResolveReference copies
		// the pointer), for the same origin: net/http sends it there
		// again, and so does a hop within the client's origins (a
		// foreign hop gets no credential).
		return deny("location carries userinfo")
	}
	if req.Host != "" && req.URL.Host != prev.URL.Host {
		// http.Client keeps a Host the caller set for a Location that is
		// not absolute (golang/go#22233, meant for a path on the same
		// server), and a network-path one ("//other.example/x") is not:
		// the caller's Host, a virtual host of its own origin, would go
		// to another server. The hop goes with its URL's host.
		req.Host = ""
	}
	if own {
		return nil
	}
	if !p.AllowedRedirects.Allows(req.URL) {
		return deny("origin not allowed")
	}
	// A foreign hop: followed, but with no credential and no body.
	if req.Body != nil && req.Body != http.NoBody {
		return deny("would replay the request body to another origin")
	}
	// The credential headers (the ones the credential guard never sends
	// over plain http) never go to an origin outside the credential scope,
	// whoever set them (the caller, http.Client's header copy, or a layer).
	// http.Client sets Referer to the previous hop's full URL, path and
	// query included (where a signed URL or a caller's key may sit).
	// Names are compared without case: http.Client copies the caller's
	// keys as they are, and net/http sends a non-canonical key ("x-my-key")
	// as written, so Header.Del (canonical keys only) would miss it.
	for name := range req.Header {
		if isCredentialHeader(name) || containsFold(p.SensitiveHeaders, name) || strings.EqualFold(name, "Referer") {
			delete(req.Header, name)
		}
	}
	return nil
}

// isOwn reports whether u belongs to the client's own origins. With no
// Origins, that is the first request's destination, compared as
// Origins.Allows compares one (in any spelling Go dials to the same place:
// "https://[0::1]:08443" is "https://[::1]:8443").
func (p *RedirectPolicy) isOwn(u, first *url.URL) bool {
	if len(p.Origins) == 0 {
		got, want := destOrigin(OriginOf(u)), destOrigin(OriginOf(first))
		return got.Scheme != "" && got.Host != "" && got == want
	}
	return p.Origins.Allows(u)
}

// closeBody closes req.Body, if any, for a layer that refuses a request and
// so does not hand the body on.
func closeBody(req *http.Request) {
	if req.Body != nil && req.Body != http.NoBody {
		takeBody(req.Context()) // closed: for a NewCallLayerBoundary above
		_ = req.Body.Close()
	}
}
