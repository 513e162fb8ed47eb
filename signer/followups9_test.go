package signer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
)

// TestRequestTargetOfConnect: for a CONNECT request without a path, net/http
// sends the authority-form request-target ("CONNECT host:443 HTTP/1.1"),
// and RFC 9421 §2.2.5 makes @request-target that authority. The signer
// derived "/" from the empty path, so a conforming verifier (this one, which
// takes the received RequestURI) refused every such signature.
func TestRequestTargetOfConnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		want string
	}{
		{"host", func() *http.Request {
			return &http.Request{Method: "CONNECT", URL: &url.URL{Scheme: "https", Host: "api.example.com:443"}, Header: http.Header{}}
		}, "api.example.com:443"},
		{"Host field", func() *http.Request {
			return &http.Request{Method: "CONNECT", URL: &url.URL{Scheme: "https", Host: "proxy.example:8080"}, Host: "api.example.com:443", Header: http.Header{}}
		}, "api.example.com:443"},
		{"opaque", func() *http.Request {
			// What http.Transport builds for a proxy CONNECT.
			return &http.Request{Method: "CONNECT", URL: &url.URL{Opaque: "api.example.com:443"}, Host: "api.example.com:443", Header: http.Header{}}
		}, "api.example.com:443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			got, err := lines(t, req, "https", nil, RequestTarget)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"@request-target": ` + tc.want + "\n"; got != want {
				t.Errorf("base = %q; want %q", got, want)
			}
			s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, RequestTarget}})
			if err := s.Sign(context.Background(), req, t0); err != nil {
				t.Fatal(err)
			}
			var wire bytes.Buffer
			if err := req.Write(&wire); err != nil {
				t.Fatal(err)
			}
			in, err := http.ReadRequest(bufio.NewReader(&wire))
			if err != nil {
				t.Fatal(err)
			}
			if in.RequestURI != tc.want {
				t.Fatalf("sent request-target %q; want %q", in.RequestURI, tc.want)
			}
			v := newTestVerifier(t, VerifierOptions{Required: []Component{RequestTarget}})
			if _, err := v.Verify(in, t0); err != nil {
				t.Errorf("Verify = %v", err)
			}
		})
	}
}

// TestSignRefusesInvalidHost: net/http sends an empty Host field in place of
// a Host that is not a valid field value (a unix socket path put in
// Request.Host, go.dev/issue/61431) and HTTP/2 refuses the request, but
// Sign signed the original Host under @authority, so the request went out
// with a signature no verifier could check. Sign refuses such a Host when a
// covered component derives from it, and signs when none does.
func TestSignRefusesInvalidHost(t *testing.T) {
	newReq := func() *http.Request {
		req, err := http.NewRequest("GET", "http://unix/v1/info", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "/var/run/app.sock"
		return req
	}
	var wire bytes.Buffer
	if err := newReq().Write(&wire); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(wire.Bytes(), []byte("\r\nHost: \r\n")) {
		t.Fatalf("net/http no longer empties an invalid Host:\n%s", wire.Bytes())
	}
	for _, c := range []Component{Authority, TargetURI, Field("host"), Authority.IfPresent()} {
		s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, c}})
		req := newReq()
		if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrInvalidHost) {
			t.Errorf("%s: Sign = %v; want ErrInvalidHost", c.id, err)
		}
		if len(req.Header["Signature"]) != 0 {
			t.Errorf("%s: Signature set", c.id)
		}
	}
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, Path}})
	if err := s.Sign(context.Background(), newReq(), t0); err != nil {
		t.Errorf("Sign not covering the Host = %v", err)
	}
}

// TestFieldLineSplitNeedsBS backs docs/signing.md: a covered field is its
// lines joined with ", " (RFC 9421 §2.1), so one signed line "a, b" also
// verifies when it arrives as two lines "a" and "b" (and the other way
// round), while Header.Get sees only "a"; FieldBS covers each line as it
// is, so the split no longer verifies.
func TestFieldLineSplitNeedsBS(t *testing.T) {
	for _, tc := range []struct {
		c     Component
		valid bool
	}{{Field("x-limit"), true}, {FieldBS("x-limit"), false}} {
		s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, tc.c}})
		req, err := http.NewRequest("GET", "https://api.example.com/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Limit", "10, 1000")
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
		in := serverView(t, req)
		in.Header["X-Limit"] = []string{"10", "1000"}
		v := newTestVerifier(t, VerifierOptions{Required: []Component{tc.c}})
		_, err = v.Verify(in, t0)
		if tc.valid && err != nil {
			t.Errorf("%s: Verify of the split line = %v; want it to verify (RFC 9421 §2.1)", tc.c.id, err)
		}
		if !tc.valid && !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: Verify of the split line = %v; want ErrInvalidSignature", tc.c.id, err)
		}
	}
}
