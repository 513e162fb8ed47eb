package transport_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

// protoServer is a TLS httptest server speaking HTTP/2 when h2 (else
// HTTP/1.1) whose handler verifies the request's signature with a real
// Verifier and then calls check with the accepted signature; the response
// is 200 when check returns "", else 409 with its message (401 when the
// signature does not verify).
func protoServer(t *testing.T, h2 bool, check func(r *http.Request, res *signer.Result) string) *httptest.Server {
	t.Helper()
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(signKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wantProto := "HTTP/1.1"
		if h2 {
			wantProto = "HTTP/2.0"
		}
		if r.Proto != wantProto {
			http.Error(w, "protocol "+r.Proto, http.StatusConflict)
			return
		}
		res, err := v.Verify(r, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if msg := check(r, res); msg != "" {
			http.Error(w, msg, http.StatusConflict)
			return
		}
		io.WriteString(w, "ok")
	}))
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// signedClient is a sign layer covering comps over srv's own client
// transport.
func signedClient(t *testing.T, srv *httptest.Server, comps ...signer.Component) http.RoundTripper {
	t.Helper()
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Components: comps})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := transport.NewSign(srv.Client().Transport, transport.SignConfig{Signer: s, Scope: mustOrigins(t, srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func protoName(h2 bool) string {
	if h2 {
		return "HTTP/2"
	}
	return "HTTP/1.1"
}

// A signature covering cookie verifies over HTTP/1.1 and HTTP/2 alike,
// whatever Cookie lines the caller set: Go's HTTP/2 transport splits them
// into crumbs at ';' and the server joins the crumbs with "; " (RFC 9113
// §8.2.3), where RFC 9421 §2.1 joins field lines with ", ". (They were
// signed as the caller set them: over HTTP/2 every such signature failed.)
// The caller's request keeps its Cookie lines.
func TestSignCookieVerifiesOverHTTP1AndHTTP2(t *testing.T) {
	cases := map[string][]string{
		"two lines":             {"a=1; b=2", "c=3"},
		"no space after ';'":    {"a=1;b=2"},
		"irregular separators":  {"a=1;  b=2;", " c=3 ;d=4"},
		"one regular line":      {"a=1; b=2"},
		"a line with one crumb": {"a=1"},
	}
	for _, h2 := range []bool{false, true} {
		srv := protoServer(t, h2, func(r *http.Request, res *signer.Result) string {
			if !slices.ContainsFunc(res.Components, func(c signer.Component) bool { return c.Name() == "cookie" }) {
				return "cookie not covered"
			}
			return ""
		})
		rt := signedClient(t, srv, append(signer.DefaultComponents(), signer.Field("cookie"))...)
		for name, lines := range cases {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/c", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header["Cookie"] = slices.Clone(lines)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("%s, %s: %v", protoName(h2), name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s, %s: %d %s", protoName(h2), name, resp.StatusCode, strings.TrimSpace(string(body)))
			}
			if got := req.Header["Cookie"]; !slices.Equal(got, lines) {
				t.Errorf("%s, %s: caller's Cookie lines became %q", protoName(h2), name, got)
			}
		}
	}
}

// A signature covering content-length (IfPresent) covers it exactly when
// the request arrives with one, over HTTP/1.1 and HTTP/2 alike, also for a
// request that forces chunked transfer. Go's HTTP/2 transport ignores
// Request.TransferEncoding and sends the known length (and "0" for a
// POST, PUT or PATCH without a body), while HTTP/1.1 sends none for a
// chunked body; the signer took the HTTP/1.1 view, so over HTTP/2 the
// request arrived with a Content-Length its signature did not cover (and a
// signature requiring content-length could not be made for a request that
// carries one over both protocols). The caller's request is left alone.
func TestSignContentLengthAgreesOverHTTP1AndHTTP2(t *testing.T) {
	// body: "nil" for a nil Body, "NoBody" for http.NoBody, else the
	// content (sent with a GetBody, so that it can be digested).
	type tc struct {
		name   string
		method string
		body   string
		cl     int64
		te     []string
	}
	chunked := []string{"chunked"}
	cases := []tc{
		{"POST known length", http.MethodPost, "hello", 5, nil},
		{"POST known length, chunked forced", http.MethodPost, "hello", 5, chunked},
		{"POST unknown length", http.MethodPost, "hello", -1, nil},
		{"POST unknown length, chunked forced", http.MethodPost, "hello", -1, chunked},
		{"POST nil body, chunked forced", http.MethodPost, "nil", 0, chunked},
		{"PUT NoBody, chunked forced", http.MethodPut, "NoBody", 0, chunked},
		{"DELETE nil body, chunked forced", http.MethodDelete, "nil", 0, chunked},
	}
	for _, h2 := range []bool{false, true} {
		srv := protoServer(t, h2, func(r *http.Request, res *signer.Result) string {
			covered := slices.ContainsFunc(res.Components, func(c signer.Component) bool { return c.Name() == "content-length" })
			if got := r.Header["Content-Length"]; (len(got) > 0) != covered {
				return fmt.Sprintf("Content-Length %q arrived, covered: %v", got, covered)
			}
			return ""
		})
		rt := signedClient(t, srv, append(signer.DefaultComponents(), signer.Field("content-length").IfPresent())...)
		for _, c := range cases {
			req, err := http.NewRequest(c.method, srv.URL+"/cl", nil)
			if err != nil {
				t.Fatal(err)
			}
			switch c.body {
			case "nil":
			case "NoBody":
				req.Body = http.NoBody
			default:
				req.Body = io.NopCloser(strings.NewReader(c.body))
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(c.body)), nil }
			}
			req.ContentLength, req.TransferEncoding = c.cl, slices.Clone(c.te)
			cl, te := req.ContentLength, slices.Clone(req.TransferEncoding)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("%s, %s: %v", protoName(h2), c.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s, %s: %d %s", protoName(h2), c.name, resp.StatusCode, strings.TrimSpace(string(body)))
			}
			if req.ContentLength != cl || !slices.Equal(req.TransferEncoding, te) {
				t.Errorf("%s, %s: caller's request changed: ContentLength %d, TransferEncoding %q", protoName(h2), c.name, req.ContentLength, req.TransferEncoding)
			}
		}
	}
}
