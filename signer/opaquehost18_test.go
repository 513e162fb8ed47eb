package signer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSignRefusesHostOtherThanOpaqueAuthority: a URL.Opaque in absolute
// form ("//b.example/x") is sent over HTTP/1.1 as the request-target
// "https://b.example/x", whose authority a server serves the request for,
// ignoring the Host field (RFC 9112 §3.2.2; Go's ReadRequest sets
// Request.Host from it), while Sign signed the host from Request.Host
// ("a.example"): the signature never verified. HTTP/2 refuses to send such
// a request. Sign refuses to cover host or @target-uri when the Host is not
// the authority of an absolute-form Opaque, or @authority when the two
// differ once normalised (case, default port), as ErrInvalidHost (found by
// FuzzSignVerifyWire), and signs as before when they agree or no
// host-derived component is covered.
func TestSignRefusesHostOtherThanOpaqueAuthority(t *testing.T) {
	newReq := func(opaque, host string) *http.Request {
		req, err := http.NewRequest("GET", "https://a.example/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque, req.Host = opaque, host
		return req
	}
	var wire bytes.Buffer
	if err := newReq("//b.example/x", "a.example").Write(&wire); err != nil {
		t.Fatal(err)
	}
	if got, err := http.ReadRequest(bufioReader(wire.Bytes())); err != nil || got.Host != "b.example" {
		t.Fatalf("a server reads Host %q (%v), want the target's b.example:\n%s", got.Host, err, wire.Bytes())
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake the refusal cut
	srv.StartTLS()
	defer srv.Close()
	req := newReq("//b.example/x", "a.example")
	req.URL.Host = srv.Listener.Addr().String()
	if resp, err := srv.Client().Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("HTTP/2 sent it: %s", resp.Proto)
	}

	k := testKey(t, "k")
	for _, c := range []Component{Authority, TargetURI, Field("host"), Authority.IfPresent()} {
		for _, tc := range []struct {
			opaque, host string
			authorityOK  bool // the same authority once normalised
		}{
			{"//b.example/x", "a.example", false},
			{"//b.example/x", "", false}, // the URL's host, a.example
			{"https://b.example/x?y", "a.example", false},
			{"//a.example:443/x", "a.example", true},
			{"//A.example/x", "a.example", true},
		} {
			s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, c}})
			req := newReq(tc.opaque, tc.host)
			err := s.Sign(context.Background(), req, t0)
			if tc.authorityOK && c.kind == kindAuthority {
				if err != nil {
					t.Errorf("%s, Opaque %q, Host %q: Sign = %v", c.id, tc.opaque, tc.host, err)
				} else if wire, ok := toWire(req); !ok {
					t.Errorf("Opaque %q: not sendable", tc.opaque)
				} else if _, err := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}, Required: []Component{}}).Verify(wire(), t0); err != nil {
					t.Errorf("%s, Opaque %q, Host %q: Verify = %v", c.id, tc.opaque, tc.host, err)
				}
				continue
			}
			if !errors.Is(err, ErrInvalidHost) {
				t.Errorf("%s, Opaque %q, Host %q: Sign = %v; want ErrInvalidHost", c.id, tc.opaque, tc.host, err)
			}
			if len(req.Header["Signature"]) != 0 {
				t.Errorf("%s, Opaque %q, Host %q: Signature set", c.id, tc.opaque, tc.host)
			}
		}
	}

	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}, Required: []Component{Method, Authority}})
	for _, tc := range []struct {
		opaque, host string
		comps        []Component
	}{
		{"//a.example/x", "", []Component{Method, Authority, TargetURI, Field("host")}},
		{"//a.example/x?q", "a.example", []Component{Method, Authority, Path, Query}},
		{"/x", "b.example", []Component{Method, Authority}},
	} {
		s := mustSigner(t, Options{Keys: StaticKey(k), Components: tc.comps})
		req := newReq(tc.opaque, tc.host)
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Errorf("Opaque %q, Host %q: Sign = %v", tc.opaque, tc.host, err)
			continue
		}
		wire, ok := toWire(req)
		if !ok {
			t.Fatalf("Opaque %q: not sendable", tc.opaque)
		}
		if _, err := v.Verify(wire(), t0); err != nil {
			t.Errorf("Opaque %q, Host %q: %v", tc.opaque, tc.host, err)
		}
	}
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, Path}})
	if err := s.Sign(context.Background(), newReq("//b.example/x", "a.example"), t0); err != nil {
		t.Errorf("no host-derived component: Sign = %v", err)
	}
}
