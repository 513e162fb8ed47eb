package signer

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestSignRefusesHostWithZone: net/http's HTTP/1 client strips an IPv6 zone
// from the Host it sends (RFC 6874 §4), but HTTP/2 sends it in :authority,
// so a signature covering @authority (or @target-uri, host) of
// "[fe80::1%eth0]" verified on one protocol and failed on the other. Sign
// refuses a Host with a zone when a covered component derives from it, and
// signs when none does or when Request.Host (which is sent) has no zone.
func TestSignRefusesHostWithZone(t *testing.T) {
	newReq := func() *http.Request {
		req, err := http.NewRequest("GET", "http://[fe80::1%25eth0]:8080/v1", nil)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	var wire bytes.Buffer
	if err := newReq().Write(&wire); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(wire.Bytes(), []byte("\r\nHost: [fe80::1]:8080\r\n")) {
		t.Fatalf("net/http no longer strips the zone over HTTP/1.1:\n%s", wire.Bytes())
	}
	for _, c := range []Component{Authority, TargetURI, Field("host"), Authority.IfPresent()} {
		for _, host := range []string{"", "[fe80::1%25eth0]:8080", "[fe80::1%eth0]"} {
			s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, c}})
			req := newReq()
			req.Host = host
			if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrInvalidHost) {
				t.Errorf("%s, Host %q: Sign = %v; want ErrInvalidHost", c.id, host, err)
			}
			if len(req.Header["Signature"]) != 0 {
				t.Errorf("%s, Host %q: Signature set", c.id, host)
			}
		}
	}
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, Path}})
	if err := s.Sign(context.Background(), newReq(), t0); err != nil {
		t.Errorf("Sign not covering the Host = %v", err)
	}
	s = mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, Authority}})
	req := newReq()
	req.Host = "[fe80::1]:8080"
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Errorf("Sign with a Host without zone = %v", err)
	}
}
