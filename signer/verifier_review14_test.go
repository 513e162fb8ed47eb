package signer

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// review14H2Status sends one HTTP/2 GET with the given header fields (pseudo
// fields first) to srv over a raw connection, so that a request can carry
// what net/http's client never sends (a host field beside :authority), and
// returns the response's :status.
func review14H2Status(t *testing.T, srv *httptest.Server, fields [][2]string) string {
	t.Helper()
	c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range fields {
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := fr.WriteSettingsAck(); err != nil {
					t.Fatal(err)
				}
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset: %v", f.ErrCode)
		case *http2.HeadersFrame:
			hfs, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range hfs {
				if hf.Name == ":status" {
					return hf.Value
				}
			}
			t.Fatal("response without :status")
		}
	}
}

// TestVerifyHostFieldIsServedHostOverHTTP2: a received HTTP/2 request may
// carry a host field beside :authority; net/http serves the request for
// :authority (Request.Host) and keeps the host field in Header. The
// verifier took a covered "host" from that Header field, so a signature
// made for a.example (covering host, not @authority) verified on a request
// served as evil.example: the signed host was not the one the handler acted
// on. Over HTTP/1.1 net/http drops the Host field of an absolute-form
// request for the target's host, and "host" was Request.Host there.
func TestVerifyHostFieldIsServedHostOverHTTP2(t *testing.T) {
	k := testKey(t, "k")
	comps := []Component{Method, Path, Query, Field("host")}
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: comps})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: comps, Clock: func() time.Time { return t0 }})
	var served []string
	srv := httptest.NewUnstartedServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served = append(served, r.Host)
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	send := func(authority string, host ...string) string {
		req := signed(t, s, "GET", "https://a.example/x", "", t0)
		fields := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", authority}, {":path", "/x"}}
		for _, h := range host {
			fields = append(fields, [2]string{"host", h})
		}
		fields = append(fields, [2]string{"signature-input", req.Header.Get("Signature-Input")}, [2]string{"signature", req.Header.Get("Signature")})
		return review14H2Status(t, srv, fields)
	}
	if got := send("evil.example", "a.example"); got != "401" {
		t.Errorf("signature for host a.example, sent with :authority evil.example and host a.example: %s, want 401 (the handler served %q)", got, served)
	}
	if len(served) != 0 {
		t.Fatalf("handler called for %q", served)
	}
	// The request as signed: :authority alone, or with an equal host field.
	if got := send("a.example"); got != "200" {
		t.Errorf(":authority a.example: %s, want 200", got)
	}
	if got := send("a.example", "a.example"); got != "200" {
		t.Errorf(":authority and host a.example: %s, want 200", got)
	}
}
